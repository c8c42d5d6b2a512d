/** The rate-limit engine's public surface: each export by name. */
export { decideStack, type StackDecision } from "./decision.ts";
export { emissionIntervalUs, type GcraResult, gcra } from "./gcra.ts";
export {
  type RateLimitHeaders,
  rateLimitHeader,
  rateLimitHeaders,
  rateLimitPolicyHeader,
  retryAfterHeader,
} from "./headers.ts";
export { bucketKey, type ClientKeyOptions, clientKey, keyIdentity, principalKey, scopedKey } from "./keys.ts";
export {
  createRateLimiter,
  limitOutcome,
  type RateLimiter,
  type RateLimiterOptions,
  type RateLimitOutcome,
  rateLimitedError,
} from "./limiter.ts";
export { MemoryRateLimitStore, type MemoryStoreOptions, type MemoryStoreStats } from "./memory-store.ts";
export { definePolicy, type PolicyInput, parsePolicy, type RateLimitPolicy } from "./policy.ts";
export {
  type FailurePolicy,
  type PairDecision,
  RedisRateLimitStore,
  type RedisStoreOptions,
  redisUnavailable,
  type RedisStoreStats,
  type StoreRecoveredEvent,
  type StoreUnavailableEvent,
} from "./redis-store.ts";
export {
  checkRequests,
  isThenable,
  type LimitDecision,
  type LimitRequest,
  type PolicyResult,
  type RateLimitStore,
} from "./store.ts";
