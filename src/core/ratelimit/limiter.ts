/**
 * The framework-free facade: decide a request's stacked limits and get the response fields. The HTTP
 * stages are thin adapters over this; anything else (a worker, a CLI) can use it as is.
 */
import { RampartError } from "../errors.ts";
import { type RateLimitHeaders, rateLimitHeaders, rateLimitPolicyHeader } from "./headers.ts";
import { isThenable, type LimitDecision, type LimitRequest, type RateLimitStore } from "./store.ts";

export interface RateLimiterOptions {
  /** `MemoryRateLimitStore` (one instance) or `RedisRateLimitStore` (many); the caller closes it. */
  readonly store: RateLimitStore;
}

export interface RateLimitOutcome {
  readonly allowed: boolean;
  readonly decision: LimitDecision;
  /** `RateLimit-Policy`, `RateLimit` and, on denial, `Retry-After`: set them on the response either way. */
  readonly headers: RateLimitHeaders;
}

export interface RateLimiter {
  /**
   * Decides `requests` (all stacked limits of one HTTP request) in one store call. Synchronous with an
   * in-process store; a promise with a remote one.
   * @param policyHeader the route's precomputed `rateLimitPolicyHeader(policies)`; computed if omitted.
   * @throws TypeError for malformed requests; RampartError `RAMPART_ERR_STORE_UNAVAILABLE` from a store
   *   failing closed.
   */
  check(requests: readonly LimitRequest[], policyHeader?: string): RateLimitOutcome | Promise<RateLimitOutcome>;
}

/**
 * @example
 *   const limiter = createRateLimiter({ store: new MemoryRateLimitStore() });
 *   const burst = parsePolicy("burst", "10/second");
 *   const outcome = limiter.check([{ key: clientKey(ip), policy: burst }]); // sync with a memory store
 *   if (!outcome.allowed) throw rateLimitedError(outcome);
 */
export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  const store = options?.store;
  if (typeof store?.consume !== "function") throw new TypeError('createRateLimiter: "store" option must be a RateLimitStore');
  return {
    check(requests, policyHeader) {
      const header = policyHeader ?? rateLimitPolicyHeader(requests.map((request) => request.policy));
      const decision = store.consume(requests);
      return isThenable(decision) ? decision.then((d) => limitOutcome(d, header)) : limitOutcome(decision, header);
    },
  };
}

/**
 * The 429 for a denied outcome: `Retry-After` and the rate-limit fields as headers, the violated policy
 * named in the body (draft-ietf-httpapi-ratelimit-headers-10 §5.1 `violated-policies`), the key only in
 * the log.
 */
export function rateLimitedError(outcome: RateLimitOutcome): RampartError {
  const { decision } = outcome;
  const violated = decision.results.filter((result) => !result.allowed);
  const name = decision.violated?.policy.name ?? "";
  return new RampartError("RAMPART_ERR_RATE_LIMITED", {
    detail: `Rate limit "${name}" exceeded; retry after ${outcome.headers["Retry-After"] ?? "1"} s.`,
    reason: `rate limit "${name}" exceeded for ${decision.violated?.key}`,
    extensions: { policy: name, "violated-policies": violated.map((result) => result.policy.name) },
    headers: outcome.headers,
  });
}

/** The outcome of a decision made outside `check` (a store's `consumePair`). */
export function limitOutcome(decision: LimitDecision, policyHeader: string): RateLimitOutcome {
  return { allowed: decision.allowed, decision, headers: rateLimitHeaders(decision, policyHeader) };
}
