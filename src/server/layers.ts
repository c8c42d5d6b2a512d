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
import { type AppTelemetry, createAppTelemetry } from "../http/telemetry.ts";
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
  /** The app's metrics, served by `metricsRoutes`; absent for a layer that records none (verify-only). */
  telemetry?: AppTelemetry;
  close(): Promise<void>;
}

export interface IdentityLayer extends ProtectionLayer {
  identity: IdentityContext;
  telemetry: AppTelemetry;
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

/**
 * Rate-limit stages over a store of the config's choice; `undefined` when limiting is off. With
 * `telemetry`, a shared store's calls are timed and its availability and fallbacks reported.
 */
export function openLimits(config: ResolvedConfig, logger: Logger, telemetry?: AppTelemetry, authenticator?: Authenticator) {
  if (!config.rateLimit.enabled) return undefined;
  const created = createLimitStore(config, logger);
  const store = telemetry ? telemetry.instrumentLimitStore(created, ["consume", "consumePair"]) : created;
  const peekPrincipal = authenticator?.peek?.bind(authenticator);
  return { store, ...createRateLimitStages(config, store, peekPrincipal ? { peekPrincipal } : {}) };
}

/**
 * Opens storage and identity, writes the application's roles (code wins over run-time edits of the
 * same role on every start: the code is where the route permissions live), and builds the stages.
 */
export async function openIdentityLayer(config: ResolvedConfig, logger: Logger, appRoles: RoleTable = {}): Promise<IdentityLayer> {
  // One registry per assembled app: the identity flows, the limiter and /metrics all report into it.
  const telemetry = createAppTelemetry();
  const identity = await openIdentity(config, logger, { telemetry });
  try {
    for (const [name, permissions] of Object.entries(appRoles)) await identity.repos.roles.upsert(name, permissions);
    if (Object.keys(appRoles).length > 0) await identity.reloadRoles();
  } catch (error) {
    await identity.close();
    throw error;
  }
  const authenticator = createAuthenticator(identity);
  const limits = openLimits(config, logger, telemetry, authenticator);
  telemetry.watchDatabase(identity.database);
  telemetry.watchRevocationSync(() => identity.revocationsInSync());
  const stopCountingRevocations = identity.revocations.onRevoke(() => telemetry.revocationApplied("local"));
  return {
    identity,
    telemetry,
    authenticator,
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
      stopCountingRevocations();
      await limits?.store.close();
      await identity.close();
    },
  };
}
