/**
 * A bounded LRU of verified tokens keyed by the exact token string. Only tokens that passed full
 * verification are stored, so garbage cannot fill it; each hit re-checks expiry against the clock.
 * Revocation is deliberately not cached: callers check it on every request.
 */
import { Lru } from "../lru.ts";

interface Entry<V> {
  readonly value: V;
  /** Epoch milliseconds. */
  readonly expiresAt: number;
}

export interface TokenCache<V> {
  get(token: string, now: number): V | undefined;
  set(token: string, value: V, expiresAt: number, now: number): void;
  readonly size: number;
  clear(): void;
}

export function createTokenCache<V>(maxEntries: number): TokenCache<V> {
  if (!Number.isSafeInteger(maxEntries) || maxEntries < 0) throw new TypeError(`"cacheSize" must be a non-negative integer`);
  const entries = maxEntries > 0 ? new Lru<Entry<V>>(maxEntries) : undefined;
  return {
    get(token, now) {
      const entry = entries?.get(token);
      if (entry === undefined) return undefined;
      if (now < entry.expiresAt) return entry.value;
      entries?.delete(token);
      return undefined;
    },
    set(token, value, expiresAt, now) {
      if (now >= expiresAt) return;
      entries?.set(token, { value, expiresAt });
    },
    get size() {
      return entries?.size ?? 0;
    },
    clear: () => entries?.clear(),
  };
}
