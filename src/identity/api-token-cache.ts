/**
 * Verified API tokens by secret hash, so that a CI job hammering the API with one token costs what a
 * cached JWT costs: no storage read per request. Only tokens found valid in storage enter; the owner's
 * state (disabled, roles) is still read from the user cache on every request, and expiry is checked on
 * every hit. Any change to a token or its owner clears the cache on every instance (`clear`, through
 * the "user changed" broadcast), and a lookup that was in flight when it was cleared does not refill it
 * (the generation check): a revoked token is never served from memory.
 */
import { compilePermissions, intersect, type PermissionSet } from "../core/authz/index.ts";
import { Lru } from "../core/lru.ts";
import type { ApiToken } from "../store/repositories/api-tokens.ts";

export interface CachedApiToken {
  readonly id: string;
  readonly userId: string;
  readonly scopes: readonly string[];
  /** Epoch ms; undefined for a token that never expires. */
  readonly expiresAtMs: number | undefined;
  /** What the token's owner may do now through it: the owner's permissions narrowed by the scopes. */
  permissionsFor(owner: PermissionSet): PermissionSet;
}

export interface ApiTokenCache {
  get(secretHash: string): CachedApiToken | undefined;
  /** The generation to pass to `set`: read it BEFORE the storage lookup. */
  readonly generation: number;
  /** Caches a token found valid in storage, unless the cache was cleared since `generation`. */
  set(secretHash: string, token: ApiToken, generation: number): CachedApiToken;
  drop(secretHash: string): void;
  clear(): void;
}

export function createApiTokenCache(maxEntries = 10_000): ApiTokenCache {
  let cache = new Lru<CachedApiToken>(maxEntries);
  let generation = 0;
  return {
    get: (secretHash) => cache.get(secretHash),
    get generation() {
      return generation;
    },
    set(secretHash, token, seen) {
      const cached = verifiedApiToken(token);
      if (seen === generation) cache.set(secretHash, cached);
      return cached;
    },
    drop: (secretHash) => cache.delete(secretHash),
    clear() {
      generation++;
      cache = new Lru<CachedApiToken>(maxEntries);
    },
  };
}

/** The in-memory form of a token found valid in storage (also used uncached). */
export function verifiedApiToken(token: ApiToken): CachedApiToken {
  const scoped = compilePermissions(token.scopes);
  // The owner's permission set is replaced (not mutated) when it changes: one memo per set suffices.
  let memo: { owner: PermissionSet; granted: PermissionSet } | undefined;
  return {
    id: token.id,
    userId: token.userId,
    scopes: Object.freeze([...token.scopes]),
    expiresAtMs: token.expiresAt?.getTime(),
    permissionsFor(owner) {
      if (memo?.owner !== owner) memo = { owner, granted: intersect(owner, scoped) };
      return memo.granted;
    },
  };
}
