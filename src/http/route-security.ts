/**
 * Route declarations, checked when each route is registered: the one place a route states who may
 * call it. Undeclared means "authenticated caller required" (deny by default); `auth: "public"` must be
 * said out loud. A permission no role and no catalogue entry could grant (a typo like `note:read`) stops
 * start-up with the method and URL named. The resulting table feeds `rampart routes` and OpenAPI.
 */
import type { RouteOptions } from "fastify";
import { assertGrantable, BUILTIN_ROLES, KNOWN_PERMISSIONS } from "../core/authz/index.ts";
import { RampartError } from "../core/errors.ts";
import type { CredentialKind, RouteSecurity } from "./request-state.ts";

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

export function createRouteRegistry(knownPermissions: readonly string[] = KNOWN_PERMISSIONS) {
  const table: RouteEntry[] = [];

  function onRoute(route: RouteOptions): void {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const name = `${methods.join(",")} ${route.url}`;
    const security: RouteSecurity = route.config?.rampart ?? {};
    if (security.auth !== undefined && security.auth !== "public" && security.auth !== "required") {
      throw new RouteDeclarationError(name, `auth must be "public" or "required", got ${JSON.stringify(security.auth)}`);
    }
    const credentials = security.credentials ?? ALL_CREDENTIALS;
    for (const kind of credentials) {
      if (!ALL_CREDENTIALS.includes(kind)) throw new RouteDeclarationError(name, `unknown credential kind ${JSON.stringify(kind)}`);
    }
    const permissions = security.permissions ?? [];
    for (const permission of permissions) {
      try {
        assertGrantable(permission, BUILTIN_ROLES, knownPermissions);
      } catch (error) {
        const why = error instanceof RampartError ? (error.reason ?? error.detail) : (error as Error).message;
        throw new RouteDeclarationError(name, why);
      }
    }
    if (security.auth === "public" && permissions.length > 0) {
      throw new RouteDeclarationError(name, "a public route cannot require permissions");
    }
    const auth = security.auth ?? "required";
    if (route.url !== "*" && (route.schema as { hide?: boolean } | undefined)?.hide !== true) {
      // OpenAPI 3.1 allows role names in non-OAuth security requirements (§4.8.30): we list permissions.
      route.schema = {
        ...route.schema,
        security: auth === "public" ? [] : credentials.map((kind) => ({ [SECURITY_SCHEME[kind]]: [...permissions] })),
      } as RouteOptions["schema"];
    }
    const limits = security.limits === false ? "route limits off" : (security.limits ?? []).map((l) => `${l.policy} by ${l.key}`).join(", ");
    // HEAD twins of GET routes (exposeHeadRoutes) would only repeat the GET row.
    for (const method of methods) if (method !== "HEAD") table.push({ method, url: route.url, auth, credentials, permissions, limits });
  }

  return { onRoute, table: () => [...table].sort((a, b) => a.url.localeCompare(b.url) || a.method.localeCompare(b.method)) };
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
