/**
 * A Map-based LRU: a `Map` iterates in insertion order, so re-inserting on read keeps the least recently
 * used entry first, and eviction is `keys().next()`. Bounded so that keys an attacker chooses (emails,
 * addresses) can never grow memory without limit.
 */
export class Lru<V> {
  readonly #map = new Map<string, V>();

  constructor(readonly maxKeys: number) {
    if (!Number.isInteger(maxKeys) || maxKeys < 1) throw new TypeError('"maxKeys" must be an integer >= 1');
  }

  get size(): number {
    return this.#map.size;
  }

  get(key: string): V | undefined {
    const value = this.#map.get(key);
    if (value !== undefined) {
      this.#map.delete(key);
      this.#map.set(key, value);
    }
    return value;
  }

  set(key: string, value: V): void {
    this.#map.delete(key);
    this.#map.set(key, value);
    if (this.#map.size > this.maxKeys) this.#map.delete(this.#map.keys().next().value as string);
  }

  delete(key: string): void {
    this.#map.delete(key);
  }

  clear(): void {
    this.#map.clear();
  }
}
