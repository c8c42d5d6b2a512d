/**
 * The one bounded least-recently-used map of Rampart (rate-limit buckets, login back-off, verified
 * tokens, user state): keys an attacker chooses can never grow memory past the bound.
 *
 * A `Map` for lookup plus a doubly linked list for recency: a `Map` for lookup plus a doubly linked list for recency, so every
 * operation is O(1) and nothing is ever iterated.
 *
 * Why not a bare `Map` re-inserted on use, evicting `map.keys().next()`: V8 leaves deleted entries as holes
 * at the front of a Map's table until it rehashes, and every fresh iterator walks past them, so each eviction
 * costs O(size) (measured here: 1M inserts under a 100k bound, 59 s). Keeping one live iterator instead
 * makes V8 retain every obsolete table until that iterator moves (measured: +100 MB per 2M updates).
 */

interface Node<V> {
  readonly key: string;
  value: V;
  older: Node<V> | undefined;
  newer: Node<V> | undefined;
}

export class Lru<V> {
  readonly #nodes = new Map<string, Node<V>>();
  readonly #maxSize: number;
  #oldest: Node<V> | undefined;
  #newest: Node<V> | undefined;

  constructor(maxSize: number) {
    if (!Number.isInteger(maxSize) || maxSize < 1) throw new TypeError('"maxKeys" must be an integer >= 1');
    this.#maxSize = maxSize;
  }

  get size(): number {
    return this.#nodes.size;
  }

  /** Reads and makes the entry the most recent. */
  get(key: string): V | undefined {
    const node = this.#nodes.get(key);
    if (!node) return undefined;
    if (node !== this.#newest) {
      this.#unlink(node);
      node.older = this.#newest;
      if (this.#newest) this.#newest.newer = node;
      else this.#oldest = node;
      this.#newest = node;
    }
    return node.value;
  }

  /** Reads without making the entry more recent. */
  peek(key: string): V | undefined {
    return this.#nodes.get(key)?.value;
  }

  /** Stores `value` as the most recent entry; returns the least recent one if it was evicted for room. */
  set(key: string, value: V): { readonly key: string; readonly value: V } | undefined {
    let node = this.#nodes.get(key);
    if (node) {
      node.value = value;
      this.#unlink(node);
    } else {
      node = { key, value, older: undefined, newer: undefined };
      this.#nodes.set(key, node);
    }
    node.older = this.#newest;
    if (this.#newest) this.#newest.newer = node;
    else this.#oldest = node;
    this.#newest = node;
    if (this.#nodes.size <= this.#maxSize) return undefined;
    const evicted = this.#oldest!;
    this.delete(evicted.key);
    return evicted;
  }

  /** The least recently used entry, if any. */
  oldest(): { readonly key: string; readonly value: V } | undefined {
    return this.#oldest;
  }

  delete(key: string): void {
    const node = this.#nodes.get(key);
    if (!node) return;
    this.#nodes.delete(key);
    this.#unlink(node);
  }

  clear(): void {
    this.#nodes.clear();
    this.#oldest = this.#newest = undefined;
  }

  #unlink(node: Node<V>): void {
    if (node.older) node.older.newer = node.newer;
    else this.#oldest = node.newer;
    if (node.newer) node.newer.older = node.older;
    else this.#newest = node.older;
    node.older = node.newer = undefined;
  }
}
