/**
 * Rampart's fully guarded route, on the reference server's own composition (`openIdentityLayer`, as
 * `src/server/compose.ts`, with /metrics): transport, headers, CORS (allowlisted origin), per-IP limit, bearer
 * authentication (EdDSA JWT, verified-token cache, revocation and user state checked every request),
 * CSRF, two stacked per-principal limits, RBAC (`notes:read`), query validation and a response schema.
 * Limits are generous enough never to deny: the benchmark measures their cost, not their effect.
 *
 *   node --import tsx bench/servers/rampart.ts [--redis] [--apitoken] [--es256] [--cold N]
 *
 * --redis     rate limits (and revocations, lockouts) in Redis: REDIS_URL, default redis://127.0.0.1:6379
 * --apitoken  the caller presents an API token scoped `notes:read` instead of a JWT
 * --es256     ES256 access tokens instead of EdDSA
 * --cold N    also issue N distinct access tokens into a file the load generator sends in turn
 *
 * Start-up registers and logs in a bench user through `app.inject` (real argon2id, real token issue),
 * creates a role-less user (for the 403 check) and, with --apitoken, API tokens scoped `notes:read` and
 * `profile:read`. Data lives in a fresh temp RAMPART_DATA_DIR, removed on exit.
 */
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Type as T } from "@sinclair/typebox";
import fp from "fastify-plugin";
import type { FastifyInstance } from "fastify";
import { loadConfig } from "../../src/config/load.ts";
import { buildApp } from "../../src/http/app.ts";
import { createLogger } from "../../src/http/logger.ts";
import { authRoutes } from "../../src/http/routes/auth.ts";
import { metricsRoutes } from "../../src/http/routes/metrics.ts";
import { openIdentityLayer } from "../../src/server/layers.ts";
import { announce, BENCH_PASSWORD, coldTokenCount, exitWith, ITEMS_PATH, listItems, ORIGIN, writeTokensFile } from "./common.ts";

const useRedis = process.argv.includes("--redis");
const useApiToken = process.argv.includes("--apitoken");
const useEs256 = process.argv.includes("--es256");
const cold = coldTokenCount();

/** Never denies at benchmark rates, but every limit is still decided on every request. */
const GENEROUS = ["1000000/second burst 1000000", "100000000/hour"];

const dataDir = mkdtempSync(join(tmpdir(), "rampart-bench-"));
const config = loadConfig({
  env: {
    RAMPART_DATA_DIR: dataDir,
    ...(useRedis ? { REDIS_URL: process.env.REDIS_URL ?? "redis://127.0.0.1:6379" } : {}),
  },
  overrides: {
    // No per-request log lines: none of the peers log either.
    logging: { level: "silent", pretty: false },
    registration: "open",
    cors: { origins: [ORIGIN] },
    // Outlives the whole run (the default 10 minutes could expire mid-benchmark).
    tokens: { accessTtlSeconds: 3 * 3600, ...(useEs256 ? { algorithm: "ES256" } : {}) },
    rateLimit: { perIp: GENEROUS, perPrincipal: GENEROUS, login: GENEROUS, register: GENEROUS },
  },
});
const logger = createLogger(config);

const Item = T.Object({ id: T.Integer(), name: T.String(), price: T.Number(), inStock: T.Boolean(), tags: T.Array(T.String()) });

// The reference server's own composition (src/server/compose.ts): the identity layer with its stages,
// the one-round-trip Redis path, telemetry and GET /metrics, plus the benchmark's route.
const layer = await openIdentityLayer(config, logger);
const { identity, telemetry, close: closeLayer, identity: _identity, ...protection } = layer;
if (useRedis && identity.redis?.status !== "ready") {
  process.stderr.write("rampart --redis: Redis is not reachable; refusing to benchmark the fallback store\n");
  await closeLayer();
  process.exit(3);
}

const app = await buildApp({
  config,
  logger,
  openApi: false,
  ...protection,
  routes: async (scope) => {
    await scope.register(authRoutes(identity));
    await scope.register(fp(metricsRoutes({ telemetry })));
    scope.get(
      ITEMS_PATH,
      {
        config: { rampart: { permissions: ["notes:read"] } },
        schema: {
          querystring: T.Object({ limit: T.Integer({ minimum: 1, maximum: 100 }) }, { additionalProperties: false }),
          response: { 200: T.Object({ items: T.Array(Item) }) },
        },
      },
      async (request) => listItems((request.query as { limit: number }).limit),
    );
  },
});
await app.ready();

const email = "bench@example.com";
const user = await inject(app, "POST", "/auth/register", { email, password: BENCH_PASSWORD }, undefined, 201);
const accessToken = (await inject(app, "POST", "/auth/login", { email, password: BENCH_PASSWORD }, undefined, 200)).access_token as string;

// A user with no role at all: authenticates fine, holds no permission.
const nobody = "no-role@example.com";
await identity.repos.users.create({ email: nobody, passwordHash: await identity.hasher.hash(BENCH_PASSWORD), roles: [] });
const nobodyToken = (await inject(app, "POST", "/auth/login", { email: nobody, password: BENCH_PASSWORD }, undefined, 200))
  .access_token as string;

let token = accessToken;
let forbiddenToken = nobodyToken;
if (useApiToken) {
  const scoped = (scopes: string[]) =>
    inject(app, "POST", "/auth/tokens", { name: `bench ${scopes[0]}`, scopes }, accessToken, 201).then((r) => r.token as string);
  token = await scoped(["notes:read"]);
  forbiddenToken = await scoped(["profile:read"]);
}

// Cold-token run: distinct access tokens of the bench user, issued as login issues them (one session each).
const tokensFile =
  cold > 0
    ? writeTokensFile(
        await Promise.all(
          Array.from({ length: cold }, async () => (await identity.issuer.issue({ sub: String(user.id), roles: ["user"], sid: randomUUID() })).token),
        ),
      )
    : undefined;

await app.listen({ port: 0, host: "127.0.0.1" });
const address = app.server.address();
announce({
  port: typeof address === "object" && address ? address.port : 0,
  token,
  forbiddenToken,
  ...(tokensFile ? { tokensFile } : {}),
  cheapPath: "/auth/me",
  login: { email, password: BENCH_PASSWORD },
  note: [
    useRedis ? "Redis rate-limit store" : "in-process rate-limit store",
    useApiToken ? "API token scoped notes:read" : `${config.tokens.algorithm} JWT`,
    ...(cold > 0 ? [`${cold} distinct tokens, sent in turn`] : []),
    `user ${String(user.id)}`,
  ].join(", "),
});

exitWith(async () => {
  await app.close();
  await closeLayer();
  rmSync(dataDir, { recursive: true, force: true });
});

async function inject(
  instance: FastifyInstance,
  method: "GET" | "POST",
  url: string,
  payload: Record<string, unknown> | undefined,
  bearer: string | undefined,
  expected: number,
): Promise<Record<string, unknown>> {
  const response = await instance.inject({
    method,
    url,
    remoteAddress: "127.0.0.1",
    headers: bearer ? { authorization: `Bearer ${bearer}` } : {},
    ...(payload ? { payload } : {}),
  });
  if (response.statusCode !== expected) {
    throw new Error(`bench set-up: ${method} ${url} answered ${response.statusCode}, expected ${expected}: ${response.body}`);
  }
  return response.json() as Record<string, unknown>;
}
