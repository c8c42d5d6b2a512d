/**
 * Login throttling policy: numbers, defaults and their validation. The defaults follow OWASP's
 * authentication cheat sheet (exponential back-off rather than hard lockout, per account and per client).
 */
const MINUTE = 60_000;

export interface LoginThrottlePolicy {
  /** Failures for one (email, client) pair allowed before the first lock; the failure that reaches it locks. Default 5. */
  readonly freeFailures: number;
  /** A pair's failures are forgotten after this long with no failure and no lock. Default 15 min. */
  readonly failureWindowMs: number;
  /** The first lock. Each further failure doubles it. Default 1 s. */
  readonly baseDelayMs: number;
  /** The longest lock. Default 15 min. */
  readonly maxDelayMs: number;
  /** Failures from one client across all emails, per window, that lock the client until the window ends. Default 100. */
  readonly clientMaxFailures: number;
  /** The per-client window (fixed, from the client's first failure). Default 1 h. */
  readonly clientWindowMs: number;
}

export const DEFAULT_LOGIN_THROTTLE_POLICY: LoginThrottlePolicy = Object.freeze({
  freeFailures: 5,
  failureWindowMs: 15 * MINUTE,
  baseDelayMs: 1000,
  maxDelayMs: 15 * MINUTE,
  clientMaxFailures: 100,
  clientWindowMs: 60 * MINUTE,
});

/**
 * Applies defaults and checks every number once, so a typo stops start-up instead of silently
 * weakening the throttle.
 * @throws TypeError naming the option.
 */
export function resolveLoginThrottlePolicy(options: Partial<LoginThrottlePolicy> = {}): LoginThrottlePolicy {
  for (const key of Object.keys(options)) {
    if (!Object.hasOwn(DEFAULT_LOGIN_THROTTLE_POLICY, key)) throw new TypeError(`unknown login throttle option "${key}"`);
  }
  const policy = { ...DEFAULT_LOGIN_THROTTLE_POLICY, ...options };
  for (const [key, value] of Object.entries(policy)) {
    if (!Number.isSafeInteger(value) || value < 1) throw new TypeError(`"policy.${key}" must be an integer >= 1, got ${value}`);
  }
  if (policy.maxDelayMs < policy.baseDelayMs) throw new TypeError('"policy.maxDelayMs" must be >= "policy.baseDelayMs"');
  return Object.freeze(policy);
}

/** The lock a pair gets at its `failures`-th failure: 0 while free, then base · 2^k up to the cap. */
export function lockDelayMs(policy: LoginThrottlePolicy, failures: number): number {
  const extra = failures - policy.freeFailures;
  if (extra < 0) return 0;
  // Past 2^40 every realistic cap is reached; stops the power overflowing to Infinity.
  return Math.min(policy.baseDelayMs * 2 ** Math.min(extra, 40), policy.maxDelayMs);
}
