/**
 * Service-client administration (CONTRACT.md "Service clients"): create (the secret is shown once),
 * list (never the secret), delete (its tokens die at once, everywhere). Like API tokens, a client's
 * scopes must be permissions its creator holds, so clients:admin alone is no path to more rights.
 * JSON and problem+json like the rest of the admin API; only /oauth/* speaks OAuth's error format.
 */
import { Type as T } from "@sinclair/typebox";
import type { FastifyInstance } from "fastify";
import { covers, parsePermission, type Permission } from "../../core/authz/index.ts";
import { RampartError } from "../../core/errors.ts";
import { audit } from "../../identity/audit.ts";
import type { IdentityContext } from "../../identity/context.ts";
import { createServiceClient, deleteServiceClient } from "../../identity/service-clients.ts";
import { NoContent } from "./schemas.ts";

const ClientOut = T.Object({ client_id: T.String(), name: T.String(), scopes: T.Array(T.String()), created_at: T.String() });

function parseScopes(scopes: readonly string[]): Permission[] {
  return scopes.map((scope, index) => {
    try {
      return parsePermission(scope);
    } catch {
      throw new RampartError("RAMPART_ERR_VALIDATION", {
        detail: `/scopes/${index}: must be a permission like notes:read, notes:* or *`,
        extensions: { errors: [{ pointer: `/scopes/${index}`, detail: "must be a permission like notes:read, notes:* or *" }] },
      });
    }
  });
}

export function clientsRoutes(identity: IdentityContext) {
  const { repos } = identity;
  return async function routes(app: FastifyInstance) {
    app.post(
      "/admin/clients",
      {
        config: { rampart: { permissions: ["clients:admin"] } },
        schema: {
          tags: ["admin"],
          body: T.Object(
            {
              name: T.String({ minLength: 1, maxLength: 100 }),
              scopes: T.Array(T.String({ minLength: 1, maxLength: 100 }), { minItems: 1, maxItems: 50, uniqueItems: true }),
            },
            { additionalProperties: false },
          ),
          response: { 201: T.Object({ client_id: T.String(), client_secret: T.String(), name: T.String(), scopes: T.Array(T.String()) }) },
        },
      },
      async (request, reply) => {
        const principal = request.rampart.principal;
        if (!principal) throw new RampartError("RAMPART_ERR_UNAUTHENTICATED");
        const { name, scopes } = request.body as { name: string; scopes: string[] };
        const caller = principal.permissions.patterns;
        for (const permission of parseScopes(scopes)) {
          if (!caller.some((grant) => covers(grant, permission))) {
            throw new RampartError("RAMPART_ERR_FORBIDDEN", {
              detail: `You cannot give a client ${permission.text}: you do not hold it yourself.`,
              reason: `escalation attempt via service client (${permission.text})`,
            });
          }
        }
        const { client, secret } = await createServiceClient(identity, { name, scopes, createdBy: principal.userId });
        await audit(identity, request, { type: "client.created", subject: client.id, details: { name: client.name, scopes: client.scopes } });
        reply.header("cache-control", "no-store");
        return reply.code(201).send({ client_id: client.id, client_secret: secret, name: client.name, scopes: client.scopes });
      },
    );

    app.get(
      "/admin/clients",
      { config: { rampart: { permissions: ["clients:admin"] } }, schema: { tags: ["admin"], response: { 200: T.Array(ClientOut) } } },
      async () =>
        (await repos.serviceClients.list()).map((c) => ({ client_id: c.id, name: c.name, scopes: c.scopes, created_at: c.createdAt.toISOString() })),
    );

    app.delete(
      "/admin/clients/:client_id",
      {
        config: { rampart: { permissions: ["clients:admin"] } },
        schema: {
          tags: ["admin"],
          params: T.Object({ client_id: T.String({ minLength: 1, maxLength: 64 }) }, { additionalProperties: false }),
          response: { 204: NoContent },
        },
      },
      async (request, reply) => {
        const { client_id: id } = request.params as { client_id: string };
        if (!(await deleteServiceClient(identity, id))) throw new RampartError("RAMPART_ERR_NOT_FOUND");
        await audit(identity, request, { type: "client.deleted", subject: id });
        return reply.code(204).send();
      },
    );
  };
}
