/**
 * What a login-throttle store does: three operations, each atomic for one (email, client) pair and its
 * client. The algorithm is `state.ts`; a store only keeps the state (memory: in-process, LRU-bounded;
 * Redis: shared by every instance).
 */
import type { LoginThrottlePolicy } from "./policy.ts";
import type { CheckResult, FailureResult } from "./state.ts";
import type { ThrottleKeys } from "./keys.ts";

export type MaybePromise<T> = T | Promise<T>;

export interface LoginThrottleStore {
  check(keys: ThrottleKeys, now: number): MaybePromise<CheckResult>;
  recordFailure(keys: ThrottleKeys, now: number, policy: LoginThrottlePolicy): MaybePromise<FailureResult>;
  /** Clears the pair's failures unless it is locked; `true` when cleared. Never touches the client's counter. */
  recordSuccess(keys: ThrottleKeys, now: number): MaybePromise<boolean>;
  close(): MaybePromise<void>;
}
