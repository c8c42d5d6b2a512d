/**
 * Rampart's fully guarded route, built from Rampart's own pieces exactly as `src/server/compose.ts`
 * composes the reference server: transport, headers, CORS (allowlisted origin), per-IP limit, bearer
 * authentication (EdDSA JWT, verified-token cache, revocation and user state checked every request),
 * CSRF, two stacked per-principal limits, RBAC (`notes:read`), query validation and a response schema.
 * Limits are generous enough never to deny: the benchmark measures their cost, not their effect.
 *
 *   node --import tsx bench/servers/rampart.ts [--redis] [--apitoken]
 *
 * --redis     rate limits (and revocations, lockouts) in Redis: REDIS_URL, default redis://127.0.0.1:6379
 * --apitoken  the caller presents an API token scoped `notes:read` instead of a JWT
 *
 * Start-up registers and logs in a bench user through `app.inject` (real argon2id, real token issue),
 * creates a role-less user (for the 403 check) and, with --apitoken, API tokens scoped `notes:read` and
 * `profile:read`. Data lives in a fresh temp RAMPART_DATA_DIR, removed on exit.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Type as T } from "@sinclair/typebox";
import type { FastifyInstance } from "fastify";
import { loadConfig } from "../../src/config/load.ts";
import type { ResolvedConfig } from "../../src/config/resolve.ts";
import { MemoryRateLimitStore, type RateLimitStore, RedisRateLimitStore } from "../../src/core/ratelimit/index.ts";
import { buildApp } from "../../src/http/app.ts";
import { createLogger } from "../../src/http/logger.ts";
import { authRoutes } from "../../src/http/routes/auth.ts";
import { createAuthorizeStage } from "../../src/http/stages/authorize.ts";
import { createCsrfStage } from "../../src/http/stages/csrf.ts";
import { createRateLimitStages } from "../../src/http/stages/rate-limit.ts";
import { audit } from "../../src/identity/audit.ts";
import { createAuthenticator } from "../../src/identity/authenticator.ts";
import { type IdentityContext, openIdentity } from "../../src/identity/context.ts";
import { announce, BENCH_PASSWORD, exitWith, ITEMS_PATH, listItems, ORIGIN } from "./common.ts";

const useRedis = process.argv.includes("--redis");
const useApiToken = process.argv.includes("--apitoken");

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
    tokens: { accessTtlSeconds: 3 * 3600 },
    rateLimit: { perIp: GENEROUS, perPrincipal: GENEROUS, login: GENEROUS, register: GENEROUS },
  },
});
const logger = createLogger(config);

const Item = T.Object({ id: T.Integer(), name: T.String(), price: T.Number(), inStock: T.Boolean(), tags: T.Array(T.String()) });

const identity = await openIdentity(config, logger);
if (useRedis && identity.redis?.status !== "ready") {
  process.stderr.write("rampart --redis: Redis is not reachable; refusing to benchmark the fallback store\n");
  await identity.close();
  process.exit(3);
}
const limitStore = createLimitStore(config, identity);
const limits = createRateLimitStages(config, limitStore);

const app = await buildApp({
  config,
  logger,
  openApi: false,
  authenticator: createAuthenticator(identity),
  onRoute: limits.onRoute,
  stages: {
    "limit-client": limits.limitClient,
    "limit-principal": limits.limitPrincipal,
    csrf: createCsrfStage(identity.csrf, config.cors.origins),
    authorize: createAuthorizeStage((request, error) => {
      void audit(identity, request, {
        type: "authz.denied",
        details: { reason: error.reason ?? error.code, route: `${request.method} ${request.routeOptions.url}` },
      });
    }),
  },
  readiness: [{ name: "storage", check: () => identity.database.ping() }],
  routes: async (scope) => {
    await scope.register(authRoutes(identity));
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

await app.listen({ port: 0, host: "127.0.0.1" });
const address = app.server.address();
announce({
  port: typeof address === "object" && address ? address.port : 0,
  token,
  forbiddenToken,
  cheapPath: "/auth/me",
  login: { email, password: BENCH_PASSWORD },
  note: [
    useRedis ? "Redis rate-limit store" : "in-process rate-limit store",
    useApiToken ? "API token scoped notes:read" : `${config.tokens.algorithm} JWT`,
    `user ${String(user.id)}`,
  ].join(", "),
});

exitWith(async () => {
  await app.close();
  await limitStore.close();
  await identity.close();
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

function createLimitStore(resolved: ResolvedConfig, context: IdentityContext): RateLimitStore {
  if (!context.redis) return new MemoryRateLimitStore({ maxKeys: resolved.rateLimit.maxKeys });
  return new RedisRateLimitStore({
    client: context.redis,
    failure: resolved.rateLimit.failurePolicy,
    timeoutMs: resolved.rateLimit.redisTimeoutMs,
    fallback: { maxKeys: resolved.rateLimit.maxKeys },
    onUnavailable: (event) => process.stderr.write(`rate limiting: Redis unavailable (${String(event.error)})\n`),
  });
}
