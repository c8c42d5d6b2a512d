/**
 * A bounded LRU of verified tokens keyed by the exact token string. Only tokens that passed full
 * verification are stored, so garbage cannot fill it; each hit re-checks expiry against the clock.
 * Revocation is deliberately not cached: callers check it on every request.
 */
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
  const entries = new Map<string, Entry<V>>();
  return {
    get(token, now) {
      const entry = entries.get(token);
      if (entry === undefined) return undefined;
      entries.delete(token);
      if (now >= entry.expiresAt) return undefined;
      // Re-insert the same entry object: recency moves to the end of the Map, nothing is allocated.
      entries.set(token, entry);
      return entry.value;
    },
    set(token, value, expiresAt, now) {
      if (maxEntries === 0 || now >= expiresAt) return;
      entries.delete(token);
      entries.set(token, { value, expiresAt });
      if (entries.size > maxEntries) entries.delete(entries.keys().next().value as string);
    },
    get size() {
      return entries.size;
    },
    clear: () => entries.clear(),
  };
}
