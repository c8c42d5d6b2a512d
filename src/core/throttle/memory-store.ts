/**
 * In-process store: one instance, zero services. Pairs and clients live in separate LRUs so a flood of
 * new (email, client) pairs cannot evict the per-client counters that stop that very flood.
 */
import type { ThrottleKeys } from "./keys.ts";
import { Lru } from "../lru.ts";
import type { LoginThrottlePolicy } from "./policy.ts";
import {
  type CheckResult,
  type ClientState,
  clientAfterFailure,
  type FailureResult,
  failureResult,
  live,
  type PairState,
  pairAfterFailure,
  remainingMs,
  verdict,
} from "./state.ts";
import type { LoginThrottleStore } from "./store.ts";

export interface MemoryLoginThrottleStoreOptions {
  /** Most pairs kept, and separately most clients kept; least recently used go first. Default 100 000 each. */
  maxKeys?: number;
}

/** The memory store is synchronous, so the Redis store can fall back to it without an extra tick. */
export interface MemoryLoginThrottleStore extends LoginThrottleStore {
  check(keys: ThrottleKeys, now: number): CheckResult;
  recordFailure(keys: ThrottleKeys, now: number, policy: LoginThrottlePolicy): FailureResult;
  recordSuccess(keys: ThrottleKeys, now: number): boolean;
  close(): void;
  /** Keys held (pairs + clients): for tests and metrics. */
  size(): number;
}

/**
 * Eviction is the price of the bound: an attacker able to create `maxKeys` fresh pairs could push a locked
 * pair out; with the per-client limit that needs about maxKeys / clientMaxFailures addresses.
 * @throws TypeError when `maxKeys` is not an integer >= 1.
 */
export function createMemoryLoginThrottleStore(options: MemoryLoginThrottleStoreOptions = {}): MemoryLoginThrottleStore {
  const maxKeys = options.maxKeys ?? 100_000;
  const pairs = new Lru<PairState>(maxKeys);
  const clients = new Lru<ClientState>(maxKeys);
  const pairKey = (keys: ThrottleKeys) => `${keys.client}:${keys.email}`;

  return {
    check(keys, now) {
      return verdict(remainingMs(pairs.get(pairKey(keys)), now), remainingMs(clients.get(keys.client), now));
    },
    recordFailure(keys, now, policy) {
      const pair = pairAfterFailure(pairs.get(pairKey(keys)), now, policy);
      const client = clientAfterFailure(clients.get(keys.client), now, policy);
      pairs.set(pairKey(keys), pair);
      clients.set(keys.client, client);
      return failureResult(pair.failures, client.failures, remainingMs(pair, now), remainingMs(client, now), policy);
    },
    recordSuccess(keys, now) {
      const key = pairKey(keys);
      const pair = live(pairs.get(key), now);
      if (pair && pair.lockedUntil > now) return false;
      pairs.delete(key);
      return true;
    },
    size: () => pairs.size + clients.size,
    close() {
      pairs.clear();
      clients.clear();
    },
  };
}
