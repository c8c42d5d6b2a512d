/** The second-factor routes of CONTRACT.md ("Multi-factor authentication"). Flows live in src/identity/mfa.ts. */
import { Type as T } from "@sinclair/typebox";
import { userPrincipal } from "./user-principal.ts";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { RampartError } from "../../core/errors.ts";
import type { IdentityContext } from "../../identity/context.ts";
import { login } from "../../identity/login.ts";
import type { SecondFactors } from "../../identity/mfa.ts";
import { openSession } from "../../identity/sessions.ts";
import { CookieSessionOut, NoContent, TokenPair } from "./schemas.ts";
import { sessionResponse } from "./session-response.ts";

const Code = T.String({ pattern: "^[0-9]{6}$", description: "The current six-digit TOTP code." });
const RecoveryCode = T.String({ minLength: 8, maxLength: 64, description: "One of the recovery codes, e.g. `abcd-efgh-jkmn`." });
const Password = T.String({ minLength: 1, maxLength: 1024 });
const CodeOrPassword = T.Union([
  T.Object({ code: Code }, { additionalProperties: false }),
  T.Object({ password: Password }, { additionalProperties: false }),
]);
const RecoveryCodesOut = T.Object({ recovery_codes: T.Array(T.String(), { minItems: 10, maxItems: 10 }) });
/** Managing factors is for the person at the keyboard: never with an API token. */
const SESSION_ONLY = { credentials: ["bearer", "cookie"] } as const;

async function signedInUser(identity: IdentityContext, request: FastifyRequest) {
  const principal = userPrincipal(request);
  const user = await identity.repos.users.findById(principal.userId);
  if (!user) throw new RampartError("RAMPART_ERR_UNAUTHENTICATED");
  return user;
}

export function mfaRoutes(identity: IdentityContext, mfa: SecondFactors) {
  /** `{code}` or `{password}`: the password is checked like `POST /auth/password` does (throttled). */
  async function reauthenticate(request: FastifyRequest, user: { id: string; email: string }) {
    const body = request.body as { code?: string; password?: string };
    if (body.code !== undefined) await mfa.checkCode(request, user, body.code);
    else await login(identity, request, user.email, body.password ?? "");
  }

  return async function routes(app: FastifyInstance) {
    app.post(
      "/auth/mfa/totp",
      {
        config: { rampart: SESSION_ONLY },
        schema: {
          tags: ["identity"],
          description: "Starts TOTP enrolment. The secret is shown this once; TOTP is required at login only after `/auth/mfa/totp/confirm`.",
          response: { 201: T.Object({ secret: T.String(), otpauth_uri: T.String() }) },
        },
      },
      async (request, reply) => reply.code(201).send(await mfa.startTotp(request, await signedInUser(identity, request))),
    );

    app.post(
      "/auth/mfa/totp/confirm",
      {
        config: { rampart: SESSION_ONLY },
        schema: {
          tags: ["identity"],
          description: "Confirms the pending enrolment with a current code; answers the ten recovery codes, shown this once.",
          body: T.Object({ code: Code }, { additionalProperties: false }),
          response: { 200: RecoveryCodesOut },
        },
      },
      async (request) => {
        const user = await signedInUser(identity, request);
        return { recovery_codes: await mfa.confirmTotp(request, user, (request.body as { code: string }).code) };
      },
    );

    app.delete(
      "/auth/mfa/totp",
      {
        config: { rampart: SESSION_ONLY },
        schema: { tags: ["identity"], body: CodeOrPassword, response: { 204: NoContent } },
      },
      async (request, reply) => {
        const user = await signedInUser(identity, request);
        if ((await identity.repos.secondFactors.getTotp(user.id)) === undefined) {
          throw new RampartError("RAMPART_ERR_NOT_FOUND", { detail: "No TOTP factor to remove." });
        }
        await reauthenticate(request, user);
        await mfa.removeTotp(request, user.id);
        return reply.code(204).send();
      },
    );

    app.post(
      "/auth/mfa/recovery-codes",
      {
        config: { rampart: SESSION_ONLY },
        schema: {
          tags: ["identity"],
          description: "Replaces every recovery code with ten new ones, shown this once.",
          body: CodeOrPassword,
          response: { 200: RecoveryCodesOut },
        },
      },
      async (request) => {
        const user = await signedInUser(identity, request);
        if (!(await mfa.status(user.id)).totp) throw new RampartError("RAMPART_ERR_CONFLICT", { detail: "Recovery codes come with a confirmed second factor; enrol one first." });
        await reauthenticate(request, user);
        return { recovery_codes: await mfa.regenerateRecoveryCodes(request, user.id) };
      },
    );

    app.post(
      "/auth/mfa/verify",
      {
        config: { rampart: { auth: "public", limits: [{ policy: "login", key: "ip" }] } },
        schema: {
          tags: ["identity"],
          description:
            "The second step of a login: the `mfa_token` from `POST /auth/login` (5 minutes, single use, same client) and a TOTP code or a recovery code. Answers like `POST /auth/login`; `?session=cookie` (here or on the login) gives a browser session.",
          body: T.Union([
            T.Object({ mfa_token: T.String({ minLength: 1, maxLength: 512 }), code: Code }, { additionalProperties: false }),
            T.Object({ mfa_token: T.String({ minLength: 1, maxLength: 512 }), recovery_code: RecoveryCode }, { additionalProperties: false }),
          ]),
          querystring: T.Object({ session: T.Optional(T.Literal("cookie")) }, { additionalProperties: false }),
          response: { 200: T.Union([TokenPair, CookieSessionOut]) },
        },
      },
      async (request, reply) => {
        const body = request.body as { mfa_token: string; code?: string; recovery_code?: string };
        const { user, cookie } = await mfa.verify(request, body.mfa_token, {
          ...(body.code !== undefined ? { code: body.code } : {}),
          ...(body.recovery_code !== undefined ? { recoveryCode: body.recovery_code } : {}),
        });
        const session = await openSession(identity, user);
        return sessionResponse(identity, request, reply, session, cookie || (request.query as { session?: string }).session === "cookie");
      },
    );
  };
}
