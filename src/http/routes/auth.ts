/** The Identity routes of CONTRACT.md. Flows live in src/identity; this file is HTTP shape only. */
import { Type as T } from "@sinclair/typebox";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { parsePermission } from "../../core/authz/index.ts";
import { RampartError } from "../../core/errors.ts";
import { checkPassword } from "../../core/passwords/index.ts";
import { generateApiToken, hashRefreshToken } from "../../core/tokens/index.ts";
import { audit } from "../../identity/audit.ts";
import type { IdentityContext } from "../../identity/context.ts";
import { invalidToken } from "../../identity/authenticator.ts";
import { readCookies } from "../../identity/credentials.ts";
import { CSRF_HEADER } from "../../identity/csrf.ts";
import { login } from "../../identity/login.ts";
import { createSecondFactors } from "../../identity/mfa.ts";
import {
  openSession,
  refreshSession,
  revokeAccessToken,
  revokeAllSessions,
  revokeSessions,
} from "../../identity/sessions.ts";
import { allowedOriginSet, assertRequestProvenance } from "../stages/csrf.ts";
import { CookieSessionOut, NoContent, TokenPair } from "./schemas.ts";
import { userPrincipal } from "./user-principal.ts";
import { mfaRoutes } from "./mfa.ts";
import { clearSessionCookies, cookieNamesFor, cookieSession, sessionResponse } from "./session-response.ts";
import { sessionsRoutes } from "./sessions.ts";
import { webauthnRoutes } from "./webauthn.ts";

const Email = T.String({ minLength: 3, maxLength: 320, pattern: "^\\s*[^\\s@]+@[^\\s@]+\\s*$" });
// Upper bound only: length rules are the password policy's job, and it names them clearly.
const Password = T.String({ minLength: 1, maxLength: 1024 });
const Credentials = T.Object({ email: Email, password: Password }, { additionalProperties: false });
const UserOut = T.Object({ id: T.String(), email: T.String(), roles: T.Array(T.String()) });
const ApiTokenOut = T.Object({
  id: T.String(),
  name: T.String(),
  prefix: T.String(),
  scopes: T.Array(T.String()),
  created_at: T.String(),
  expires_at: T.Union([T.String(), T.Null()]),
  last_used_at: T.Union([T.String(), T.Null()]),
});

const principalOf = userPrincipal;

export function authRoutes(identity: IdentityContext) {
  const { config, repos } = identity;
  const policy = { minLength: config.passwords.minLength, maxLength: config.passwords.maxLength };
  const mfa = createSecondFactors(identity);
  const allowedOrigins = allowedOriginSet(config.cors.origins);

  return async function routes(app: FastifyInstance) {
    // Second factors: their own file, mounted wherever the identity routes are.
    await app.register(mfaRoutes(identity, mfa));
    // Passkeys: their own file, mounted wherever the identity routes are.
    await app.register(webauthnRoutes(identity));
    // The user's own sessions: their own file, mounted wherever the identity routes are.
    await app.register(sessionsRoutes(identity));

    app.post(
      "/auth/register",
      {
        config: { rampart: { auth: "public", limits: [{ policy: "register", key: "ip" }] } },
        schema: { tags: ["identity"], body: Credentials, response: { 201: UserOut } },
      },
      async (request, reply) => {
        if (config.registration === "closed") throw new RampartError("RAMPART_ERR_REGISTRATION_CLOSED", { detail: "Self-service registration is closed; ask an administrator." });
        const { email, password } = request.body as { email: string; password: string };
        checkPassword(password, { ...policy, email });
        const user = await repos.users.create({ email, passwordHash: await identity.hasher.hash(password), roles: ["user"] });
        await audit(identity, request, { type: "user.registered", actorId: user.id, subject: user.id });
        return reply.code(201).send({ id: user.id, email: user.email, roles: user.roles });
      },
    );

    app.post(
      "/auth/login",
      {
        config: { rampart: { auth: "public", limits: [{ policy: "login", key: "ip" }] } },
        schema: {
          tags: ["identity"],
          body: Credentials,
          querystring: T.Object({ session: T.Optional(T.Literal("cookie")) }, { additionalProperties: false }),
          description:
            "A user with a second factor gets `{mfa_required: true, mfa_token, methods}` and no token: finish with `POST /auth/mfa/verify`.",
          response: {
            200: T.Union([
              TokenPair,
              CookieSessionOut,
              T.Object({ mfa_required: T.Literal(true), mfa_token: T.String(), methods: T.Array(T.String()) }),
            ]),
          },
        },
      },
      async (request, reply) => {
        const { email, password } = request.body as { email: string; password: string };
        const user = await login(identity, request, email, password);
        const cookie = (request.query as { session?: string }).session === "cookie";
        // No token and no cookie before the second factor: the answer is only the mfa_token.
        const challenge = await mfa.afterPassword(request, user, cookie);
        if (challenge) return challenge;
        const session = await openSession(identity, user);
        return sessionResponse(identity, request, reply, session, cookie);
      },
    );

    app.post(
      "/auth/refresh",
      {
        config: { rampart: { auth: "public" } },
        schema: {
          tags: ["identity"],
          description: "Send `refresh_token` in the body, or (browser sessions) nothing: the refresh cookie is used and the page's X-CSRF-Token is required.",
          body: T.Object({ refresh_token: T.Optional(T.String({ minLength: 1, maxLength: 512 })) }, { additionalProperties: false }),
          response: { 200: T.Union([TokenPair, CookieSessionOut]) },
        },
        preValidation: (request, _reply, done) => {
          if (request.body === undefined || request.body === null) request.body = {};
          done();
        },
      },
      async (request, reply) => {
        const presented = (request.body as { refresh_token?: string }).refresh_token;
        if (presented) {
          const { sessionId: _, ...pair } = await refreshSession(identity, request, presented);
          return pair;
        }
        const fromCookie = readCookies(request)[cookieNames(request).refresh];
        if (!fromCookie) throw invalidToken("no refresh token", "Send refresh_token in the body, or the refresh cookie of a browser session.");
        // A cookie arrives on its own, so this path needs what the CSRF stage asks of any cookie-carrying
        // unsafe request: an allowed provenance and the page's CSRF token for the same session.
        assertRequestProvenance(request, allowedOrigins);
        const record = await repos.refreshTokens.findByHash(hashRefreshToken(fromCookie));
        const csrf = request.headers[CSRF_HEADER];
        if (!record || !identity.csrf.verify(record.familyId, typeof csrf === "string" ? csrf : undefined)) {
          throw new RampartError("RAMPART_ERR_CSRF", { reason: "cookie refresh without a valid CSRF token" });
        }
        return cookieSession(identity, request, reply, await refreshSession(identity, request, fromCookie));
      },
    );

    app.post(
      "/auth/logout",
      {
        config: { rampart: { credentials: ["bearer", "cookie"] } },
        schema: {
          tags: ["identity"],
          body: T.Object({ refresh_token: T.Optional(T.String({ maxLength: 512 })) }, { additionalProperties: false }),
          response: { 204: NoContent },
        },
        // The body is optional: a bare POST means "this session".
        preValidation: (request, _reply, done) => {
          if (request.body === undefined || request.body === null) request.body = {};
          done();
        },
      },
      async (request, reply) => {
        const principal = principalOf(request);
        if (principal.expiresAt) await revokeAccessToken(identity, principal.userId, principal.credentialId, principal.expiresAt);
        const families = principal.sessionId ? [principal.sessionId] : [];
        const presented = (request.body as { refresh_token?: string } | undefined)?.refresh_token;
        if (presented) {
          const record = await repos.refreshTokens.findByHash(hashRefreshToken(presented));
          if (record && record.userId === principal.userId && !families.includes(record.familyId)) families.push(record.familyId);
        }
        await revokeSessions(identity, principal.userId, families);
        await audit(identity, request, { type: "logout", subject: principal.sessionId ?? null });
        clearSessionCookies(reply);
        return reply.code(204).send();
      },
    );

    app.get(
      "/auth/me",
      {
        schema: {
          tags: ["identity"],
          response: {
            200: T.Object({
              id: T.String(),
              email: T.String(),
              roles: T.Array(T.String()),
              permissions: T.Array(T.String()),
              passkeys: T.Integer({ minimum: 0, description: "How many passkeys the user has registered." }),
              mfa: T.Object(
                { totp: T.Boolean(), recovery_codes_remaining: T.Integer({ minimum: 0 }) },
                { description: "The user's second factors: a confirmed TOTP, and how many unused recovery codes." },
              ),
            }),
          },
        },
      },
      async (request) => {
        const principal = principalOf(request);
        return {
          id: principal.userId,
          email: principal.email ?? "",
          roles: [...principal.roles],
          permissions: [...principal.permissions.list()],
          passkeys: await repos.passkeys.countForUser(principal.userId),
          mfa: await mfa.status(principal.userId),
        };
      },
    );

    app.post(
      "/auth/password",
      {
        config: { rampart: { credentials: ["bearer", "cookie"] } },
        schema: {
          tags: ["identity"],
          body: T.Object({ current_password: Password, new_password: Password }, { additionalProperties: false }),
          response: { 204: NoContent },
        },
      },
      async (request, reply) => {
        const principal = principalOf(request);
        const { current_password, new_password } = request.body as { current_password: string; new_password: string };
        const user = await repos.users.findById(principal.userId);
        if (!user) throw new RampartError("RAMPART_ERR_UNAUTHENTICATED");
        await login(identity, request, user.email, current_password);
        checkPassword(new_password, { ...policy, email: user.email });
        await repos.users.setPasswordHash(user.id, await identity.hasher.hash(new_password));
        // A login half-done with the old password must not finish with a second factor.
        await repos.mfaChallenges.deleteForUser(user.id);
        const revoked = await revokeAllSessions(identity, user.id, principal.sessionId);
        await audit(identity, request, { type: "password.changed", subject: user.id, details: { sessionsRevoked: revoked.length } });
        return reply.code(204).send();
      },
    );

    app.post(
      "/auth/tokens",
      {
        config: { rampart: { credentials: ["bearer", "cookie"], permissions: ["tokens:manage"] } },
        schema: {
          tags: ["identity"],
          body: T.Object(
            {
              name: T.String({ minLength: 1, maxLength: 100 }),
              scopes: T.Array(T.String({ minLength: 1, maxLength: 100 }), { minItems: 1, maxItems: 50, uniqueItems: true }),
              expires_in_days: T.Optional(T.Integer({ minimum: 1, maximum: config.tokens.apiTokenMaxDays })),
            },
            { additionalProperties: false },
          ),
          response: {
            201: T.Object({
              id: T.String(),
              name: T.String(),
              token: T.String(),
              scopes: T.Array(T.String()),
              expires_at: T.Union([T.String(), T.Null()]),
            }),
          },
        },
      },
      async (request, reply) => {
        const principal = principalOf(request);
        const body = request.body as { name: string; scopes: string[]; expires_in_days?: number };
        body.scopes.forEach((scope, index) => {
          try {
            parsePermission(scope);
          } catch {
            throw new RampartError("RAMPART_ERR_VALIDATION", {
              detail: `/scopes/${index}: must be a permission like notes:read or *`,
              extensions: { errors: [{ pointer: `/scopes/${index}`, detail: "must be a permission like notes:read or *" }] },
            });
          }
        });
        const generated = generateApiToken();
        // No open-ended tokens: without an expiry the longest allowed lifetime applies.
        const days = body.expires_in_days ?? config.tokens.apiTokenMaxDays;
        const expiresAt = new Date(Date.now() + days * 86_400_000);
        const record = await repos.apiTokens.insert({
          userId: principal.userId,
          name: body.name,
          prefix: generated.prefix,
          secretHash: generated.secretHash,
          scopes: body.scopes,
          expiresAt,
        });
        await audit(identity, request, { type: "token.created", subject: record.id, details: { scopes: record.scopes } });
        return reply.code(201).send({
          id: record.id,
          name: record.name,
          token: generated.token,
          scopes: record.scopes,
          expires_at: record.expiresAt?.toISOString() ?? null,
        });
      },
    );

    app.get(
      "/auth/tokens",
      {
        config: { rampart: { permissions: ["tokens:manage"] } },
        schema: { tags: ["identity"], response: { 200: T.Array(ApiTokenOut) } },
      },
      async (request) =>
        (await repos.apiTokens.listForUser(principalOf(request).userId)).map((t) => ({
          id: t.id,
          name: t.name,
          prefix: t.prefix,
          scopes: t.scopes,
          created_at: t.createdAt.toISOString(),
          expires_at: t.expiresAt?.toISOString() ?? null,
          last_used_at: t.lastUsedAt?.toISOString() ?? null,
        })),
    );

    app.delete(
      "/auth/tokens/:id",
      {
        config: { rampart: { permissions: ["tokens:manage"] } },
        schema: { tags: ["identity"], params: T.Object({ id: T.String({ maxLength: 64 }) }), response: { 204: NoContent } },
      },
      async (request, reply) => {
        const principal = principalOf(request);
        const { id } = request.params as { id: string };
        if (!(await repos.apiTokens.revoke(id, principal.userId))) throw new RampartError("RAMPART_ERR_NOT_FOUND");
        // Every instance drops its cached API tokens before this answers: the token is dead everywhere.
        identity.userChanged(principal.userId);
        await identity.flushBroadcast();
        await audit(identity, request, { type: "token.deleted", subject: id });
        return reply.code(204).send();
      },
    );

    app.get("/.well-known/jwks.json", { config: { rampart: { auth: "public" } } }, async (_request, reply) => {
      reply.header("cache-control", "public, max-age=300");
      return identity.keyRing.jwks();
    });
  };

  function cookieNames(request: FastifyRequest) {
    return cookieNamesFor(identity, request);
  }
}
