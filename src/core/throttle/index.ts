export { type LoginThrottle, type LoginThrottleOptions, createLoginThrottle } from "./throttle.ts";
export {
  type LoginThrottlePolicy,
  DEFAULT_LOGIN_THROTTLE_POLICY,
  resolveLoginThrottlePolicy,
  lockDelayMs,
} from "./policy.ts";
export type { CheckResult, FailureResult } from "./state.ts";
export type { LoginThrottleStore } from "./store.ts";
export { type ThrottleKeys, normalizeEmail, throttleKeys } from "./keys.ts";
export {
  type MemoryLoginThrottleStore,
  type MemoryLoginThrottleStoreOptions,
  createMemoryLoginThrottleStore,
} from "./memory-store.ts";
export {
  type RedisScriptClient,
  type RedisLoginThrottleStoreOptions,
  createRedisLoginThrottleStore,
} from "./redis-store.ts";
