/**
 * The admin API. Every change is audited and takes effect on the target's next request: the user-state
 * cache entry is dropped, and disabling a user also ends every session and token at once. The last
 * enabled admin can be neither demoted nor disabled, so the system always stays administrable.
 */
import { Type as T } from "@sinclair/typebox";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { covers, type Permission, parsePermission } from "../../core/authz/index.ts";
import { RampartError } from "../../core/errors.ts";
import { audit } from "../../identity/audit.ts";
import type { IdentityContext } from "../../identity/context.ts";
import { revokeAllSessions } from "../../identity/sessions.ts";
import type { User } from "../../store/index.ts";
import { clientResolutionRoutes } from "./client-resolution.ts";
import { Pagination } from "./schemas.ts";

const UserOut = T.Object({
  id: T.String(),
  email: T.String(),
  roles: T.Array(T.String()),
  disabled: T.Boolean(),
  created_at: T.String(),
  updated_at: T.String(),
});
const RoleMfa = T.Union([T.Literal("required"), T.Null()], { description: '`"required"`: holders get no access token without a second factor.' });
const RoleOut = T.Object({ name: T.String(), permissions: T.Array(T.String()), builtin: T.Boolean(), mfa: RoleMfa });
const RoleName = T.String({ pattern: "^[a-z][a-z0-9_-]{0,63}$" });

function callerPermissions(request: FastifyRequest): readonly Permission[] {
  const principal = request.rampart.principal;
  if (!principal) throw new RampartError("RAMPART_ERR_UNAUTHENTICATED");
  return principal.permissions.patterns;
}

/** Every permission in `granted` must be covered by one of the caller's grants. */
function assertHeld(caller: readonly Permission[], granted: readonly string[], what: string): void {
  for (const text of granted) {
    const permission = parsePermission(text);
    if (!caller.some((grant) => covers(grant, permission))) {
      throw new RampartError("RAMPART_ERR_FORBIDDEN", {
        detail: `You cannot change ${what}: it carries ${text}, which you do not hold yourself.`,
        reason: `escalation attempt via ${what} (${text})`,
      });
    }
  }
}

function userOut(user: User) {
  return {
    id: user.id,
    email: user.email,
    roles: user.roles,
    disabled: user.disabled,
    created_at: user.createdAt.toISOString(),
    updated_at: user.updatedAt.toISOString(),
  };
}

export function adminRoutes(identity: IdentityContext) {
  const { repos } = identity;
  const roleTable = async () => new Map((await repos.roles.list()).map((r) => [r.name, r.permissions]));

  return async function routes(app: FastifyInstance) {
    // Wherever the admin routes are mounted (server, gateway, library), with the same prefix.
    await app.register(clientResolutionRoutes(identity.config));

    app.get(
      "/admin/users",
      {
        config: { rampart: { permissions: ["users:admin"] } },
        schema: {
          tags: ["admin"],
          querystring: T.Object(
            {
              ...Pagination({ maxLimit: 500, defaultLimit: 50 }).properties,
              q: T.Optional(T.String({ minLength: 1, maxLength: 254, description: "Only users whose email contains this text (case-insensitive)." })),
            },
            { additionalProperties: false },
          ),
          response: { 200: T.Object({ items: T.Array(UserOut), limit: T.Integer(), offset: T.Integer() }) },
        },
      },
      async (request) => {
        const { limit, offset, q } = request.query as { limit: number; offset: number; q?: string };
        return { items: (await repos.users.list({ limit, offset, ...(q ? { emailContains: q } : {}) })).map(userOut), limit, offset };
      },
    );

    app.patch(
      "/admin/users/:id",
      {
        config: { rampart: { permissions: ["users:admin"] } },
        schema: {
          tags: ["admin"],
          params: T.Object({ id: T.String({ maxLength: 64 }) }, { additionalProperties: false }),
          body: T.Object(
            { roles: T.Optional(T.Array(RoleName, { maxItems: 50, uniqueItems: true })), disabled: T.Optional(T.Boolean()) },
            { additionalProperties: false, minProperties: 1 },
          ),
          response: { 200: UserOut },
        },
      },
      async (request) => {
        const { id } = request.params as { id: string };
        const change = request.body as { roles?: string[]; disabled?: boolean };
        const user = await repos.users.findById(id);
        if (!user) throw new RampartError("RAMPART_ERR_NOT_FOUND");
        const caller = callerPermissions(request);
        const table = await roleTable();
        // Acting on a user means holding what they hold; granting or revoking a role means holding it.
        // Otherwise users:admin alone would be a path to admin.
        const touched = new Set([...user.roles, ...(change.roles ?? [])]);
        for (const role of touched) assertHeld(caller, table.get(role) ?? [], `role ${role}`);
        // Check and write in one transaction (row locks on PostgreSQL): two concurrent demotions of
        // the last two admins cannot both pass the check.
        const outcome = await repos.users.updateAccess(id, change);
        if (outcome === "not-found") throw new RampartError("RAMPART_ERR_NOT_FOUND");
        if (outcome === "last-admin") {
          throw new RampartError("RAMPART_ERR_CONFLICT", { detail: "This is the last enabled admin; promote another admin first." });
        }
        identity.userChanged(id);
        await identity.flushBroadcast();
        if (change.disabled === true) {
          await revokeAllSessions(identity, id);
          await repos.apiTokens.revokeAllForUser(id);
          await repos.mfaChallenges.deleteForUser(id);
          // Again, now that the tokens are revoked in storage: a lookup racing the first drop could
          // have cached one of them, and re-enabling the user must not bring it back.
          identity.userChanged(id);
          await identity.flushBroadcast();
        }
        await audit(identity, request, { type: "admin.user.updated", subject: id, details: change });
        const updated = await repos.users.findById(id);
        if (!updated) throw new RampartError("RAMPART_ERR_NOT_FOUND");
        return userOut(updated);
      },
    );

    app.get(
      "/admin/roles",
      { config: { rampart: { permissions: ["roles:admin"] } }, schema: { tags: ["admin"], response: { 200: T.Array(RoleOut) } } },
      async () => (await repos.roles.list()).map((r) => ({ name: r.name, permissions: r.permissions, builtin: r.builtin, mfa: r.mfa })),
    );

    app.put(
      "/admin/roles/:name",
      {
        config: { rampart: { permissions: ["roles:admin"] } },
        schema: {
          tags: ["admin"],
          params: T.Object({ name: RoleName }, { additionalProperties: false }),
          body: T.Object(
            {
              permissions: T.Array(T.String({ minLength: 1, maxLength: 100 }), { maxItems: 200, uniqueItems: true }),
              // Left out: unchanged (a permissions-only update never drops the requirement); null clears it.
              mfa: T.Optional(RoleMfa),
            },
            { additionalProperties: false },
          ),
          response: { 200: RoleOut },
        },
      },
      async (request) => {
        const { name } = request.params as { name: string };
        const { permissions, mfa } = request.body as { permissions: string[]; mfa?: "required" | null };
        const caller = callerPermissions(request);
        permissions.forEach((permission, index) => {
          try {
            parsePermission(permission);
          } catch {
            throw new RampartError("RAMPART_ERR_VALIDATION", {
              detail: `/permissions/${index}: must be a permission like notes:read, notes:* or *`,
              extensions: { errors: [{ pointer: `/permissions/${index}`, detail: "must be a permission like notes:read, notes:* or *" }] },
            });
          }
        });
        assertHeld(caller, permissions, `role ${name}`);
        assertHeld(caller, (await roleTable()).get(name) ?? [], `role ${name}`);
        const role = await repos.roles.upsert(name, permissions, mfa);
        await identity.reloadRoles();
        await audit(identity, request, { type: "admin.role.updated", subject: name, details: { permissions, ...(mfa !== undefined ? { mfa } : {}) } });
        return { name: role.name, permissions: role.permissions, builtin: role.builtin, mfa: role.mfa };
      },
    );

    app.get(
      "/admin/audit",
      {
        config: { rampart: { permissions: ["audit:read"] } },
        schema: {
          tags: ["admin"],
          querystring: T.Object(
            {
              type: T.Optional(T.String({ minLength: 1, maxLength: 100 })),
              since: T.Optional(T.String({ format: "date-time", description: "Events at or after this instant." })),
              until: T.Optional(T.String({ format: "date-time", description: "Events before this instant." })),
              limit: T.Optional(T.Integer({ minimum: 1, maximum: 500, default: 100 })),
              offset: T.Optional(T.Integer({ minimum: 0, maximum: 1_000_000, default: 0, description: "Events to skip (newest first), for paging." })),
            },
            { additionalProperties: false },
          ),
          response: {
            200: T.Array(
              T.Object({
                id: T.String(),
                type: T.String(),
                at: T.String(),
                actor_id: T.Union([T.String(), T.Null()]),
                subject: T.Union([T.String(), T.Null()]),
                ip: T.Union([T.String(), T.Null()]),
                request_id: T.Union([T.String(), T.Null()]),
                details: T.Record(T.String(), T.Unknown()),
              }),
            ),
          },
        },
      },
      async (request) => {
        const { type, since, until, limit, offset } = request.query as { type?: string; since?: string; until?: string; limit: number; offset: number };
        const events = await repos.audit.query({
          ...(type ? { type } : {}),
          ...(since ? { since: new Date(since) } : {}),
          ...(until ? { until: new Date(until) } : {}),
          limit,
          offset,
        });
        return events.map((e) => ({
          id: e.id,
          type: e.type,
          at: e.at.toISOString(),
          actor_id: e.actorId,
          subject: e.subject,
          ip: e.ip,
          request_id: e.requestId,
          details: e.details,
        }));
      },
    );
  };
}
