/**
 * Turns a schema-valid config into the frozen `ResolvedConfig` the rest of Rampart reads: derived
 * defaults (production turns HTTPS enforcement on and registration off), strings parsed into typed
 * values (CIDRs, origins), and the cross-field rules a schema cannot say. Problems become ConfigError.
 */
import { readFileSync } from "node:fs";
import { InvalidProxyEntryError, parseTrustedProxies, type TrustedProxies } from "../core/client.ts";
import { type HostMatcher, InvalidHostEntryError, parseAllowedHosts } from "../core/hosts.ts";
import { parsePolicy } from "../core/ratelimit/policy.ts";
import { isClusterUrl, parseClusterUrl } from "../core/redis.ts";
import type { ConfigInput } from "./schema.ts";
import { ConfigError, type ConfigIssue } from "./errors.ts";

export interface ResolvedConfig extends Omit<ConfigInput, "registration" | "https" | "logging"> {
  readonly production: boolean;
  readonly registration: "open" | "closed";
  /** True when registration was left to its default rather than chosen. */
  readonly registrationDefaulted: boolean;
  readonly https: ConfigInput["https"] & { readonly enforce: boolean; readonly tls?: { cert: string; key: string } };
  readonly logging: { readonly level: ConfigInput["logging"]["level"]; readonly pretty: boolean };
  readonly proxies: TrustedProxies;
  readonly hosts: HostMatcher;
}

const ORIGIN = /^https?:\/\/(\[[0-9a-f:.]+\]|[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*)(:\d{1,5})?$/;

export function resolveConfig(input: ConfigInput): ResolvedConfig {
  const issues: ConfigIssue[] = [];
  const production = input.env === "production";

  let proxies: TrustedProxies = parseTrustedProxies([]);
  try {
    proxies = parseTrustedProxies(input.trustedProxies);
  } catch (error) {
    if (!(error instanceof InvalidProxyEntryError)) throw error;
    issues.push({ key: `/trustedProxies/${error.index}`, message: error.message });
  }

  let hosts: HostMatcher = parseAllowedHosts([]);
  try {
    hosts = parseAllowedHosts(input.allowedHosts);
  } catch (error) {
    if (!(error instanceof InvalidHostEntryError)) throw error;
    issues.push({ key: `/allowedHosts/${error.index}`, message: error.message });
  }

  // Node refuses a header timeout longer than the request timeout (it could never fire).
  if (input.timeouts.headersSeconds > input.timeouts.requestSeconds) {
    issues.push({ key: "/timeouts/headersSeconds", message: `must be at most timeouts.requestSeconds (${input.timeouts.requestSeconds})` });
  }

  input.cors.origins.forEach((origin, index) => {
    if (origin === "*") {
      if (input.cors.credentials) {
        issues.push({
          key: `/cors/origins/${index}`,
          message: 'wildcard origin "*" together with credentials lets any site act as the user; list exact origins',
        });
      }
    } else if (!ORIGIN.test(origin)) {
      issues.push({
        key: `/cors/origins/${index}`,
        message: `expected an exact origin like https://app.example.com (scheme, host, optional port; lowercase; no path), got "${origin}"`,
      });
    }
  });

  const { certFile, keyFile } = input.https;
  let tls: { cert: string; key: string } | undefined;
  if (Boolean(certFile) !== Boolean(keyFile)) {
    issues.push({ key: certFile ? "/https/keyFile" : "/https/certFile", message: "native TLS needs both certFile and keyFile" });
  } else if (certFile && keyFile) {
    tls = { cert: readPem(certFile, "/https/certFile", issues), key: readPem(keyFile, "/https/keyFile", issues) };
  }

  if (input.tokens.algorithm === "HS256") {
    const secret = input.tokens.hs256Secret ?? "";
    if (Buffer.byteLength(secret) < 32) {
      issues.push({ key: "/tokens/hs256Secret", message: "HS256 needs a secret of at least 32 bytes (256 bits); prefer EdDSA" });
    }
  }
  for (const group of ["perIp", "perPrincipal", "login", "register"] as const) {
    input.rateLimit[group].forEach((spec, index) => {
      try {
        parsePolicy("check", spec);
      } catch (error) {
        issues.push({ key: `/rateLimit/${group}/${index}`, message: (error as Error).message.replace(/^rate-limit policy "check": /, "") });
      }
    });
  }
  if (input.redisUrl && isClusterUrl(input.redisUrl)) {
    try {
      parseClusterUrl(input.redisUrl);
    } catch (error) {
      issues.push({ key: "/redisUrl", message: (error as Error).message });
    }
  }
  if (input.passwords.minLength > input.passwords.maxLength) {
    issues.push({ key: "/passwords/minLength", message: `must not exceed passwords.maxLength (${input.passwords.maxLength})` });
  }
  // WebAuthn §5.1.4.1: an RP ID must be the origin's effective domain or a registrable suffix of it.
  input.webauthn.origins.forEach((origin, index) => {
    const match = ORIGIN.exec(origin);
    const host = match?.[1];
    if (!host) {
      issues.push({ key: `/webauthn/origins/${index}`, message: `expected an exact origin like https://app.example.com, got "${origin}"` });
    } else if (host !== input.webauthn.rpId && !host.endsWith(`.${input.webauthn.rpId}`)) {
      issues.push({ key: `/webauthn/origins/${index}`, message: `host "${host}" is not webauthn.rpId ("${input.webauthn.rpId}") or a subdomain of it` });
    }
  });

  if (issues.length > 0) throw new ConfigError(issues);

  return deepFreeze({
    ...input,
    production,
    registration: input.registration ?? (production ? "closed" : "open"),
    registrationDefaulted: input.registration === undefined,
    https: { ...input.https, enforce: input.https.enforce ?? production, ...(tls ? { tls } : {}) },
    logging: { level: input.logging.level, pretty: input.logging.pretty ?? (!production && Boolean(process.stdout.isTTY)) },
    proxies,
    hosts,
  });
}

function readPem(path: string, key: string, issues: ConfigIssue[]): string {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    issues.push({ key, message: `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? "error"}` });
    return "";
  }
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) if (typeof child !== "function") deepFreeze(child);
  }
  return value;
}
