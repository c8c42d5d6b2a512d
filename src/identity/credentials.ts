/** Where credentials travel: the Authorization header schemes and the browser-session cookies. */
import "@fastify/cookie";
import type { PipelineRequest } from "../http/stage-io.ts";

export type PresentedCredential =
  | { kind: "bearer"; token: string }
  | { kind: "api-token"; token: string }
  | { kind: "cookie"; token: string }
  | { kind: "malformed" }
  | undefined;

/** `__Host-` cookies are pinned to this host, Secure and Path=/ (RFC 6265bis §4.1.3.2). */
export const SESSION_COOKIE = "__Host-rampart_session";
export const CSRF_COOKIE = "__Host-rampart_csrf";
export const REFRESH_COOKIE = "__Host-rampart_refresh";
/** Development over plain http://localhost cannot set Secure cookies, so the prefix is dropped there. */
export const DEV_SESSION_COOKIE = "rampart_session";
export const DEV_CSRF_COOKIE = "rampart_csrf";
export const DEV_REFRESH_COOKIE = "rampart_refresh";

export function sessionCookieNames(secure: boolean) {
  return secure
    ? { session: SESSION_COOKIE, refresh: REFRESH_COOKIE, csrf: CSRF_COOKIE, secure: true }
    : { session: DEV_SESSION_COOKIE, refresh: DEV_REFRESH_COOKIE, csrf: DEV_CSRF_COOKIE, secure: false };
}

/**
 * `secureOnly`: over HTTPS (and always in production) only the `__Host-` cookie counts; accepting the
 * unprefixed one there would let a sibling subdomain or a plain-HTTP attacker plant a session.
 */
export function readCredential(request: PipelineRequest, secureOnly: boolean): PresentedCredential {
  const header = request.headers.authorization;
  if (header !== undefined) {
    const space = header.indexOf(" ");
    if (space === -1) return { kind: "malformed" };
    const scheme = header.slice(0, space).toLowerCase();
    const token = header.slice(space + 1).trim();
    if (!token) return { kind: "malformed" };
    if (scheme === "bearer") return token.startsWith("rmp_") ? { kind: "api-token", token } : { kind: "bearer", token };
    if (scheme === "token") return { kind: "api-token", token };
    return { kind: "malformed" };
  }
  const cookies = readCookies(request);
  const session = secureOnly ? cookies[SESSION_COOKIE] : (cookies[SESSION_COOKIE] ?? cookies[DEV_SESSION_COOKIE]);
  return session ? { kind: "cookie", token: session } : undefined;
}

/** Cookies are parsed only when a request has no Authorization header (most API calls never pay). */
export function readCookies(request: PipelineRequest): Record<string, string | undefined> {
  const header = request.headers.cookie;
  if (!header) return {};
  return request.server.parseCookie(header);
}
