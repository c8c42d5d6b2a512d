// A second service that trusts the access tokens of a Rampart server (the issuer) and has no users or
// database of its own: keys from the issuer's JWKS; with REDIS_URL, the issuer's revocations too.
import Fastify from "fastify";
import rampart, { rampartServerOptions } from "rampart";

const issuer = process.env.ISSUER_URL ?? "http://127.0.0.1:3000";
const app = Fastify({ ...rampartServerOptions() });
await app.register(rampart, {
  verify: {
    jwks: `${issuer}/.well-known/jwks.json`,
    issuer: process.env.TOKEN_ISSUER ?? "rampart",
    audience: process.env.TOKEN_AUDIENCE ?? "rampart-api",
  },
  roles: { reader: ["items:read"] },
  ...(process.env.REDIS_URL ? { redisUrl: process.env.REDIS_URL } : {}),
});

app.get("/api/whoami", async (request) => ({ user: request.rampart.principal.userId, roles: request.rampart.principal.roles }));
app.get("/api/reports", { config: { rampart: { permissions: ["items:read"] } } }, async () => ({ reports: [] }));

const address = await app.listen({ host: process.env.HOST ?? "127.0.0.1", port: Number(process.env.PORT ?? 3001) });
console.log(`listening on ${address}`);
for (const signal of ["SIGINT", "SIGTERM"]) process.once(signal, () => app.close().then(() => process.exit(0)));
