/**
 * Stage 8, authorize: the route's declared permissions must all be held by the principal (its roles'
 * grants narrowed by token scopes). A permission the owner holds but the token's scopes exclude is
 * `insufficient_scope` (RFC 6750 §3.1); one the owner lacks is a plain 403.
 */
import type { FastifyReply, FastifyRequest } from "fastify";
import { RampartError } from "../../core/errors.ts";
import { BEARER_CHALLENGE } from "./authenticate.ts";

export function createAuthorizeStage(onDenied?: (request: FastifyRequest, missing: string) => void) {
  return function authorize(request: FastifyRequest, _reply: FastifyReply): boolean {
    const required = request.routeOptions.config?.rampart?.permissions;
    const principal = request.rampart.principal;
    if (!required || required.length === 0 || !principal) return true;
    for (const permission of required) {
      if (principal.permissions.has(permission)) continue;
      onDenied?.(request, permission);
      if (principal.ownerPermissions.has(permission)) {
        throw new RampartError("RAMPART_ERR_INSUFFICIENT_SCOPE", {
          detail: `This token's scopes do not include ${permission}.`,
          reason: `missing scope ${permission}`,
          headers: { "www-authenticate": `${BEARER_CHALLENGE}, error="insufficient_scope", scope="${permission}"` },
        });
      }
      throw new RampartError("RAMPART_ERR_FORBIDDEN", { detail: "You do not have permission to do this.", reason: `missing ${permission}` });
    }
    return true;
  };
}
