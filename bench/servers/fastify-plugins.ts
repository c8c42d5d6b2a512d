/**
 * The protections people assemble by hand on Fastify: @fastify/helmet, @fastify/cors (allowlisted
 * origin), @fastify/rate-limit (one generous limit, keyed by IP: the plugin's one-limit-per-route model),
 * @fastify/jwt (defaults, so no verified-token cache), a role check in a preHandler, and the same
 * querystring and response schemas as the other servers.
 *
 *   node --import tsx bench/servers/fastify-plugins.ts [--hs256 | --es256] [--cold N]
 *
 * Default EdDSA: an Ed25519 key pair generated at start-up, public-key verification. --hs256: a
 * 32-byte random shared secret. --es256: a P-256 key pair. Tokens (role "user" and role "guest") are
 * signed here and announced; --cold N also signs N distinct "user" tokens into a file (cold-token run).
 */
import { generateKeyPairSync, randomBytes } from "node:crypto";
import cors from "@fastify/cors";
import helmet from "@fastify/helmet";
import jwt from "@fastify/jwt";
import rateLimit from "@fastify/rate-limit";
import Fastify, { type FastifyReply, type FastifyRequest } from "fastify";
import { announce, coldTokenCount, exitWith, HOST, ITEMS_PATH, listItems, ORIGIN, QUERY_SCHEMA, RESPONSE_SCHEMA, writeTokensFile } from "./common.ts";

const hs256 = process.argv.includes("--hs256");
const es256 = process.argv.includes("--es256");
const algorithm = hs256 ? "HS256" : es256 ? "ES256" : "EdDSA";

interface BenchUser {
  sub: string;
  role: string;
}

declare module "@fastify/jwt" {
  interface FastifyJWT {
    payload: BenchUser;
    user: BenchUser;
  }
}

function secret() {
  if (hs256) return randomBytes(32);
  const { publicKey, privateKey } = es256 ? generateKeyPairSync("ec", { namedCurve: "P-256" }) : generateKeyPairSync("ed25519");
  return {
    private: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    public: publicKey.export({ type: "spki", format: "pem" }).toString(),
  };
}

const app = Fastify({ logger: false });
await app.register(helmet);
await app.register(cors, { origin: [ORIGIN] });
await app.register(rateLimit, { max: 100_000_000, timeWindow: 60_000 });
await app.register(jwt, {
  secret: secret(),
  sign: { algorithm, expiresIn: "3h" },
  verify: { algorithms: [algorithm] },
});

async function authenticate(request: FastifyRequest) {
  await request.jwtVerify();
}

async function requireRole(request: FastifyRequest, reply: FastifyReply) {
  if (request.user.role !== "user" && request.user.role !== "admin") {
    await reply.code(403).send({ statusCode: 403, error: "Forbidden", message: "role not allowed" });
  }
}

app.get(
  ITEMS_PATH,
  {
    onRequest: authenticate,
    preHandler: requireRole,
    schema: { querystring: QUERY_SCHEMA, response: { 200: RESPONSE_SCHEMA } },
  },
  async (request) => listItems((request.query as { limit: number }).limit),
);

await app.listen({ port: 0, host: HOST });
const address = app.server.address();
const cold = coldTokenCount();
announce({
  port: typeof address === "object" && address ? address.port : 0,
  ...(cold > 0 ? { tokensFile: writeTokensFile(Array.from({ length: cold }, (_, i) => app.jwt.sign({ sub: `u${i}`, role: "user" }))) } : {}),
  token: app.jwt.sign({ sub: "u1", role: "user" }),
  forbiddenToken: app.jwt.sign({ sub: "u2", role: "guest" }),
  note: `@fastify/jwt ${algorithm}`,
});
exitWith(() => app.close());
