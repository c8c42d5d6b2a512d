/**
 * Route declarations, checked when each route is registered: the one place a route states who may
 * call it. Undeclared means "authenticated caller required" (deny by default); `auth: "public"` must be
 * said out loud. A permission no role and no catalogue entry could grant (a typo like `note:read`) stops
 * start-up with the method and URL named. The resulting table feeds `rampart routes` and OpenAPI.
 */
import type { RouteOptions } from "fastify";
import { assertGrantable, BUILTIN_ROLES, KNOWN_PERMISSIONS, type RoleTable } from "../core/authz/index.ts";
import { RampartError } from "../core/errors.ts";
import type { CredentialKind, RouteSecurityFields } from "./request-state.ts";

export interface RouteEntry {
  method: string;
  url: string;
  auth: "public" | "required";
  credentials: readonly CredentialKind[];
  permissions: readonly string[];
  limits: string;
}

const ALL_CREDENTIALS: readonly CredentialKind[] = ["bearer", "api-token", "cookie"];
const SECURITY_SCHEME: Record<CredentialKind, string> = { bearer: "bearerAuth", "api-token": "apiToken", cookie: "cookieSession" };

export class RouteDeclarationError extends Error {
  constructor(route: string, problem: string) {
    super(`route ${route}: ${problem}`);
    this.name = "RouteDeclarationError";
  }
}

const DECLARATION_KEYS = new Set(["auth", "credentials", "produces", "permissions", "limits"]);

export interface RouteRegistryOptions {
  /** Permissions routes may require although no role grants them (the app's catalogue). */
  knownPermissions?: readonly string[] | undefined;
  /** The roles whose grants make a permission grantable; default the built-ins. */
  roles?: RoleTable | undefined;
}

/** Marks a route whose declaration this registry checked; a route without it never serves (see authenticate). */
export const CHECKED = "rampartChecked";

export function createRouteRegistry(options: RouteRegistryOptions = {}) {
  const knownPermissions = options.knownPermissions ?? KNOWN_PERMISSIONS;
  const roles = options.roles ?? BUILTIN_ROLES;
  const table: RouteEntry[] = [];

  function onRoute(route: RouteOptions): void {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const name = `${methods.join(",")} ${route.url}`;
    const security = checkDeclaration(name, route.config?.rampart, { knownPermissions, roles });
    const credentials = security.credentials ?? ALL_CREDENTIALS;
    const permissions = security.permissions ?? [];
    const auth = security.auth ?? "required";
    if (route.url !== "*" && (route.schema as { hide?: boolean } | undefined)?.hide !== true) {
      // OpenAPI 3.1 allows role names in non-OAuth security requirements (§4.8.30): we list permissions.
      route.schema = {
        ...route.schema,
        security: auth === "public" ? [] : credentials.map((kind) => ({ [SECURITY_SCHEME[kind]]: [...permissions] })),
      } as RouteOptions["schema"];
    }
    route.config = { ...route.config, [CHECKED]: true };
    const limits =
      security.limits === false
        ? "route limits off"
        : (security.limits ?? []).map((l) => (typeof l === "string" ? l : `${l.policy} by ${l.key}`)).join(", ");
    // HEAD twins of GET routes (exposeHeadRoutes) would only repeat the GET row; internal routes no client can name are not listed.
    if (route.config?.rampartInternal === true) return;
    for (const method of methods) if (method !== "HEAD") table.push({ method, url: route.url, auth, credentials, permissions, limits });
  }

  return { onRoute, table: () => [...table].sort((a, b) => a.url.localeCompare(b.url) || a.method.localeCompare(b.method)) };
}

/**
 * Every check a declaration must pass, for the registry here and for adapters that take declarations
 * outside Fastify's `onRoute` (rampart/express's `rampart.route()`): its shape, each permission
 * grantable by some role or catalogue entry, and no permissions on a public route. `name` says where
 * the declaration is (method and URL) in the error.
 * @throws RouteDeclarationError naming the route and the key.
 */
export function checkDeclaration(name: string, declared: unknown, options: RouteRegistryOptions = {}): RouteSecurityFields {
  const security = checkShape(name, declared);
  for (const permission of security.permissions ?? []) {
    try {
      assertGrantable(permission, options.roles ?? BUILTIN_ROLES, options.knownPermissions ?? KNOWN_PERMISSIONS);
    } catch (error) {
      const why = error instanceof RampartError ? (error.reason ?? error.detail) : (error as Error).message;
      throw new RouteDeclarationError(name, `permissions: ${why}`);
    }
  }
  if (security.auth === "public" && (security.permissions ?? []).length > 0) {
    throw new RouteDeclarationError(name, "permissions: a public route cannot require permissions");
  }
  return security;
}

/**
 * Fails closed on the shape of a declaration: a misspelt key (`permisions`) or a wrong value must stop
 * start-up, never leave a route weaker than its author meant. (TypeScript catches most of these at
 * compile time; JavaScript callers and casts get this.)
 */
function checkShape(name: string, declared: unknown): RouteSecurityFields {
  if (declared === undefined) return {};
  if (declared === null || typeof declared !== "object" || Array.isArray(declared)) {
    throw new RouteDeclarationError(name, "config.rampart must be an object like { auth, permissions, limits }");
  }
  const security = declared as Record<string, unknown>;
  for (const key of Object.keys(security)) {
    if (!DECLARATION_KEYS.has(key)) {
      const close = [...DECLARATION_KEYS].find((known) => similar(known, key));
      throw new RouteDeclarationError(name, `unknown key "${key}" in config.rampart${close ? ` (did you mean "${close}"?)` : ""}`);
    }
  }
  const { auth, credentials, permissions, limits, produces } = security;
  if (auth !== undefined && auth !== "public" && auth !== "required") {
    throw new RouteDeclarationError(name, `auth: must be "public" or "required", got ${JSON.stringify(auth)}`);
  }
  if (credentials !== undefined) {
    if (!Array.isArray(credentials) || credentials.length === 0) throw new RouteDeclarationError(name, "credentials: must be a non-empty array");
    for (const kind of credentials) {
      if (!ALL_CREDENTIALS.includes(kind)) throw new RouteDeclarationError(name, `credentials: unknown credential kind ${JSON.stringify(kind)}`);
    }
  }
  if (permissions !== undefined && (!Array.isArray(permissions) || !permissions.every((p) => typeof p === "string"))) {
    throw new RouteDeclarationError(name, "permissions: must be an array of permission strings");
  }
  if (produces !== undefined && (!Array.isArray(produces) || !produces.every((p) => typeof p === "string"))) {
    throw new RouteDeclarationError(name, "produces: must be an array of media types");
  }
  if (limits !== undefined && limits !== false) {
    const valid =
      Array.isArray(limits) &&
      limits.every(
        (l) =>
          typeof l === "string" ||
          (l !== null && typeof l === "object" && typeof l.policy === "string" && (l.key === "ip" || l.key === "principal") && Object.keys(l).length === 2),
      );
    if (!valid) throw new RouteDeclarationError(name, 'limits: must be false or an array of policies ("10/minute" or { policy, key: "ip" | "principal" })');
  }
  return security as RouteSecurityFields;
}

/** One edit apart, or the same letters: enough to suggest the key meant. */
function similar(a: string, b: string): boolean {
  if (Math.abs(a.length - b.length) > 2) return false;
  const rows = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) (rows[0] as number[])[j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const row = rows[i] as number[];
      const prev = rows[i - 1] as number[];
      row[j] = Math.min((prev[j] as number) + 1, (row[j - 1] as number) + 1, (prev[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
  }
  return ((rows[a.length] as number[])[b.length] as number) <= 2;
}

export function formatRouteTable(entries: readonly RouteEntry[]): string {
  const rows = entries.map((e) => [
    e.method,
    e.url,
    e.auth === "public" ? "public" : e.credentials.join("|"),
    e.permissions.join(" ") || "-",
    e.limits || "-",
  ]);
  const header = ["METHOD", "PATH", "AUTH", "PERMISSIONS", "ROUTE LIMITS"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  return [header, ...rows].map((r) => r.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join("  ").trimEnd()).join("\n");
}
