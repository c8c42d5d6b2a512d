/**
 * The physical limit of a guarded route: bare Fastify answering with exactly the headers Rampart's
 * guarded route sends (a fresh request id, the security headers, CORS for the allowed origin, the
 * rate-limit fields), set once per request from constants. No checks at all: what is left between this
 * and `rampart` is the cost of the protections themselves, not of their output.
 */
import { randomUUID } from "node:crypto";
import Fastify from "fastify";
import { announce, exitWith, HOST, ITEMS_PATH, listItems, ORIGIN } from "./common.ts";

const RAMPART_HEADERS = {
  "content-security-policy": "default-src 'none';frame-ancestors 'none';base-uri 'none';form-action 'none'",
  "cross-origin-resource-policy": "same-origin",
  "referrer-policy": "no-referrer",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "cache-control": "no-store",
  vary: "Origin",
  "access-control-allow-origin": ORIGIN,
  "access-control-expose-headers": "x-request-id, ratelimit, ratelimit-policy, retry-after, www-authenticate",
  "ratelimit-policy": '"ip";q=1000000;w=1, "ip-2";q=100000000;w=3600, "user";q=1000000;w=1, "user-2";q=100000000;w=3600',
  ratelimit: '"ip";r=999999;t=1',
};

const app = Fastify({ logger: false });
app.get(ITEMS_PATH, async (request, reply) => {
  reply.header("x-request-id", randomUUID());
  reply.headers(RAMPART_HEADERS);
  const limit = Number((request.query as { limit?: string }).limit ?? 10);
  return listItems(Number.isInteger(limit) && limit >= 1 && limit <= 100 ? limit : 10);
});

await app.listen({ port: 0, host: HOST });
const address = app.server.address();
announce({ port: typeof address === "object" && address ? address.port : 0 });
exitWith(() => app.close());
