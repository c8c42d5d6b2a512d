/**
 * What crosses the gateway, header by header. Upstream-bound: the caller's headers minus everything
 * that could carry a forged identity or route (Authorization, Rampart's cookies, any X-Rampart-*,
 * forwarding headers the gateway did not derive, hop-by-hop headers) and minus any header whose name
 * contains "_" (WSGI servers such as gunicorn fold `X_Rampart_User` into `X-Rampart-User`, and a
 * request carrying both reaches Flask or Django as one joined value); then the gateway's own.
 * Client-bound: the upstream's headers minus hop-by-hop, `Server`, `X-Powered-By` and cookies that
 * would shadow Rampart's, with Rampart's security headers winning.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http";
import { DEV_CSRF_COOKIE, DEV_REFRESH_COOKIE, DEV_SESSION_COOKIE, CSRF_COOKIE, REFRESH_COOKIE, SESSION_COOKIE } from "../identity/credentials.ts";

/** RFC 9110 §7.6.1 and the usual legacy ones: meaningful for one connection only. */
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

/**
 * Headers that claim who the client is, how it connected, or which method and path it "really" meant:
 * only the gateway may say. Frameworks honour some of these when configured to (Symfony and IIS
 * X-Original-URL, method overrides, Django's SECURE_PROXY_SSL_HEADER, Werkzeug's ProxyFix), and a rule
 * admitted the request for the method and path on the request line, not for these.
 */
const FORGEABLE = new Set([
  "authorization",
  "forwarded",
  "x-real-ip",
  "true-client-ip",
  "x-client-ip",
  "x-cluster-client-ip",
  "x-request-id",
  "host",
  "content-length",
  "expect",
  "x-original-url",
  "x-rewrite-url",
  "x-original-host",
  "x-http-method-override",
  "x-http-method",
  "x-method-override",
  "x-url-scheme",
  "x-scheme",
  "front-end-https",
]);

const RAMPART_COOKIES = new Set([SESSION_COOKIE, REFRESH_COOKIE, CSRF_COOKIE, DEV_SESSION_COOKIE, DEV_REFRESH_COOKIE, DEV_CSRF_COOKIE]);

export interface GatewayIdentityHeaders {
  clientIp: string;
  scheme: "http" | "https";
  host: string | undefined;
  requestId: string;
  /** Present for an authenticated caller. */
  user?: { id: string; roles: readonly string[]; assertion: string };
}

const NONE: ReadonlySet<string> = new Set();

/** Named in the Connection header: hop-by-hop for this message (RFC 9110 §7.6.1). */
function connectionTokens(value: string | string[] | undefined): ReadonlySet<string> {
  if (value === undefined) return NONE;
  const tokens = new Set<string>();
  for (const part of typeof value === "string" ? [value] : value) {
    for (const token of part.split(",")) if (token.trim()) tokens.add(token.trim().toLowerCase());
  }
  return tokens;
}

export function upstreamRequestHeaders(incoming: IncomingHttpHeaders, identity: GatewayIdentityHeaders): OutgoingHttpHeaders {
  const named = connectionTokens(incoming.connection);
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(incoming)) {
    if (value === undefined) continue;
    const lower = name.toLowerCase();
    if (
      HOP_BY_HOP.has(lower) ||
      named.has(lower) ||
      FORGEABLE.has(lower) ||
      lower.includes("_") ||
      lower.startsWith("x-rampart-") ||
      lower.startsWith("x-forwarded-")
    ) {
      continue;
    }
    if (lower === "cookie") {
      const kept = withoutRampartCookies(value);
      if (kept) out.cookie = kept;
      continue;
    }
    out[lower] = value;
  }
  out["x-forwarded-for"] = identity.clientIp;
  out["x-forwarded-proto"] = identity.scheme;
  if (identity.host) out["x-forwarded-host"] = identity.host;
  out["x-request-id"] = identity.requestId;
  if (identity.user) {
    out["x-rampart-user"] = identity.user.id;
    out["x-rampart-roles"] = identity.user.roles.join(",");
    out["x-rampart-assertion"] = identity.user.assertion;
  }
  return out;
}

function withoutRampartCookies(header: string | string[]): string {
  return [header]
    .flat()
    .flatMap((h) => h.split(";"))
    .map((pair) => pair.trim())
    .filter((pair) => pair !== "" && !RAMPART_COOKIES.has(pair.slice(0, pair.indexOf("=") >>> 0).trim()))
    .join("; ");
}

/**
 * The upstream's response headers as the client gets them. `security` is the set the headers stage
 * already put on the reply: those win over the upstream's, except a Content-Security-Policy the
 * upstream chose for its own pages (an HTML admin needs scripts that `default-src 'none'` forbids).
 */
export function clientResponseHeaders(
  upstream: IncomingHttpHeaders,
  security: Readonly<Record<string, unknown>>,
  options: { credentialed: boolean },
): OutgoingHttpHeaders {
  const named = connectionTokens(upstream.connection);
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(upstream)) {
    if (value === undefined) continue;
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || named.has(lower) || lower === "server" || lower === "x-powered-by") continue;
    if (lower === "set-cookie") {
      const kept = [value].flat().filter((cookie) => !RAMPART_COOKIES.has(cookie.slice(0, cookie.indexOf("=") >>> 0).trim()));
      if (kept.length > 0) out["set-cookie"] = kept;
      continue;
    }
    if (lower in security && lower !== "content-security-policy") continue;
    if (lower === "cache-control" && options.credentialed) continue;
    out[lower] = value;
  }
  return out;
}
