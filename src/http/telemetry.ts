/**
 * One app's Prometheus metrics and the recorders that feed them. The rest of the code sees plain
 * functions (`Telemetry`, src/core/telemetry.ts) and never imports prom-client; this module owns the
 * registry that `GET /metrics` serves (routes/metrics.ts). Each app gets its own, so tests and several
 * apps in one process never collide.
 *
 * Labels come only from small fixed sets: pipeline stage names, error codes of the catalogue, policy
 * names from the configuration, store names, the login-failure and revocation-source vocabularies.
 * Never a user id, an email, an address, a token, a key or a route parameter (routes are counted by
 * their pattern, `/admin/users/:id`), and never an error's `reason`, which may name any of those.
 *
 * The request path pays only for what it records: the response counter it always had, and on an error
 * the refusal counters. Everything read from a store (availability, fallbacks, pool state) is read when
 * Prometheus scrapes, in `collect()` callbacks.
 */
import type { FastifyReply, FastifyRequest } from "fastify";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import { type ErrorCode, RampartError } from "../core/errors.ts";
import { OAuthError, type OAuthErrorCode } from "../core/oauth/errors.ts";
import { type RateLimitStore, RedisRateLimitStore, type RedisStoreStats } from "../core/ratelimit/index.ts";
import {
  LOGIN_FAILURE_REASONS,
  type LoginFailureReason,
  REVOCATION_SOURCES,
  type RevocationSource,
  type Telemetry,
} from "../core/telemetry.ts";
import type { PoolState } from "../store/db.ts";
import { toRampartError } from "./errors.ts";
import type { StageName } from "./pipeline.ts";
import type { Principal } from "./request-state.ts";

/** The stage a refusal is counted against: a pipeline stage, schema validation, or the handler. */
export type RefusalStage = StageName | "validate" | "handle";

/** The app's metrics: the recorders, the registry to serve, and the hooks and watchers that feed it. */
export interface AppTelemetry extends Telemetry {
  readonly registry: Registry;
  /**
   * Adds prom-client's process metrics (CPU, memory, heap, GC, event-loop delay), prefixed `rampart_`.
   * Called when /metrics is mounted: the event-loop monitor runs only where someone can read it. Idempotent.
   */
  collectProcessMetrics(): void;
  /** For `onResponse`: requests by method, route pattern and status; refusals by status. */
  observeResponse(request: FastifyRequest, reply: FastifyReply): void;
  /** For `onError` (runs before the error handler): refusals by stage and code, 429s by policy. */
  observeError(request: FastifyRequest, error: unknown): void;
  /**
   * Times a Redis store's consumes (`rampart_ratelimit_store_seconds`) and reports its availability and
   * fallbacks at each scrape. The store is instrumented in place, so `instanceof`, `ping()`, `stats()`
   * and any other method stay the store's own; `methods` names every method that consumes (default:
   * `consume`, and `consumePair` where the store has it). An in-process store is left as it is:
   * it answers in well under a microsecond, less than timing it would cost.
   */
  instrumentLimitStore<S extends RateLimitStore>(store: S, methods?: readonly string[]): S;
  /** Reports a database's pool at each scrape; nothing for an engine without one (SQLite). Once per app. */
  watchDatabase(database: { poolState?(): PoolState | undefined }): void;
  /** Reports at each scrape whether the local deny list can be trusted alone (see `revocationsInSync`). Once per app. */
  watchRevocationSync(inSync: () => boolean): void;
}

/** The store methods that decide limits, timed by default when the store has them. */
const CONSUMING_METHODS = ["consume", "consumePair"] as const;

const STORE_SECONDS_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];
const LAG_SECONDS_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5];

/**
 * A policy name fit for a label. Names come from the configuration ("ip", "user-2", "route-1",
 * "login", "login-backoff"), so they are a small fixed set; anything else is folded into "other"
 * rather than trusted.
 */
const POLICY_NAME = /^[a-z][a-z0-9-]{0,39}$/i;

/** Codes whose stage is fixed wherever they are raised. */
const STAGE_OF_CODE: Partial<Record<ErrorCode, RefusalStage>> = {
  RAMPART_ERR_HTTPS_REQUIRED: "transport",
  RAMPART_ERR_HOST_NOT_ALLOWED: "transport",
  RAMPART_ERR_SHUTTING_DOWN: "transport",
  RAMPART_ERR_NOT_ACCEPTABLE: "transport",
  // The gateway decides these from the request target before routing (gateway/target.ts).
  RAMPART_ERR_AMBIGUOUS_PATH: "transport",
  RAMPART_ERR_UPGRADE_REFUSED: "transport",
  RAMPART_ERR_INSUFFICIENT_SCOPE: "authorize",
  RAMPART_ERR_VALIDATION: "validate",
  RAMPART_ERR_MALFORMED_JSON: "validate",
  RAMPART_ERR_BODY_TOO_LARGE: "validate",
  RAMPART_ERR_UNSUPPORTED_MEDIA_TYPE: "validate",
};

/**
 * What `refusalStage` reads of a request: the principal (set by stage 5), the route's declaration, and
 * `refusedBy` when the code that refused recorded its stage itself (it then wins over any inference).
 */
export interface RefusedRequest {
  readonly rampart?: { readonly principal?: Principal | undefined; readonly refusedBy?: RefusalStage | undefined } | null;
  readonly routeOptions: { readonly url?: string | undefined; readonly config?: { readonly rampart?: { readonly auth?: string; readonly permissions?: readonly string[] } } };
}

/** The per-IP defaults (`rateLimit.perIp`: "ip", "ip-2"…): only ever decided for stage 4. */
const PER_IP_POLICY = /^ip(-\d+)?$/;

/**
 * The stage that refused, from the error's code and the request's state; read only on the error path,
 * so the stages themselves carry no bookkeeping. Ambiguous codes are settled by what the pipeline had
 * done: stage 5 sets the principal only when it admits, so a 401 without one on a route that needs one
 * is stage 5's; a 429 or a limiter 503 before the principal is stage 4's, after it stage 7's (but a
 * per-IP default policy is always stage 4's, also when stage 7 decided it for stage 4 in the same round
 * trip); a 403 for a permission the route declares and the principal lacks is stage 8's. The rest is
 * the handler's. `origin`: "framework" for Fastify's own parser and schema errors, "limit-store" for a
 * rejection of the rate-limit store (RAMPART_ERR_STORE_UNAVAILABLE when failing closed); `policy`: the
 * refused policy's name, for a 429.
 */
export function refusalStage(
  code: ErrorCode,
  request: RefusedRequest,
  origin: "rampart" | "framework" | "limit-store" = "rampart",
  policy?: unknown,
): RefusalStage {
  const tagged = request.rampart?.refusedBy;
  if (tagged) return tagged;
  if (origin === "framework") return "validate";
  const fixed = STAGE_OF_CODE[code];
  if (fixed) return fixed;
  const principal = request.rampart?.principal ?? undefined;
  if (code === "RAMPART_ERR_RATE_LIMITED" && typeof policy === "string" && PER_IP_POLICY.test(policy)) return "limit-client";
  if (origin === "limit-store" || code === "RAMPART_ERR_RATE_LIMITED") return principal ? "limit-principal" : "limit-client";
  const security = request.routeOptions.config?.rampart;
  const needsCredential = request.routeOptions.url !== undefined && security?.auth !== "public";
  switch (code) {
    case "RAMPART_ERR_UNAUTHENTICATED":
    case "RAMPART_ERR_INVALID_TOKEN":
    // Storage or the revocation broadcast unavailable while checking a credential (failing closed).
    case "RAMPART_ERR_STORE_UNAVAILABLE":
      return principal === undefined && needsCredential ? "authenticate" : "handle";
    case "RAMPART_ERR_CSRF":
      // The cookie-refresh route checks CSRF itself, on a public route (no principal).
      return principal ? "csrf" : "handle";
    case "RAMPART_ERR_FORBIDDEN":
      return principal && lacksDeclaredPermission(principal, security?.permissions) ? "authorize" : "handle";
    default:
      return "handle";
  }
}

function lacksDeclaredPermission(principal: Principal, required: readonly string[] | undefined): boolean {
  if (!required) return false;
  try {
    return required.some((permission) => !principal.permissions.has(permission));
  } catch {
    return true;
  }
}

/** Counted as refusals: every 4xx, and the 503s of a store that is down or an instance shutting down. */
function isRefusal(status: number): boolean {
  return (status >= 400 && status < 500) || status === 503;
}

export function createAppTelemetry(): AppTelemetry {
  const registry = new Registry();
  const registers = [registry];
  let processMetrics = false;

  const requests = new Counter({
    name: "rampart_http_requests_total",
    help: "HTTP requests by method, route pattern and status code.",
    labelNames: ["method", "route", "status"],
    registers,
  });
  const refusalsByStatus = new Counter({
    name: "rampart_security_refusals_total",
    help: "Requests refused by a security stage, by status (401 authentication, 403 authorization/CSRF/HTTPS, 429 rate limits). Kept for compatibility; see rampart_refusals_total.",
    labelNames: ["status"],
    registers,
  });
  const refusals = new Counter({
    name: "rampart_refusals_total",
    help: "Requests refused (4xx, or 503 from a store that is down), by the stage that refused (transport … authorize, validate, handle) and the error code (RAMPART_ERR_*, or the OAuth error on /oauth endpoints).",
    labelNames: ["stage", "code"],
    registers,
  });
  const rateLimited = new Counter({
    name: "rampart_rate_limited_total",
    help: 'Requests answered 429, by the policy that refused them (a configured limit: "ip", "user", "login", "route-1"…; "login-backoff" for the login back-off).',
    labelNames: ["policy"],
    registers,
  });
  const loginFailures = new Counter({
    name: "rampart_login_failures_total",
    help: "Sign-in steps refused, by reason: bad_credentials (password login), throttled (back-off), mfa, passkey, client_credentials.",
    labelNames: ["reason"],
    registers,
  });
  const refreshReuse = new Counter({
    name: "rampart_refresh_reuse_detected_total",
    help: "Spent refresh tokens presented again; each revoked its whole session (token theft or a client bug).",
    registers,
  });
  const revocations = new Counter({
    name: "rampart_revocations_total",
    help: "Revocations entering this instance's deny list, by source: local (made here), broadcast (from another instance through Redis), storage (loaded at start or after an outage).",
    labelNames: ["source"],
    registers,
  });
  const broadcastLag = new Histogram({
    name: "rampart_broadcast_lag_seconds",
    help: "Seconds from another instance publishing a revocation to this instance applying it.",
    buckets: LAG_SECONDS_BUCKETS,
    registers,
  });
  const storeSeconds = new Histogram({
    name: "rampart_ratelimit_store_seconds",
    help: "Time of one rate-limit store call (all stacked limits of a stage) as the request saw it, timeouts and fallback decisions included.",
    labelNames: ["store"],
    buckets: STORE_SECONDS_BUCKETS,
    registers,
  });
  const limitStores: { name: string; stats: () => RedisStoreStats }[] = [];
  new Gauge({
    name: "rampart_ratelimit_store_available",
    help: "1 while the shared rate-limit store answers; 0 during an outage (requests follow rateLimit.failurePolicy).",
    labelNames: ["store"],
    registers,
    collect() {
      for (const store of limitStores) this.set({ store: store.name }, store.stats().available ? 1 : 0);
    },
  });
  const storeTotals: readonly (readonly [string, string, keyof RedisStoreStats])[] = [
    ["rampart_ratelimit_fallback_total", "Rate-limit decisions taken by the local fallback limiter because the shared store could not answer (failurePolicy open).", "fallbacks"],
    ["rampart_ratelimit_store_failures_total", "Rate-limit store calls that could not reach the shared store.", "failures"],
    ["rampart_ratelimit_store_round_trips_total", "Script calls sent to the shared rate-limit store (one per store call that reached it).", "roundTrips"],
  ];
  for (const [name, help, field] of storeTotals) {
    new Counter({
      name,
      help,
      labelNames: ["store"],
      registers,
      collect() {
        // The store keeps the totals; the counter mirrors them at each scrape.
        this.reset();
        for (const store of limitStores) this.inc({ store: store.name }, Number(store.stats()[field]));
      },
    });
  }

  // Label children made once: the hot path does not build label objects for these.
  const loginChildren = new Map(LOGIN_FAILURE_REASONS.map((reason) => [reason, loginFailures.labels(reason)]));
  for (const child of loginChildren.values()) child.inc(0);
  const revocationChildren = new Map(REVOCATION_SOURCES.map((source) => [source, revocations.labels(source)]));
  for (const child of revocationChildren.values()) child.inc(0);
  refreshReuse.inc(0);
  // `code`: the catalogue's RAMPART_ERR_*, or an OAuth error code (RFC 6749 §5.2) on the /oauth endpoints.
  const refusalChildren = new Map<RefusalStage, Map<ErrorCode | OAuthErrorCode, Counter.Internal>>();
  const refusalChild = (stage: RefusalStage, code: ErrorCode | OAuthErrorCode) => {
    const byCode = refusalChildren.get(stage) ?? new Map<ErrorCode | OAuthErrorCode, Counter.Internal>();
    refusalChildren.set(stage, byCode);
    const child = byCode.get(code) ?? refusals.labels(stage, code);
    byCode.set(code, child);
    return child;
  };
  const policyChildren = new Map<string, Counter.Internal>();
  const policyChild = (policy: unknown) => {
    const name = typeof policy === "string" && POLICY_NAME.test(policy) ? policy : "other";
    const child = policyChildren.get(name) ?? rateLimited.labels(name);
    policyChildren.set(name, child);
    return child;
  };
  // Errors the rate-limit store rejected with: their 503 belongs to a limit stage.
  const limitStoreErrors = new WeakSet<object>();

  return {
    registry,
    collectProcessMetrics() {
      if (processMetrics) return;
      processMetrics = true;
      // Among them the event-loop delay: rampart_nodejs_eventloop_lag_{min,max,mean,p50,p90,p99}_seconds
      // (a monitorEventLoopDelay histogram, reset at each scrape) and rampart_nodejs_eventloop_lag_seconds.
      collectDefaultMetrics({ register: registry, prefix: "rampart_" });
    },
    loginFailure(reason: LoginFailureReason) {
      loginChildren.get(reason)?.inc();
    },
    refreshReuseDetected() {
      refreshReuse.inc();
    },
    revocationApplied(source: RevocationSource, count = 1) {
      if (count > 0) revocationChildren.get(source)?.inc(count);
    },
    broadcastLag(seconds: number) {
      // Clocks of two machines: a small negative lag is skew, not time travel.
      if (Number.isFinite(seconds)) broadcastLag.observe(Math.max(0, seconds));
    },
    observeResponse(request, reply) {
      const status = reply.statusCode;
      requests.inc({ method: request.method, route: request.routeOptions.url ?? "unmatched", status });
      if (status === 401 || status === 403 || status === 429) refusalsByStatus.inc({ status });
    },
    observeError(request, error) {
      if (error instanceof OAuthError) {
        refusalChild("handle", error.code).inc();
        return;
      }
      const problem = error instanceof RampartError ? error : toRampartError(error);
      if (!isRefusal(problem.status)) return;
      const origin = problem !== error ? "framework" : typeof error === "object" && error !== null && limitStoreErrors.has(error) ? "limit-store" : "rampart";
      const policy = problem.extensions?.policy;
      refusalChild(refusalStage(problem.code, request as unknown as RefusedRequest, origin, policy), problem.code).inc();
      if (problem.status === 429) policyChild(policy).inc();
    },
    instrumentLimitStore(store, methods) {
      if (!(store instanceof RedisRateLimitStore)) return store;
      methods ??= CONSUMING_METHODS.filter((name) => typeof (store as unknown as Record<string, unknown>)[name] === "function");
      const observe = storeSeconds.labels("redis");
      for (const method of methods) {
        timeCalls(store as unknown as Record<string, unknown>, method, (seconds) => observe.observe(seconds), (error) => {
          if (typeof error === "object" && error !== null) limitStoreErrors.add(error);
        });
      }
      limitStores.push({ name: "redis", stats: () => store.stats() });
      return store;
    },
    watchDatabase(database) {
      // Registered only for an engine with a pool: SQLite would show a misleading "max 0".
      if (database.poolState?.()) registerPoolGauges(registry, () => database.poolState?.());
    },
    watchRevocationSync(inSync) {
      new Gauge({
        name: "rampart_revocation_in_sync",
        help: "1 while the local deny list can be trusted alone (no Redis, or the broadcast is subscribed and caught up); 0 while every token is checked against storage (or refused, failing closed).",
        registers,
        collect() {
          this.set(inSync() ? 1 : 0);
        },
      });
    },
  };
}

function registerPoolGauges(registry: Registry, read: () => PoolState | undefined): void {
  const registers = [registry];
  new Gauge({
    name: "rampart_db_pool_connections",
    help: "PostgreSQL pool connections by state: active (lent to a query or transaction) and idle.",
    labelNames: ["state"],
    registers,
    collect() {
      const state = read();
      if (!state) return;
      this.set({ state: "active" }, state.total - state.idle);
      this.set({ state: "idle" }, state.idle);
    },
  });
  new Gauge({
    name: "rampart_db_pool_waiting",
    help: "Queries waiting for a free PostgreSQL connection (lastingly above 0: the pool is too small or the database too slow).",
    registers,
    collect() {
      this.set(read()?.waiting ?? 0);
    },
  });
  new Gauge({
    name: "rampart_db_pool_max",
    help: "Size bound of the PostgreSQL pool.",
    registers,
    collect() {
      this.set(read()?.max ?? 0);
    },
  });
}

/**
 * Replaces `target[method]` with a timed call of the original, as an own property: the object keeps its
 * class, its private fields and its other methods. Works for synchronous results and promises alike.
 */
function timeCalls(target: Record<string, unknown>, method: string, observe: (seconds: number) => void, onError: (error: unknown) => void): void {
  const original = target[method];
  if (typeof original !== "function") throw new TypeError(`instrumentLimitStore: the store has no method "${method}"`);
  const call = original.bind(target) as (...args: unknown[]) => unknown;
  target[method] = function timed(...args: unknown[]) {
    const start = performance.now();
    const done = () => observe((performance.now() - start) / 1000);
    let result: unknown;
    try {
      result = call(...args);
    } catch (error) {
      done();
      onError(error);
      throw error;
    }
    if (!(result instanceof Promise)) {
      done();
      return result;
    }
    return result.then(
      (value) => {
        done();
        return value;
      },
      (error) => {
        done();
        onError(error);
        throw error;
      },
    );
  };
}
