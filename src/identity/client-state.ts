/**
 * What the pipeline needs to know about a service client on every request — does it still exist, and
 * what may each of its granted scope sets do — answered from memory. Loaded from storage on a miss and
 * dropped when the client is deleted (`invalidate`, here and through the broadcast on every instance),
 * so a deleted client's tokens are refused on the very next request. Absence is cached too: client ids
 * are random and never reused, so "no such client" cannot become false later, and a dead client's
 * tokens then cost no query.
 */
import { compilePermissions, intersect, parsePermission, type PermissionSet } from "../core/authz/index.ts";
import { Lru } from "../core/lru.ts";
import type { Repositories } from "../store/index.ts";

export interface ClientState {
  id: string;
  name: string;
  scopes: readonly string[];
  /** The compiled permissions of a granted scope string (a token's `scope` claim), memoised. */
  permissionsFor(scope: string): PermissionSet;
}

export interface ClientStateCache {
  get(clientId: string): ClientState | undefined | Promise<ClientState | undefined>;
  /** Straight from storage, bypassing and not filling the cache (while changes may have been missed). */
  load(clientId: string): Promise<ClientState | undefined>;
  invalidate(clientId?: string): void;
}

const ABSENT = Symbol("absent");
/** Distinct scope strings per client are few; past this the memo is cleared rather than grown. */
const MEMO_LIMIT = 64;

export function createClientStateCache(repos: Pick<Repositories, "serviceClients">, maxEntries = 10_000): ClientStateCache {
  let cache = new Lru<ClientState | typeof ABSENT>(maxEntries);
  const load = async (clientId: string): Promise<ClientState | undefined> => {
    const client = await repos.serviceClients.findById(clientId);
    return client ? stateOf(client) : undefined;
  };
  return {
    get(clientId) {
      const hit = cache.get(clientId);
      if (hit === ABSENT) return undefined;
      if (hit) return hit;
      return load(clientId).then((state) => {
        cache.set(clientId, state ?? ABSENT);
        return state;
      });
    },
    load,
    invalidate(clientId) {
      if (clientId === undefined) cache = new Lru<ClientState | typeof ABSENT>(maxEntries);
      else cache.delete(clientId);
    },
  };
}

function stateOf(client: { id: string; name: string; scopes: readonly string[] }): ClientState {
  const memo = new Map<string, PermissionSet>();
  const own = compilePermissions(client.scopes);
  return {
    id: client.id,
    name: client.name,
    scopes: Object.freeze([...client.scopes]),
    permissionsFor(scope) {
      let set = memo.get(scope);
      if (!set) {
        // Its scopes ARE its permissions: the token's scopes, never beyond the client's own.
        set = intersect(own, compilePermissions(scope.split(" ").filter(wellFormed)));
        if (memo.size >= MEMO_LIMIT) memo.clear();
        memo.set(scope, set);
      }
      return set;
    },
  };
}

function wellFormed(scope: string): boolean {
  try {
    parsePermission(scope);
    return true;
  } catch {
    return false;
  }
}
