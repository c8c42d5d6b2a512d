// A Fastify API protected by Rampart: its own routes, each declaring who may call it, plus Rampart's
// identity routes (register, login, tokens, admin) at /auth/… and /admin/….
import Fastify from "fastify";
import rampart, { rampartServerOptions } from "rampart";

// Slow-client timeouts and problem+json for paths Fastify's router refuses: constructor options a plugin cannot set.
const app = Fastify({ ...rampartServerOptions() });
await app.register(rampart, {
  dataDir: process.env.RAMPART_DATA_DIR ?? "./data",
  roles: {
    reader: ["items:read"],
    editor: ["items:read", "items:write"],
  },
});

const items = [];

// Public: anyone, with a tight per-IP limit of its own.
app.get("/status", { config: { rampart: { auth: "public", limits: ["3/minute"] } } }, async () => ({ ok: true }));

// Declares nothing: any authenticated caller, never anonymous.
app.get("/api/profile", async (request) => ({ user: request.rampart.principal.userId, roles: request.rampart.principal.roles }));

// Needs a permission that only the application's roles grant.
app.get("/api/items", { config: { rampart: { permissions: ["items:read"] } } }, async () => ({ items }));

app.post(
  "/api/items",
  {
    config: { rampart: { permissions: ["items:write"], limits: ["20/minute burst 5"] } },
    schema: {
      body: { type: "object", additionalProperties: false, required: ["name"], properties: { name: { type: "string", minLength: 1, maxLength: 100 } } },
    },
  },
  async (request, reply) => {
    const item = { id: items.length + 1, name: request.body.name, owner: request.rampart.principal.userId };
    items.push(item);
    return reply.code(201).send(item);
  },
);

const address = await app.listen({ host: process.env.HOST ?? "127.0.0.1", port: Number(process.env.PORT ?? 3000) });
console.log(`listening on ${address}`);
for (const signal of ["SIGINT", "SIGTERM"]) process.once(signal, () => app.close().then(() => process.exit(0)));
