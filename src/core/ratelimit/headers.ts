/**
 * Rate-limit response fields, following draft-ietf-httpapi-ratelimit-headers-10 (September 2025): both
 * fields are RFC 8941 Lists whose items are sf-strings naming a policy.
 *
 *   RateLimit-Policy: "burst";q=100;w=60, "sustained";q=1000;w=3600   (§3: every policy of the route)
 *   RateLimit: "burst";r=50;t=30                                      (§4: the policy closest to exhaustion)
 *   Retry-After: 30                                                   (RFC 9110 §10.2.3, on 429 only)
 *
 * `q` is the policy's `limit` per `w` seconds; a burst allowance above it shows only as `r` > `q` on a
 * rested client. `t` is "the number of seconds until additional quota … is made available" (§4.1.2): with
 * GCRA, until one more unit refills. So on a denial `t` never exceeds `Retry-After`, as §6 requires.
 */
import type { RateLimitPolicy } from "./policy.ts";
import type { LimitDecision, PolicyResult } from "./store.ts";

export type RateLimitHeaders = Record<string, string>;

/**
 * The `RateLimit-Policy` value for a route's policies. Build it once per route, at registration.
 * @throws TypeError when the list is empty or two policies share a name (clients could not tell them apart).
 */
export function rateLimitPolicyHeader(policies: readonly RateLimitPolicy[]): string {
  if (policies.length === 0) throw new TypeError("RateLimit-Policy: a route with rate limits needs at least one policy");
  const names = new Set<string>();
  for (const { name } of policies) {
    if (names.has(name)) throw new TypeError(`RateLimit-Policy: two policies of one route are named "${name}"`);
    names.add(name);
  }
  return policies.map((p) => `"${p.name}";q=${p.limit};w=${p.periodMs / 1000}`).join(", ");
}

/** The `RateLimit` value for one policy's result. */
export function rateLimitHeader(result: PolicyResult): string {
  return `"${result.policy.name}";r=${result.remaining};t=${Math.ceil(result.refillMs / 1000)}`;
}

/** `Retry-After` in whole seconds, rounded up and at least 1 (0 would invite an immediate retry). */
export function retryAfterHeader(retryAfterMs: number): string {
  return String(Math.max(1, Math.ceil(retryAfterMs / 1000)));
}

/** All rate-limit fields for a decision; `policyHeader` comes from `rateLimitPolicyHeader`. */
export function rateLimitHeaders(decision: LimitDecision, policyHeader: string): RateLimitHeaders {
  const headers: RateLimitHeaders = { "RateLimit-Policy": policyHeader, RateLimit: rateLimitHeader(decision.closest) };
  if (!decision.allowed) headers["Retry-After"] = retryAfterHeader(decision.retryAfterMs);
  return headers;
}
