/**
 * The checks handlers and the authorize stage call. Route level: `requirePermissions` (403). Object level:
 * `can` / `authorizeObject`: the owner may do `type:action` when they hold it; anyone else needs
 * `type:action:any`. Refusals of objects are 404, not 403, so a caller cannot probe which ids exist.
 */
import { RampartError } from "../errors.ts";
import { isScoped, type PermissionSet } from "./permission-set.ts";

/** Who acts: `{ id }`, or the pipeline's `request.rampart.principal` (`{ userId }`) as it is. */
export type Principal = ({ readonly id: string } | { readonly userId: string }) & {
  /** From `RoleResolver.permissionsFor`, or `intersect(...)` for an API token. */
  readonly permissions: PermissionSet;
};

const idOf = (principal: Principal): string => ("userId" in principal ? principal.userId : principal.id);

export interface OwnedResource {
  /** The permission resource segment, e.g. `notes`. */
  readonly type: string;
  readonly ownerId: string;
}

/**
 * Whether `principal` may do `action` on `resource`.
 * @example can(alice, "read", { type: "notes", ownerId: bob.id }) // needs notes:read:any
 */
export function can(principal: Principal, action: string, resource: OwnedResource): boolean {
  const { permissions } = principal;
  // `:any` is a superset of own: a role granted only `notes:read:any` can still read its own notes.
  if (permissions.has(`${resource.type}:${action}:any`)) return true;
  return resource.ownerId === idOf(principal) && permissions.has(`${resource.type}:${action}`);
}

/**
 * Returns the resource when `principal` may do `action` on it.
 * @throws RampartError RAMPART_ERR_NOT_FOUND when it is missing or not allowed: the same answer for both,
 * so existence does not leak.
 * @example const note = authorizeObject(principal, "write", await notes.find(id));
 */
export function authorizeObject<R extends OwnedResource>(
  principal: Principal,
  action: string,
  resource: R | null | undefined,
): R {
  if (resource == null || !can(principal, action, resource)) {
    throw new RampartError("RAMPART_ERR_NOT_FOUND", {
      reason: resource == null ? "no such object" : `principal ${idOf(principal)} may not ${action} this ${resource.type} object`,
    });
  }
  return resource;
}

/**
 * Route-level check: every required permission must be held.
 * @throws RampartError RAMPART_ERR_FORBIDDEN when the principal (or a token's owner) lacks one;
 * RAMPART_ERR_INSUFFICIENT_SCOPE when the owner holds all of them but the token's scopes exclude one, so
 * the HTTP layer can answer `WWW-Authenticate: Bearer error="insufficient_scope"` (RFC 6750 §3.1).
 */
export function requirePermissions(principal: Principal, required: readonly string[]): void {
  const { permissions } = principal;
  let scopeMissing: string | undefined;
  for (const permission of required) {
    if (permissions.has(permission)) continue;
    // FORBIDDEN wins: a wider token would not help someone whose owner lacks the permission.
    if (!isScoped(permissions) || !permissions.owner.has(permission)) {
      throw new RampartError("RAMPART_ERR_FORBIDDEN", { reason: `missing permission ${permission}` });
    }
    scopeMissing ??= permission;
  }
  if (scopeMissing !== undefined) {
    throw new RampartError("RAMPART_ERR_INSUFFICIENT_SCOPE", {
      reason: `token scopes exclude ${scopeMissing}`,
      extensions: { scope: required.join(" ") },
    });
  }
}
