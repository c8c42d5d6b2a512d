/**
 * The rate-limit store contract. One `consume` decides ALL stacked limits of one HTTP request (a burst
 * and a sustained limit, say) together and atomically: if any policy denies, none consumes anything, so
 * a client held back by one limit does not drain the others while it waits.
 */
import { keyIdentity } from "./keys.ts";
import type { RateLimitPolicy } from "./policy.ts";

export interface LimitRequest {
  /** From `clientKey` / `principalKey` / `scopedKey`; every request of one consume shares one identity. */
  readonly key: string;
  readonly policy: RateLimitPolicy;
  /** Quota units this request costs: an integer from 1 to `policy.burst`. Default 1. */
  readonly cost?: number;
}

export interface PolicyResult {
  readonly key: string;
  readonly policy: RateLimitPolicy;
  /** Whether this policy alone would admit the request. */
  readonly allowed: boolean;
  /** Unit requests still admissible now; after this request only if the whole stack admitted it. */
  readonly remaining: number;
  /** Until this policy's quota is full again, ms. */
  readonly resetMs: number;
  /** Until `remaining` grows by one (0 when full), ms: the `t` of the `RateLimit` header. */
  readonly refillMs: number;
  /** Until this policy would admit the request (0 when it does), ms. */
  readonly retryAfterMs: number;
}

export interface LimitDecision {
  readonly allowed: boolean;
  /** One result per request, in request order. */
  readonly results: readonly PolicyResult[];
  /** The policy closest to exhaustion (the violated one on denial): what the `RateLimit` header reports. */
  readonly closest: PolicyResult;
  /** On denial, the policy that holds the client back longest. */
  readonly violated: PolicyResult | undefined;
  /** 0 when allowed; otherwise when the whole stack would admit the request, ms. */
  readonly retryAfterMs: number;
}

export interface RateLimitStore {
  /**
   * Decides and (if every policy admits) consumes. In-process stores answer synchronously, so the hot
   * path awaits nothing; callers must accept either a decision or a promise of one.
   * @throws TypeError for malformed requests (see `checkRequests`).
   * @throws RampartError `RAMPART_ERR_STORE_UNAVAILABLE` (rejection) when a remote store is down and
   *   configured to fail closed.
   */
  consume(requests: readonly LimitRequest[]): LimitDecision | Promise<LimitDecision>;
  close(): Promise<void>;
}

/**
 * Rejects requests no store could decide correctly, or atomically (keys of two identities). Costs are
 * checked per request: one above `burst` could never be admitted, a fractional one would corrupt the TAT.
 * @throws TypeError naming the request index and what is wrong.
 */
export function checkRequests(requests: readonly LimitRequest[]): void {
  if (!Array.isArray(requests) || requests.length === 0) {
    throw new TypeError("rate-limit consume: expected a non-empty array of limit requests");
  }
  let identity = "";
  for (let i = 0; i < requests.length; i++) {
    const { key, policy, cost = 1 } = requests[i]!;
    if (typeof key !== "string" || key.length === 0 || key.includes("{") || key.includes("}")) {
      throw new TypeError(`rate-limit request ${i}: key must be a non-empty string without "{" or "}", got ${JSON.stringify(key)}`);
    }
    if (!Number.isSafeInteger(cost) || cost < 1 || cost > policy.burst) {
      throw new TypeError(`rate-limit request ${i}: cost must be an integer from 1 to ${policy.burst} (policy "${policy.name}" burst), got ${cost}`);
    }
    if (i === 0) identity = keyIdentity(key);
    else if (keyIdentity(key) !== identity) {
      // One identity = one Redis Cluster slot = one atomic script (see keys.ts). Same rule for every store.
      throw new TypeError(`rate-limit request ${i}: key ${JSON.stringify(key)} is not of identity ${JSON.stringify(identity)}; stack only one identity per consume`);
    }
    for (let j = 0; j < i; j++) {
      const other = requests[j]!;
      if (other.key === key && other.policy.name === policy.name) {
        throw new TypeError(`rate-limit request ${i}: duplicates request ${j} (key ${JSON.stringify(key)}, policy "${policy.name}")`);
      }
    }
  }
}

/** True for a promise or any thenable: how a caller tells a remote store's answer from a local one. */
export function isThenable<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as { then?: unknown } | null)?.then === "function";
}
