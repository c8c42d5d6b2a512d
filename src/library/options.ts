/**
 * The plugin's options, checked once before anything opens: every setting of the config file (same
 * schema, same messages naming the key), plus `roles`, `identity` and `verify`. Anything wrong stops
 * start-up with a RampartOptionsError listing each problem by its key; nothing is defaulted silently.
 */
import { ConfigError, type ConfigIssue } from "../config/errors.ts";
import { validateConfig } from "../config/load.ts";
import { type ResolvedConfig, resolveConfig } from "../config/resolve.ts";
import type { ConfigInput } from "../config/schema.ts";
import { BUILTIN_ROLES, type RoleTable, validateRoleTable } from "../core/authz/index.ts";
import { RampartError } from "../core/errors.ts";
import type { VerifyOptions } from "../verify/layer.ts";

type DeepPartial<T> = T extends readonly (infer U)[] ? readonly U[] : T extends object ? { [K in keyof T]?: DeepPartial<T[K]> } : T;

/** Every setting of the config file (see docs/configuration.md), as an object. */
export type RampartSettings = DeepPartial<Omit<ConfigInput, "host" | "port" | "logging" | "shutdownGraceMs">>;

export interface RampartOptions extends RampartSettings {
  /** Application roles and the permissions they grant, added to the built-ins `admin` and `user`. */
  roles?: Record<string, readonly string[]>;
  /**
   * Where the Identity and admin routes (`/auth/…`, `/admin/…`, `/.well-known/jwks.json`) and the
   * operations routes (`/healthz`, `/readyz`, `/metrics`) are mounted: `{ prefix: "/_rampart" }` moves
   * them under a prefix; `false` mounts none. Default: at the contract's paths. Off in verify-only mode.
   */
  identity?: false | { prefix?: string };
  /** Verify-only mode: accept access tokens issued by a Rampart server; no users, no database here. */
  verify?: VerifyOptions;
}

export interface ParsedOptions {
  config: ResolvedConfig;
  roles: RoleTable;
  identity: false | { prefix: string };
  verify: VerifyOptions | undefined;
  /** Valid settings that belong to the application's own server (host, port, logging, TLS files…): logged, not applied. */
  notApplied: ConfigIssue[];
}

export class RampartOptionsError extends ConfigError {
  constructor(issues: ConfigIssue[]) {
    super(issues);
    this.message = `rampart: invalid options:\n${issues.map((i) => `  ${i.key}: ${i.message}`).join("\n")}`;
    this.name = "RampartOptionsError";
  }
}

const PLUGIN_KEYS = ["roles", "identity", "verify"] as const;

/**
 * Settings of the config file that belong to the application's own Fastify instance. They are checked
 * like every setting (a wrong type is still an error) but cannot take effect from a plugin: each one
 * given is reported at registration, so nobody believes a port or a certificate was applied.
 */
const NOT_FOR_THE_PLUGIN: Record<string, string> = {
  host: "the application listens itself: pass host to app.listen()",
  port: "the application listens itself: pass port to app.listen()",
  logging: "the plugin logs through the application's logger: configure Fastify({ logger })",
  shutdownGraceMs: "the application owns its shutdown: call app.close()",
};

export function parseOptions(input: unknown): ParsedOptions {
  if (input === null || typeof input !== "object" || Array.isArray(input)) {
    throw new RampartOptionsError([{ key: "/", message: "options must be an object" }]);
  }
  const { roles, identity, verify, ...settings } = input as Record<string, unknown>;
  const issues: ConfigIssue[] = [];
  const notApplied: ConfigIssue[] = [];
  for (const [key, why] of Object.entries(NOT_FOR_THE_PLUGIN)) if (key in settings) notApplied.push({ key: `/${key}`, message: why });
  const https = settings.https as Record<string, unknown> | undefined;
  for (const key of ["certFile", "keyFile"]) {
    if (https && typeof https === "object" && key in https) {
      notApplied.push({ key: `/https/${key}`, message: "TLS is the application's: pass it to Fastify({ https: { cert, key } })" });
    }
  }
  const appRoles = parseRoles(roles, issues);
  const mount = parseIdentity(identity, verify !== undefined, issues);
  const verifyOptions = parseVerify(verify, issues);

  let config: ResolvedConfig | undefined;
  try {
    // Validated as given (a wrong type is an error), then resolved without what cannot apply here.
    const valid = validateConfig(settings);
    const { certFile: _cert, keyFile: _key, ...httpsHere } = valid.https;
    config = resolveConfig({ ...valid, https: httpsHere });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    issues.push(...error.issues);
  }
  if (issues.length > 0 || !config) throw new RampartOptionsError(issues);
  if (verifyOptions && config.production && new URL(verifyOptions.jwks).protocol !== "https:") {
    throw new RampartOptionsError([{ key: "/verify/jwks", message: "must be an https:// URL in production (keys fetched in the clear can be swapped)" }]);
  }
  return { config, roles: appRoles, identity: mount, verify: verifyOptions, notApplied };
}

function parseRoles(roles: unknown, issues: ConfigIssue[]): RoleTable {
  if (roles === undefined) return {};
  if (roles === null || typeof roles !== "object" || Array.isArray(roles)) {
    issues.push({ key: "/roles", message: 'must be an object of role name → permissions, e.g. { reader: ["items:read"] }' });
    return {};
  }
  for (const [name, permissions] of Object.entries(roles)) {
    if (name in BUILTIN_ROLES) {
      issues.push({ key: `/roles/${name}`, message: `"${name}" is a built-in role; give your role another name` });
      continue;
    }
    try {
      validateRoleTable({ [name]: permissions as readonly string[] });
    } catch (error) {
      issues.push({ key: `/roles/${name}`, message: error instanceof RampartError ? (error.detail ?? error.message) : String(error) });
    }
  }
  return roles as RoleTable;
}

function parseIdentity(identity: unknown, verifyMode: boolean, issues: ConfigIssue[]): false | { prefix: string } {
  if (identity === false) return false;
  if (identity === undefined) return verifyMode ? false : { prefix: "" };
  if (verifyMode) {
    issues.push({ key: "/identity", message: "verify-only mode has no users, so no identity routes: leave identity out or set it to false" });
    return false;
  }
  if (identity === null || typeof identity !== "object" || Array.isArray(identity)) {
    issues.push({ key: "/identity", message: 'must be false or { prefix: "/…" }' });
    return false;
  }
  const { prefix = "", ...rest } = identity as { prefix?: unknown };
  for (const key of Object.keys(rest)) issues.push({ key: `/identity/${key}`, message: "unknown option (expected prefix)" });
  if (typeof prefix !== "string" || (prefix !== "" && !/^(\/[A-Za-z0-9._~-]+)+$/.test(prefix))) {
    issues.push({ key: "/identity/prefix", message: `must be "" or a path like "/_rampart" (no trailing slash), got ${JSON.stringify(prefix)}` });
    return false;
  }
  return { prefix };
}

function parseVerify(verify: unknown, issues: ConfigIssue[]): VerifyOptions | undefined {
  if (verify === undefined) return undefined;
  if (verify === null || typeof verify !== "object" || Array.isArray(verify)) {
    issues.push({ key: "/verify", message: "must be { jwks, issuer, audience }" });
    return undefined;
  }
  const { jwks, issuer, audience, ...rest } = verify as Record<string, unknown>;
  for (const key of Object.keys(rest)) issues.push({ key: `/verify/${key}`, message: "unknown option (expected jwks, issuer, audience)" });
  let validUrl = false;
  try {
    validUrl = typeof jwks === "string" && ["http:", "https:"].includes(new URL(jwks).protocol);
  } catch {}
  if (!validUrl) issues.push({ key: "/verify/jwks", message: `must be the issuer's JWKS URL (http or https), got ${JSON.stringify(jwks)}` });
  if (typeof issuer !== "string" || issuer === "") issues.push({ key: "/verify/issuer", message: "must be the issuer's tokens.issuer (a non-empty string)" });
  const audienceOk =
    (typeof audience === "string" && audience !== "") ||
    (Array.isArray(audience) && audience.length > 0 && audience.every((a) => typeof a === "string" && a !== ""));
  if (!audienceOk) issues.push({ key: "/verify/audience", message: "must be the issuer's tokens.audience (a string or a non-empty array of strings)" });
  return { jwks: jwks as string, issuer: issuer as string, audience: audience as string | string[] };
}

export { PLUGIN_KEYS };
