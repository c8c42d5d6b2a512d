export { type Permission, parsePermission, parseRequiredPermission, matches, covers, meet, MAX_SEGMENTS } from "./permission.ts";
export {
  type PermissionSet,
  type ScopedPermissionSet,
  compilePermissions,
  intersect,
  isScoped,
} from "./permission-set.ts";
export {
  type RoleTable,
  type RoleResolver,
  BUILTIN_ROLES,
  KNOWN_PERMISSIONS,
  createRoleResolver,
  validateRoleTable,
  isGrantable,
  assertGrantable,
} from "./roles.ts";
export { type Principal, type OwnedResource, can, authorizeObject, requirePermissions } from "./can.ts";
