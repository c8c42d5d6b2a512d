/**
 * Roles → permissions. A role table is compiled into a resolver whose `permissionsFor(roles)` answers
 * with a compiled set, memoised per distinct role combination (users share a handful of combinations),
 * so the per-request cost is one map lookup. Roles are managed at run time: `update()` swaps the table
 * and drops every memoised set at once.
 */
import { RampartError } from "../errors.ts";
import { matches, parsePermission, parseRequiredPermission } from "./permission.ts";
import { compilePermissions, type PermissionSet } from "./permission-set.ts";

export type RoleTable = Readonly<Record<string, readonly string[]>>;

export const BUILTIN_ROLES: RoleTable = Object.freeze({
  admin: Object.freeze(["*"]),
  user: Object.freeze(["notes:read", "notes:write", "tokens:manage", "profile:read"]),
});

/** Every permission the reference server checks. Apps add their own to the catalogue they pass. */
export const KNOWN_PERMISSIONS: readonly string[] = Object.freeze([
  "users:admin",
  "roles:admin",
  "audit:read",
  "metrics:read",
  "notes:read",
  "notes:write",
  "notes:read:any",
  "notes:write:any",
  "tokens:manage",
  "profile:read",
  "clients:admin",
]);

const ROLE_NAME = /^[a-z][a-z0-9_-]{0,63}$/;
/** Distinct role combinations are few; past this the memo is cleared rather than grown. */
const MEMO_LIMIT = 1024;

export interface RoleResolver {
  /** The compiled permissions of a user holding these roles. Unknown role names grant nothing. */
  permissionsFor(roleNames: readonly string[]): PermissionSet;
  /** Replaces the table (validated first; on error the old table stays) and forgets memoised sets. */
  update(table: RoleTable): void;
  /** The current table. */
  table(): RoleTable;
}

/**
 * Validates a role table: role names `[a-z][a-z0-9_-]*`, every permission well-formed.
 * @throws RampartError RAMPART_ERR_VALIDATION naming the role and the permission.
 */
export function validateRoleTable(table: RoleTable): RoleTable {
  const copy: Record<string, readonly string[]> = {};
  for (const [name, permissions] of Object.entries(table)) {
    if (!ROLE_NAME.test(name)) {
      throw new RampartError("RAMPART_ERR_VALIDATION", { detail: `invalid role name ${JSON.stringify(name)}` });
    }
    if (!Array.isArray(permissions)) {
      throw new RampartError("RAMPART_ERR_VALIDATION", { detail: `role "${name}": permissions must be an array` });
    }
    for (const p of permissions) {
      try {
        parsePermission(p);
      } catch (cause) {
        const detail = cause instanceof RampartError ? cause.detail : String(cause);
        throw new RampartError("RAMPART_ERR_VALIDATION", { detail: `role "${name}": ${detail}`, cause });
      }
    }
    copy[name] = Object.freeze([...permissions]);
  }
  return Object.freeze(copy);
}

/**
 * @throws RampartError RAMPART_ERR_VALIDATION when the table is invalid.
 * @example createRoleResolver().permissionsFor(["user"]).has("notes:read") // true
 */
export function createRoleResolver(initial: RoleTable = BUILTIN_ROLES): RoleResolver {
  let table = validateRoleTable(initial);
  // Two maps so a single stored role name can never collide with a combination's key.
  let single = new Map<string, PermissionSet>();
  let combined = new Map<string, PermissionSet>();

  const compile = (roleNames: readonly string[]) =>
    compilePermissions(roleNames.flatMap((name) => (Object.hasOwn(table, name) ? (table[name] ?? []) : [])));

  return {
    permissionsFor(roleNames) {
      const memo = roleNames.length === 1 ? single : combined;
      const key = roleNames.length === 1 ? (roleNames[0] as string) : JSON.stringify([...new Set(roleNames)].sort());
      let set = memo.get(key);
      if (!set) {
        set = compile(roleNames);
        if (memo.size >= MEMO_LIMIT) memo.clear();
        memo.set(key, set);
      }
      return set;
    },
    update(next) {
      table = validateRoleTable(next);
      single = new Map();
      combined = new Map();
    },
    table: () => table,
  };
}

/**
 * Whether some role could ever grant `permission`. With `admin: ["*"]` everything is technically
 * grantable, so that check would catch nothing; instead a permission is grantable when
 * - a role grants it through a grant that names its resource (`notes:read`, `notes:*`): grants whose
 *   resource is `*` (`*`, `*:read`) say nothing about which resources exist, so they are ignored; or
 * - it is in the app's catalogue of known permissions.
 * This is what makes a typo like `note:read` on a route a start-up error instead of a route only admins
 * can ever call. (An action typo under a resource some role grants with `notes:*` is not caught.)
 */
export function isGrantable(
  permission: string,
  roles: RoleTable,
  knownPermissions: readonly string[] = KNOWN_PERMISSIONS,
): boolean {
  const required = parseRequiredPermission(permission);
  if (knownPermissions.includes(required.text)) return true;
  return Object.values(roles).some((grants) =>
    grants.some((text) => {
      const grant = parsePermission(text);
      return grant.segments[0] !== "*" && matches(grant, required);
    }),
  );
}

/**
 * Route-registration check (see {@link isGrantable}).
 * @throws RampartError RAMPART_ERR_VALIDATION when the permission is malformed, RAMPART_ERR_INTERNAL
 * (a start-up error; `reason` names the permission) when no role and no catalogue entry could grant it.
 */
export function assertGrantable(
  permission: string,
  roles: RoleTable,
  knownPermissions: readonly string[] = KNOWN_PERMISSIONS,
): void {
  if (!isGrantable(permission, roles, knownPermissions)) {
    throw new RampartError("RAMPART_ERR_INTERNAL", {
      reason: `permission ${JSON.stringify(permission)} is granted by no role and is not a known permission (typo?)`,
    });
  }
}
