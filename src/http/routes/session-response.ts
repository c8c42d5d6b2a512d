/**
 * How a login answers, whichever way the user proved who they are (password, second factor, passkey):
 * a token pair for API clients, or for browsers (`?session=cookie`) HttpOnly cookies and the CSRF token
 * the page echoes in X-CSRF-Token (signed double submit).
 */
import type { FastifyReply, FastifyRequest } from "fastify";
import type { IdentityContext } from "../../identity/context.ts";
import { sessionCookieNames } from "../../identity/credentials.ts";
import type { IssuedSession } from "../../identity/sessions.ts";

export function cookieNamesFor(identity: IdentityContext, request: FastifyRequest) {
  return sessionCookieNames(request.rampart.client.scheme === "https" || identity.config.production);
}

export function cookieSession(identity: IdentityContext, request: FastifyRequest, reply: FastifyReply, session: IssuedSession) {
  const { config } = identity;
  const names = cookieNamesFor(identity, request);
  const base = { path: "/", secure: names.secure, sameSite: config.sessions.sameSite } as const;
  const csrfToken = identity.csrf.issue(session.sessionId);
  reply.setCookie(names.session, session.access_token, { ...base, httpOnly: true, maxAge: session.expires_in });
  reply.setCookie(names.refresh, session.refresh_token, { ...base, httpOnly: true, maxAge: config.tokens.refreshTtlSeconds });
  reply.setCookie(names.csrf, csrfToken, { ...base, httpOnly: false, maxAge: config.tokens.refreshTtlSeconds });
  return { token_type: "Cookie" as const, expires_in: session.expires_in, csrf_token: csrfToken };
}

/** The login answer for a session just opened: the token pair, or the cookie session when asked for. */
export function sessionResponse(identity: IdentityContext, request: FastifyRequest, reply: FastifyReply, session: IssuedSession, cookie: boolean) {
  if (!cookie) {
    const { sessionId: _, ...pair } = session;
    return pair;
  }
  return cookieSession(identity, request, reply, session);
}

/** Removes the session, refresh and CSRF cookies, both the `__Host-` and the development names. */
export function clearSessionCookies(reply: FastifyReply) {
  for (const secure of [true, false]) {
    const names = sessionCookieNames(secure);
    for (const name of [names.session, names.refresh, names.csrf]) reply.clearCookie(name, { path: "/", secure });
  }
}
