/**
 * In-process GCRA store: one TAT per bucket in a bounded LRU. Bounded, because an attacker who rotates
 * source addresses (trivial over IPv6) would otherwise grow it without limit. Synchronous, so the hot path
 * awaits nothing.
 */
import { decideStack } from "./decision.ts";
import { bucketKey } from "./keys.ts";
import { Lru } from "../lru.ts";
import { checkRequests, type LimitDecision, type LimitRequest, type RateLimitStore } from "./store.ts";

export interface MemoryStoreOptions {
  /** Most buckets held at once (one per key and policy). Default 100,000 (about 20 MB of heap). */
  readonly maxKeys?: number;
  /** Epoch milliseconds. Default `Date.now`; tests inject their own. */
  readonly clock?: () => number;
}

export interface MemoryStoreStats {
  readonly keys: number;
  /** Buckets dropped for room while still holding state: if this grows, raise `maxKeys`. */
  readonly evictions: number;
}

// Per consume, drop at most this many expired buckets from the LRU end: O(1), yet outpaces insertions.
const SWEEP = 4;

export class MemoryRateLimitStore implements RateLimitStore {
  readonly #tats: Lru<number>;
  readonly #clock: () => number;
  #evictions = 0;

  /** @throws TypeError when `maxKeys` is not a positive integer or `clock` not a function. */
  constructor(options: MemoryStoreOptions = {}) {
    const { maxKeys = 100_000, clock = Date.now } = options;
    if (!Number.isSafeInteger(maxKeys) || maxKeys < 1) {
      throw new TypeError(`memory rate-limit store: "maxKeys" option must be an integer >= 1, got ${maxKeys}`);
    }
    if (typeof clock !== "function") throw new TypeError('memory rate-limit store: "clock" option must be a function');
    this.#tats = new Lru(maxKeys);
    this.#clock = clock;
  }

  consume(requests: readonly LimitRequest[]): LimitDecision {
    checkRequests(requests);
    const now = Math.floor(this.#clock() * 1000);
    const buckets: string[] = new Array(requests.length);
    const tats: number[] = new Array(requests.length);
    for (let i = 0; i < requests.length; i++) {
      buckets[i] = bucketKey(requests[i]!.key, requests[i]!.policy);
      // A TAT in the past carries no information (the bucket is full), so a missing bucket reads as 0.
      tats[i] = this.#tats.peek(buckets[i]!) ?? 0;
    }
    const { decision, tats: next } = decideStack(requests, tats, now);
    for (let i = 0; i < buckets.length; i++) {
      // On denial, live buckets are refreshed too: an active abuser's state must not be the first evicted.
      const tat = decision.allowed ? next[i]! : tats[i]!;
      if (tat <= now) {
        this.#tats.delete(buckets[i]!);
        continue;
      }
      const evicted = this.#tats.set(buckets[i]!, tat);
      if (evicted && evicted.value > now) this.#evictions++;
    }
    for (let i = 0, oldest = this.#tats.oldest(); i < SWEEP && oldest && oldest.value <= now; i++, oldest = this.#tats.oldest()) {
      this.#tats.delete(oldest.key);
    }
    return decision;
  }

  stats(): MemoryStoreStats {
    return { keys: this.#tats.size, evictions: this.#evictions };
  }

  close(): Promise<void> {
    this.#tats.clear();
    return Promise.resolve();
  }
}
