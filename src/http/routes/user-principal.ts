/**
 * The signed-in user behind a request, for routes that act on a user's own account or data (profile,
 * password, API tokens, factors, passkeys, owned notes). A service client (OAuth client credentials) is
 * a principal but no user: it gets 403 here, never a half-working call with a client id in a user's place.
 */
import type { FastifyRequest } from "fastify";
import { RampartError } from "../../core/errors.ts";
import type { Principal } from "../request-state.ts";

export function userPrincipal(request: FastifyRequest): Principal {
  const principal = request.rampart.principal;
  if (!principal) throw new RampartError("RAMPART_ERR_UNAUTHENTICATED");
  if (principal.clientId !== undefined) {
    throw new RampartError("RAMPART_ERR_FORBIDDEN", { detail: "This endpoint is for users; service clients have no account here.", reason: "client principal on a user route" });
  }
  return principal;
}
