/**
 * Composes the reference server from its layers: configuration in, a ready Fastify app and a
 * `close()` that releases every store out. The CLI's `serve` and the end-to-end tests both use it.
 */
import type { FastifyInstance } from "fastify";
import type { Logger } from "pino";
import type { ResolvedConfig } from "../config/resolve.ts";
import { buildApp } from "../http/app.ts";
import { adminRoutes } from "../http/routes/admin.ts";
import { authRoutes } from "../http/routes/auth.ts";
import { notesRoutes } from "../http/routes/notes.ts";
import { metricsRoutes } from "../http/routes/metrics.ts";
import fp from "fastify-plugin";
import { createAuthorizeStage } from "../http/stages/authorize.ts";
import { createCsrfStage } from "../http/stages/csrf.ts";
import { audit } from "../identity/audit.ts";
import { createAuthenticator } from "../identity/authenticator.ts";
import { openIdentity } from "../identity/context.ts";
import { MemoryRateLimitStore, type RateLimitStore, RedisRateLimitStore } from "../core/ratelimit/index.ts";
import { createRateLimitStages } from "../http/stages/rate-limit.ts";

export interface RampartServer {
  app: FastifyInstance;
  /** Lines for the start-up banner (mode, storage, next steps). */
  banner: string[];
  close(): Promise<void>;
}

export async function composeServer(config: ResolvedConfig, logger: Logger): Promise<RampartServer> {
  const identity = await openIdentity(config, logger);
  const limitStore = createLimitStore(config, logger);
  const limits = config.rateLimit.enabled ? createRateLimitStages(config, limitStore) : undefined;
  const app = await buildApp({
    config,
    logger,
    authenticator: createAuthenticator(identity),
    ...(limits ? { onRoute: limits.onRoute } : {}),
    stages: {
      ...(limits ? { "limit-client": limits.limitClient, "limit-principal": limits.limitPrincipal } : {}),
      csrf: createCsrfStage(identity.csrf, config.cors.origins),
      authorize: createAuthorizeStage((request, error) => {
        void audit(identity, request, {
          type: "authz.denied",
          details: { reason: error.reason ?? error.code, route: `${request.method} ${request.routeOptions.url}` },
        });
      }),
    },
    readiness: [
      { name: "storage", check: () => identity.database.ping() },
      ...(identity.redis ? [{ name: "redis", check: async () => void (await identity.redis?.ping()) }] : []),
    ],
    routes: async (scope) => {
      await scope.register(authRoutes(identity));
      await scope.register(adminRoutes(identity));
      await scope.register(notesRoutes(identity.repos.notes));
      await scope.register(fp(metricsRoutes()));
    },
  });
  const admins = await identity.repos.users.countAdmins();
  return {
    app,
    banner: [
      `mode: ${config.env}${config.https.enforce ? " (HTTPS enforced)" : ""}`,
      `storage: ${identity.database.engine === "postgres" ? "PostgreSQL" : `embedded SQLite in ${config.dataDir}`}`,
      `shared state: ${config.redisUrl ? "Redis" : "in-process"}`,
      `registration: ${config.registration}`,
      ...(admins === 0 ? ["no admin yet: create one with `npx rampart users create --email you@example.com --role admin`"] : []),
    ],
    async close() {
      await app.close();
      await limitStore.close();
      await identity.close();
    },
  };
}

function createLimitStore(config: ResolvedConfig, logger: Logger): RateLimitStore {
  if (!config.redisUrl) return new MemoryRateLimitStore({ maxKeys: config.rateLimit.maxKeys });
  // Its own connection, tuned never to replay a consume it gave up on (see redis-store.ts).
  return new RedisRateLimitStore({
    url: config.redisUrl,
    failure: config.rateLimit.failurePolicy,
    timeoutMs: config.rateLimit.redisTimeoutMs,
    fallback: { maxKeys: config.rateLimit.maxKeys },
    onUnavailable: (event) => logger.error({ err: event.error, failure: event.failure }, "rate limiting: Redis unavailable"),
    onRecovered: (event) => logger.warn({ downtimeMs: event.downtimeMs }, "rate limiting: Redis is back"),
  });
}
