/**
 * The deploy checks: what `RAMPART_ENV=production` refuses to start with, and what
 * `rampart check --deploy` lists. Each finding has a stable id, a one-line reason and the fix.
 * Ids are never reused. Later layers add their checks to this one catalogue.
 */
import type { ResolvedConfig } from "./resolve.ts";

export type Severity = "error" | "warning";

export interface Finding {
  id: string;
  severity: Severity;
  reason: string;
  fix: string;
}

/** What the configuration alone cannot tell: a library user's Fastify may terminate TLS itself. */
export interface DeployContext {
  nativeTls?: boolean;
  /** The gateway's compiled policy rules, when `rampart gateway` is being checked. */
  gatewayRules?: readonly { index: number; methods: readonly string[]; path: string; auth: "public" | "required" }[];
}

const LOOPBACK = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])$/i;
const WRITE_METHODS = ["POST", "PUT", "PATCH", "DELETE"];

interface Check {
  id: string;
  severity: Severity;
  applies(config: ResolvedConfig, context: DeployContext): boolean;
  reason: string;
  fix: string;
}

const WEAK_SECRETS = /^(secret|changeme|change-me|password|default|test|example|rampart)+$/i;

export const DEPLOY_CHECKS: readonly Check[] = [
  {
    id: "RAMPART_CHECK_NO_HTTPS",
    severity: "error",
    applies: (c, context) => !c.https.tls && !context.nativeTls && c.proxies.size === 0,
    reason: "no way to know a request came over HTTPS: no TLS certificate and no trusted proxy",
    fix: "set https.certFile and https.keyFile, or list the TLS-terminating proxy in RAMPART_TRUSTED_PROXIES",
  },
  {
    id: "RAMPART_CHECK_HTTPS_NOT_ENFORCED",
    severity: "error",
    applies: (c) => c.https.enforce === false,
    reason: "https.enforce is false: plain-HTTP requests (and the credentials they carry) would be served",
    fix: "remove https.enforce (it defaults to true in production) or set it to true",
  },
  {
    id: "RAMPART_CHECK_NO_ALLOWED_HOSTS",
    severity: "error",
    applies: (c) => c.allowedHosts.length === 0,
    reason: "no allowed hosts: any Host header is accepted, so redirects and absolute URLs could be steered elsewhere",
    fix: "set RAMPART_ALLOWED_HOSTS (or allowedHosts) to the names the API is served under, e.g. api.example.com",
  },
  {
    id: "RAMPART_CHECK_HSTS_OFF",
    severity: "error",
    applies: (c) => !c.https.hsts.enabled || c.https.hsts.maxAgeSeconds < 31536000 || !c.https.hsts.includeSubDomains,
    reason: "HSTS is off, shorter than one year or without includeSubDomains: browsers may be downgraded to HTTP",
    fix: "set https.hsts.enabled: true, maxAgeSeconds >= 31536000 and includeSubDomains: true",
  },
  {
    id: "RAMPART_CHECK_CORS_WILDCARD_CREDENTIALS",
    severity: "error",
    applies: (c) => c.cors.origins.includes("*") && c.cors.credentials,
    reason: "wildcard CORS origin with credentials lets any website act as a logged-in user",
    fix: "list exact origins in cors.origins (RAMPART_CORS_ORIGINS)",
  },
  {
    id: "RAMPART_CHECK_CORS_WILDCARD",
    severity: "warning",
    applies: (c) => c.cors.origins.includes("*"),
    reason: "any website may read this API's responses cross-origin",
    fix: "list exact origins in cors.origins unless the API is meant to be fully public",
  },
  {
    id: "RAMPART_CHECK_REGISTRATION_OPEN_BY_DEFAULT",
    severity: "error",
    applies: (c) => c.registration === "open" && c.registrationDefaulted,
    reason: "self-service registration is open without having been asked for",
    fix: "set RAMPART_REGISTRATION=closed, or =open if anyone may sign up",
  },
  {
    id: "RAMPART_CHECK_WEAK_SECRET",
    severity: "error",
    applies: (c) =>
      c.tokens.algorithm === "HS256" &&
      (Buffer.byteLength(c.tokens.hs256Secret ?? "") < 32 ||
        WEAK_SECRETS.test(c.tokens.hs256Secret ?? "") ||
        new Set(c.tokens.hs256Secret ?? "").size < 16),
    reason: "the HS256 signing secret is short, a placeholder or low in entropy: tokens could be forged",
    fix: "use EdDSA (the default), or generate the secret with `openssl rand -base64 48`",
  },
  {
    id: "RAMPART_CHECK_RATE_LIMIT_OFF",
    severity: "error",
    applies: (c) => !c.rateLimit.enabled,
    reason: "rate limiting is disabled: logins and every route can be hammered",
    fix: "remove rateLimit.enabled: false",
  },
  {
    id: "RAMPART_CHECK_GATEWAY_HS256",
    severity: "error",
    applies: (c) => c.gateway.upstream !== undefined && c.tokens.algorithm === "HS256",
    reason: "the gateway signs X-Rampart-Assertion with the token keys, and HS256 publishes no key the upstream could verify with",
    fix: "use tokens.algorithm EdDSA (the default) or ES256",
  },
  {
    id: "RAMPART_CHECK_GATEWAY_UPSTREAM_CLEARTEXT",
    severity: "warning",
    applies: (c) => {
      if (!c.gateway.upstream?.startsWith("http://")) return false;
      try {
        return !LOOPBACK.test(new URL(c.gateway.upstream).hostname);
      } catch {
        return false;
      }
    },
    reason: "the gateway reaches its upstream over plain HTTP on a network: identity assertions and bodies cross it unencrypted",
    fix: "serve the upstream over https://, or keep it on the same host (127.0.0.1) or a private link only the gateway can reach",
  },
  {
    id: "RAMPART_CHECK_GATEWAY_PUBLIC_WRITE",
    severity: "warning",
    applies: (_c, context) => (context.gatewayRules ?? []).some((r) => r.auth === "public" && r.methods.some((m) => WRITE_METHODS.includes(m))),
    reason: "a policy rule lets anonymous callers change data (a public POST, PUT, PATCH or DELETE)",
    fix: "drop `auth: public` from write rules unless anonymous writes are intended (sign-up forms, webhooks with their own signature)",
  },
  {
    id: "RAMPART_CHECK_CONSOLE_WITHOUT_HTTPS",
    severity: "warning",
    applies: (c, context) => c.console.enabled && ((!c.https.tls && !context.nativeTls && c.proxies.size === 0) || c.https.enforce === false),
    reason: "the admin console is on without HTTPS enforced: an administrator's password and session cookie could cross the network in clear",
    fix: "serve over HTTPS (https.certFile/keyFile or a trusted TLS proxy, with https.enforce), or turn the console off (RAMPART_CONSOLE=off)",
  },
  {
    id: "RAMPART_CHECK_WEBAUTHN_DEVELOPMENT_ORIGIN",
    severity: "warning",
    applies: (c) => c.webauthn.rpId === "localhost" || c.webauthn.origins.some((o) => o.startsWith("http://")),
    reason: "passkeys are set up for development (rpId localhost or an http:// origin): they will not work for real users",
    fix: "set webauthn.rpId to the site's domain and webauthn.origins to its https:// origins",
  },
  {
    id: "RAMPART_CHECK_VERBOSE_LOGS",
    severity: "warning",
    applies: (c) => c.logging.level === "debug" || c.logging.level === "trace",
    reason: "debug/trace logging in production records far more request detail than needed",
    fix: "set logging.level to info",
  },
];

/** Findings for a configuration as if deployed to production. */
export function runDeployChecks(config: ResolvedConfig, context: DeployContext = {}): Finding[] {
  return DEPLOY_CHECKS.filter((check) => check.applies(config, context)).map(({ id, severity, reason, fix }) => ({ id, severity, reason, fix }));
}

export function formatFindings(findings: readonly Finding[]): string {
  if (findings.length === 0) return "no findings: this configuration passes the deploy checks";
  return findings.map((f) => `${f.severity.toUpperCase()} ${f.id}: ${f.reason}\n  fix: ${f.fix}`).join("\n");
}
