/**
 * The protection layers an application is assembled from, shared by the reference server, the
 * Fastify plugin and the Express adapter: the rate-limit store, and the identity layer (storage,
 * credentials, CSRF, limits, authorization with audit) as pipeline stages for `protectPlugin`.
 */
import type { Logger } from "pino";
import type { ResolvedConfig } from "../config/resolve.ts";
import type { RoleTable } from "../core/authz/index.ts";
import { MemoryRateLimitStore, type RateLimitStore, RedisRateLimitStore } from "../core/ratelimit/index.ts";
import type { ProtectOptions } from "../http/protect.ts";
import type { ReadinessCheck } from "../http/routes/ops.ts";
import type { RouteDefinition } from "../http/stage-io.ts";
import type { Stage } from "../http/pipeline.ts";
import type { Authenticator } from "../http/stages/authenticate.ts";
import { createAuthorizeStage } from "../http/stages/authorize.ts";
import { createCsrfStage } from "../http/stages/csrf.ts";
import { createRateLimitStages } from "../http/stages/rate-limit.ts";
import { audit } from "../identity/audit.ts";
import { createAuthenticator } from "../identity/authenticator.ts";
import { type IdentityContext, openIdentity } from "../identity/context.ts";

/** What a layer hands to `protectPlugin`, and how to release it. */
export interface ProtectionLayer {
  authenticator: Authenticator;
  stages: NonNullable<ProtectOptions["stages"]>;
  onRoute?: (route: RouteDefinition) => void;
  /**
   * The route-scoped halves of stages 4 and 7, for an adapter that runs stage 4 before it knows the
   * route (rampart/express); absent when rate limiting is off.
   */
  routeLimits?: { client: Stage; principal: Stage };
  readiness: ReadinessCheck[];
  close(): Promise<void>;
}

export interface IdentityLayer extends ProtectionLayer {
  identity: IdentityContext;
}

function redisStoreOf(store: RateLimitStore | undefined): RedisRateLimitStore | undefined {
  return store instanceof RedisRateLimitStore ? store : undefined;
}

export function createLimitStore(config: ResolvedConfig, logger: Logger): RateLimitStore {
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

/** Rate-limit stages over a store of the config's choice; `undefined` when limiting is off. */
export function openLimits(config: ResolvedConfig, logger: Logger) {
  if (!config.rateLimit.enabled) return undefined;
  const store = createLimitStore(config, logger);
  return { store, ...createRateLimitStages(config, store) };
}

/**
 * Opens storage and identity, writes the application's roles (code wins over run-time edits of the
 * same role on every start: the code is where the route permissions live), and builds the stages.
 */
export async function openIdentityLayer(config: ResolvedConfig, logger: Logger, appRoles: RoleTable = {}): Promise<IdentityLayer> {
  const identity = await openIdentity(config, logger);
  try {
    for (const [name, permissions] of Object.entries(appRoles)) await identity.repos.roles.upsert(name, permissions);
    if (Object.keys(appRoles).length > 0) await identity.reloadRoles();
  } catch (error) {
    await identity.close();
    throw error;
  }
  const limits = openLimits(config, logger);
  return {
    identity,
    authenticator: createAuthenticator(identity),
    ...(limits ? { onRoute: limits.onRoute, routeLimits: { client: limits.limitClientOwn, principal: limits.limitPrincipalOwn } } : {}),
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
      // Both connections: the identity one (throttle, broadcast) and the rate limiter's own.
      ...(identity.redis ? [{ name: "redis", check: async () => void (await Promise.all([identity.redis?.ping(), redisStoreOf(limits?.store)?.ping()])) }] : []),
    ],
    async close() {
      await limits?.store.close();
      await identity.close();
    },
  };
}
