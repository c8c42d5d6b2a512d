/**
 * The throttle's state transitions, pure, in one place. The memory store runs these; the Redis store's
 * Lua (`redis-scripts.ts`) mirrors them line for line, and one contract suite holds both to the same
 * behaviour. Times are epoch ms from the throttle's clock; `expiresAt` is checked here, so a store's own
 * TTLs are only garbage collection.
 */
import { type LoginThrottlePolicy, lockDelayMs } from "./policy.ts";

export interface PairState {
  readonly failures: number;
  readonly lockedUntil: number;
  /** Forgotten after this: `failureWindowMs` after the later of the last failure and the lock's end. */
  readonly expiresAt: number;
}

export interface ClientState {
  readonly failures: number;
  readonly lockedUntil: number;
  /** The fixed window's end. */
  readonly expiresAt: number;
}

export type CheckResult =
  | { readonly allowed: true }
  | { readonly allowed: false; readonly retryAfterMs: number; readonly scope: "pair" | "client" };

export interface FailureResult {
  /** The pair's failures in its current window, this one included. */
  readonly failures: number;
  /** The client's failures in its current window, across all emails, this one included. */
  readonly clientFailures: number;
  /** Whether the pair or the client is now locked. */
  readonly locked: boolean;
  /** Whether this failure started or extended a lock (worth an audit event). */
  readonly justLocked: boolean;
  /** 0 when not locked. */
  readonly retryAfterMs: number;
}

export const live = <S extends { expiresAt: number }>(state: S | undefined, now: number) =>
  state !== undefined && now < state.expiresAt ? state : undefined;

/** Milliseconds left on a state's lock, 0 when none. */
export const remainingMs = (state: PairState | ClientState | undefined, now: number) =>
  Math.max(0, (live(state, now)?.lockedUntil ?? 0) - now);

/** The answer from the two locks' remaining times; the longer one is reported. */
export function verdict(pairMs: number, clientMs: number): CheckResult {
  if (pairMs <= 0 && clientMs <= 0) return { allowed: true };
  return pairMs >= clientMs
    ? { allowed: false, retryAfterMs: pairMs, scope: "pair" }
    : { allowed: false, retryAfterMs: clientMs, scope: "client" };
}

export function pairAfterFailure(state: PairState | undefined, now: number, policy: LoginThrottlePolicy): PairState {
  const current = live(state, now);
  const failures = (current?.failures ?? 0) + 1;
  const delay = lockDelayMs(policy, failures);
  const lockedUntil = Math.max(current?.lockedUntil ?? 0, delay > 0 ? now + delay : 0);
  return { failures, lockedUntil, expiresAt: Math.max(lockedUntil, now) + policy.failureWindowMs };
}

export function clientAfterFailure(state: ClientState | undefined, now: number, policy: LoginThrottlePolicy): ClientState {
  const current = live(state, now);
  const failures = (current?.failures ?? 0) + 1;
  const expiresAt = current?.expiresAt ?? now + policy.clientWindowMs;
  return { failures, lockedUntil: failures >= policy.clientMaxFailures ? expiresAt : 0, expiresAt };
}

/** The result of a failure once both states are updated (`pairMs`/`clientMs`: their locks' remaining times). */
export function failureResult(
  failures: number,
  clientFailures: number,
  pairMs: number,
  clientMs: number,
  policy: LoginThrottlePolicy,
): FailureResult {
  const answer = verdict(pairMs, clientMs);
  return {
    failures,
    clientFailures,
    locked: !answer.allowed,
    justLocked: failures >= policy.freeFailures || clientFailures === policy.clientMaxFailures,
    retryAfterMs: answer.allowed ? 0 : answer.retryAfterMs,
  };
}
