/**
 * Login throttling: exponential back-off per (email, client) pair, plus a cap per client across all
 * emails. Use it around password verification:
 *
 *   const gate = await throttle.check(email, ip);           // BEFORE verifying the password
 *   if (!gate.allowed) → 429 with Retry-After (even if the password would have been right)
 *   ok ? await throttle.recordSuccess(email, ip) : await throttle.recordFailure(email, ip);
 *
 * Because `check` refuses while locked, a success is only ever recorded once a check has passed; even
 * so `recordSuccess` leaves a locked pair alone, so a success racing a lock cannot unlock it.
 *
 * Keyed per pair, not per email, on purpose: per email, anyone could lock a victim out of their account
 * from their own address by failing on purpose. The price: an attacker with many addresses gets a fresh
 * back-off (`freeFailures` quick guesses, then doubling waits) per address per email. The per-client cap
 * bounds each address; the route rate limits and the password policy (15+ characters, breached-list
 * checks) do the rest.
 */
import { throttleKeys } from "./keys.ts";
import { type LoginThrottlePolicy, resolveLoginThrottlePolicy } from "./policy.ts";
import type { CheckResult, FailureResult } from "./state.ts";
import type { LoginThrottleStore } from "./store.ts";

export interface LoginThrottleOptions {
  store: LoginThrottleStore;
  /** Missing numbers take `DEFAULT_LOGIN_THROTTLE_POLICY`'s. */
  policy?: Partial<LoginThrottlePolicy>;
  /** Epoch ms. Default `Date.now`; tests inject their own. */
  clock?: () => number;
}

export interface LoginThrottle {
  readonly policy: LoginThrottlePolicy;
  /** @throws RampartError RAMPART_ERR_STORE_UNAVAILABLE (Redis store, policy `closed`). */
  check(email: string, clientKey: string): Promise<CheckResult>;
  /** @throws RampartError RAMPART_ERR_STORE_UNAVAILABLE (Redis store, policy `closed`). */
  recordFailure(email: string, clientKey: string): Promise<FailureResult>;
  /** Clears the pair's failures unless it is locked. The per-client counter is kept: a spraying client
   * must not be able to reset it by logging into an account of its own. */
  recordSuccess(email: string, clientKey: string): Promise<{ reset: boolean }>;
}

/**
 * @throws TypeError on an invalid policy.
 * @example createLoginThrottle({ store: createMemoryLoginThrottleStore() })
 */
export function createLoginThrottle(options: LoginThrottleOptions): LoginThrottle {
  const { store } = options;
  const policy = resolveLoginThrottlePolicy(options.policy);
  const clock = options.clock ?? Date.now;
  // Whole milliseconds: the Redis scripts store integers.
  const now = () => Math.floor(clock());

  return {
    policy,
    check: async (email, clientKey) => store.check(throttleKeys(email, clientKey), now()),
    recordFailure: async (email, clientKey) => store.recordFailure(throttleKeys(email, clientKey), now(), policy),
    recordSuccess: async (email, clientKey) => ({ reset: await store.recordSuccess(throttleKeys(email, clientKey), now()) }),
  };
}
