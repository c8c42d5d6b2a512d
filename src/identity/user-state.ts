/**
 * What the pipeline needs to know about a user on every request — enabled? which roles and so which
 * permissions right now? — answered from memory. Loaded from storage on a miss and dropped the moment
 * an admin changes the user (`invalidate`), so a removed role or a disabled account takes effect on the
 * very next request, whatever the access token's `roles` claim says.
 */
import type { PermissionSet } from "../core/authz/index.ts";
import type { RoleResolver } from "../core/authz/roles.ts";
import { Lru } from "../core/lru.ts";
import type { Repositories } from "../store/index.ts";

export interface UserState {
  id: string;
  email: string;
  disabled: boolean;
  roles: readonly string[];
  permissions: PermissionSet;
}

export interface UserStateCache {
  get(userId: string): UserState | undefined | Promise<UserState | undefined>;
  /** Straight from storage, bypassing and not filling the cache (while changes may have been missed). */
  load(userId: string): Promise<UserState | undefined>;
  /** The cached state only: never a storage read. */
  peek(userId: string): UserState | undefined;
  invalidate(userId?: string): void;
}

export function createUserStateCache(repos: Repositories, roles: RoleResolver, maxEntries = 50_000): UserStateCache {
  let cache = new Lru<UserState>(maxEntries);
  const load = async (userId: string): Promise<UserState | undefined> => {
    const user = await repos.users.findById(userId);
    if (!user) return undefined;
    return { id: user.id, email: user.email, disabled: user.disabled, roles: user.roles, permissions: roles.permissionsFor(user.roles) };
  };
  return {
    get(userId) {
      const hit = cache.get(userId);
      if (hit) return hit;
      return load(userId).then((state) => {
        if (state) cache.set(userId, state);
        return state;
      });
    },
    load,
    peek: (userId) => cache.get(userId),
    invalidate(userId) {
      if (userId === undefined) cache = new Lru<UserState>(maxEntries);
      else cache.delete(userId);
    },
  };
}
