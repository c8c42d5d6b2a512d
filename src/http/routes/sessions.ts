/**
 * The signed-in user's own sessions (one per login: a refresh-token family), to see where they are
 * signed in and end any of them. Ending one revokes its refresh tokens and, through `sid`, every access
 * token born from it, on every instance, before the answer.
 */
import { Type as T } from "@sinclair/typebox";
import type { FastifyInstance } from "fastify";
import { RampartError } from "../../core/errors.ts";
import { audit } from "../../identity/audit.ts";
import type { IdentityContext } from "../../identity/context.ts";
import { revokeSessions } from "../../identity/sessions.ts";
import { NoContent } from "./schemas.ts";
import { clearSessionCookies } from "./session-response.ts";
import { userPrincipal } from "./user-principal.ts";

const SessionOut = T.Object({
  id: T.String(),
  created_at: T.String(),
  last_active_at: T.String({ description: "The last refresh, or the login." }),
  expires_at: T.String({ description: "When the session ends unless refreshed." }),
  current: T.Boolean({ description: "Whether this request was made with this session." }),
});

/** API tokens cannot list or end sessions: only the user's own sign-ins (bearer or cookie) can. */
const SIGNED_IN = { rampart: { credentials: ["bearer", "cookie"] } } as const;

export function sessionsRoutes(identity: IdentityContext) {
  const { repos } = identity;

  return async function routes(app: FastifyInstance) {
    app.get(
      "/auth/sessions",
      { config: SIGNED_IN, schema: { tags: ["identity"], response: { 200: T.Array(SessionOut) } } },
      async (request) => {
        const principal = userPrincipal(request);
        return (await repos.refreshTokens.sessionsOf(principal.userId)).map((s) => ({
          id: s.familyId,
          created_at: s.startedAt.toISOString(),
          last_active_at: s.lastActiveAt.toISOString(),
          expires_at: s.expiresAt.toISOString(),
          current: s.familyId === principal.sessionId,
        }));
      },
    );

    app.delete(
      "/auth/sessions/:id",
      {
        config: SIGNED_IN,
        schema: { tags: ["identity"], params: T.Object({ id: T.String({ maxLength: 64 }) }, { additionalProperties: false }), response: { 204: NoContent } },
      },
      async (request, reply) => {
        const principal = userPrincipal(request);
        const { id } = request.params as { id: string };
        // Someone else's session is as unknown as a session that never existed.
        const own = await repos.refreshTokens.sessionsOf(principal.userId);
        if (!own.some((s) => s.familyId === id)) throw new RampartError("RAMPART_ERR_NOT_FOUND");
        await revokeSessions(identity, principal.userId, [id]);
        await audit(identity, request, { type: "session.revoked", subject: id });
        if (id === principal.sessionId) clearSessionCookies(reply);
        return reply.code(204).send();
      },
    );
  };
}
