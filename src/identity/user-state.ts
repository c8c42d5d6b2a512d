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
  invalidate(userId?: string): void;
}

export function createUserStateCache(repos: Repositories, roles: RoleResolver, maxEntries = 50_000): UserStateCache {
  let cache = new Lru<UserState>(maxEntries);
  return {
    get(userId) {
      const hit = cache.get(userId);
      if (hit) return hit;
      return repos.users.findById(userId).then((user) => {
        if (!user) return undefined;
        const state: UserState = {
          id: user.id,
          email: user.email,
          disabled: user.disabled,
          roles: user.roles,
          permissions: roles.permissionsFor(user.roles),
        };
        cache.set(userId, state);
        return state;
      });
    },
    invalidate(userId) {
      if (userId === undefined) cache = new Lru<UserState>(maxEntries);
      else cache.delete(userId);
    },
  };
}
