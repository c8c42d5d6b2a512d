/**
 * GCRA, the Generic Cell Rate Algorithm (ITU-T I.371 "virtual scheduling"; the leaky bucket as a meter).
 * A key's whole state is one timestamp, its theoretical arrival time (TAT): when its bucket would be empty.
 *
 *   T = periodMs / limit           emission interval: one unit of quota refills every T
 *   τ = (burst − 1) · T            tolerance: how far ahead of schedule a client may run
 *   admit cost c at `now`  iff  max(TAT, now) + c·T − now ≤ τ + T  (= burst · T, the "window")
 *   on admission               TAT := max(TAT, now) + c·T;  a denial changes nothing
 *
 * So a fresh key (TAT ≤ now) admits exactly `burst` unit requests at once, and the long-run rate is
 * `limit` per period. Unlike a fixed window there is no boundary burst: in ANY closed interval of length
 * w, admitted cost ≤ burst + ⌊w / T⌋ (test/core/ratelimit/gcra.test.ts proves this by property test).
 *
 * Time is integer microseconds and T is rounded UP to a whole µs, so all arithmetic is exact in doubles
 * (values < 2^53), the memory store and the Redis Lua script agree bit for bit, and rounding can only make
 * the limit stricter (by under 1 µs per interval), never looser.
 */
import type { RateLimitPolicy } from "./policy.ts";

export interface GcraResult {
  readonly allowed: boolean;
  /** Unit-cost requests that would still be admitted right now (after this one, if admitted). */
  readonly remaining: number;
  /** Until the bucket is full again (TAT ≤ now), whole ms rounded up. */
  readonly resetMs: number;
  /** Until `remaining` grows by one; 0 when the bucket is full. The draft's `t` parameter. */
  readonly refillMs: number;
  /** Until this request's cost would be admitted; 0 when allowed. */
  readonly retryAfterMs: number;
  /** The TAT to store if this decision is committed (µs); unchanged on denial. */
  readonly tat: number;
}

/** T in whole microseconds, rounded up (see the top comment). */
export function emissionIntervalUs(policy: RateLimitPolicy): number {
  return Math.ceil((policy.periodMs * 1000) / policy.limit);
}

/**
 * Decides one request against one key's TAT. Pure: storing `tat` is the caller's job.
 * `tatUs` is 0 (or any past time) for a key with no state. `cost` 0 peeks without consuming.
 */
export function gcra(tatUs: number, nowUs: number, policy: RateLimitPolicy, cost = 1): GcraResult {
  const interval = emissionIntervalUs(policy);
  const window = policy.burst * interval;
  const base = Math.max(tatUs, nowUs);
  const next = base + cost * interval;
  if (next - nowUs <= window) return result(true, next, nowUs, interval, window, policy.burst, 0);
  return result(false, tatUs, nowUs, interval, window, policy.burst, next - window - nowUs);
}

function result(
  allowed: boolean,
  tat: number,
  now: number,
  interval: number,
  window: number,
  burst: number,
  retryUs: number,
): GcraResult {
  const used = Math.max(tat - now, 0);
  // max(0, …): a TAT beyond the window is possible after a clock step back (e.g. Redis failover).
  const remaining = Math.max(0, Math.floor((window - used) / interval));
  // The (remaining+1)-th unit frees up once `used` shrinks to window − (remaining+1)·T.
  const refillUs = remaining >= burst ? 0 : used - (window - (remaining + 1) * interval);
  return {
    allowed,
    remaining,
    resetMs: Math.ceil(used / 1000),
    refillMs: Math.ceil(refillUs / 1000),
    retryAfterMs: Math.ceil(retryUs / 1000),
    tat,
  };
}
