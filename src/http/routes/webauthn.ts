/**
 * The passkey routes of CONTRACT.md ("Second factors and service clients"). HTTP shape only: the
 * ceremonies live in src/identity/webauthn.ts. Bodies are the WebAuthn JSON of
 * `PublicKeyCredential.toJSON()`; a passkey login answers exactly like `POST /auth/login`.
 */
import { Type as T } from "@sinclair/typebox";
import { CookieSessionOut, TokenPair } from "./schemas.ts";
import type { AuthenticationResponseJSON } from "@simplewebauthn/server";
import { userPrincipal } from "./user-principal.ts";
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { IdentityContext } from "../../identity/context.ts";
import { openSession } from "../../identity/sessions.ts";
import { loginOptions, type RegistrationInput, registrationOptions, verifyLogin, verifyRegistration } from "../../identity/webauthn.ts";
import type { RouteSecurity } from "../request-state.ts";
import { sessionResponse } from "./session-response.ts";

const B64url = (maxLength: number) => T.String({ minLength: 1, maxLength, pattern: "^[A-Za-z0-9_-]+$" });
// A credential id is at most 1023 bytes (WebAuthn §5.8.3): 1364 characters in base64url.
const CredentialId = B64url(1364);
const Transports = T.Array(T.String({ minLength: 1, maxLength: 32 }), { maxItems: 10 });
const Common = {
  id: CredentialId,
  rawId: CredentialId,
  type: T.Literal("public-key"),
  authenticatorAttachment: T.Optional(T.Union([T.Literal("platform"), T.Literal("cross-platform")])),
  clientExtensionResults: T.Object({}, { additionalProperties: true, maxProperties: 20 }),
};
const RegistrationBody = T.Object(
  {
    ...Common,
    name: T.Optional(T.String({ minLength: 1, maxLength: 100, description: "A label for the passkey; default `Passkey`." })),
    response: T.Object(
      {
        clientDataJSON: B64url(4096),
        attestationObject: B64url(32768),
        authenticatorData: T.Optional(B64url(16384)),
        transports: T.Optional(Transports),
        publicKeyAlgorithm: T.Optional(T.Integer()),
        publicKey: T.Optional(B64url(4096)),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);
const AuthenticationBody = T.Object(
  {
    ...Common,
    response: T.Object(
      {
        clientDataJSON: B64url(4096),
        authenticatorData: B64url(16384),
        signature: B64url(2048),
        userHandle: T.Optional(B64url(128)),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);
// The options are the WebAuthn JSON the browser's parseCreationOptionsFromJSON/parseRequestOptionsFromJSON take.
const CreationOptions = T.Object(
  { challenge: T.String(), rp: T.Object({ id: T.Optional(T.String()), name: T.String() }), user: T.Object({ id: T.String(), name: T.String(), displayName: T.String() }) },
  { additionalProperties: true },
);
const RequestOptions = T.Object({ challenge: T.String(), rpId: T.Optional(T.String()) }, { additionalProperties: true });
const PasskeyOut = T.Object({
  id: T.String(),
  name: T.String(),
  transports: T.Array(T.String()),
  backed_up: T.Boolean(),
  created_at: T.String(),
});

function userIdOf(request: FastifyRequest): string {
  return userPrincipal(request).userId;
}

export function webauthnRoutes(identity: IdentityContext) {
  return async function routes(app: FastifyInstance) {
    // Adding a passkey is an account change: a signed-in user (bearer or cookie+CSRF), never an API token.
    const signedIn: { rampart: RouteSecurity } = { rampart: { credentials: ["bearer", "cookie"] } };
    // Login attempts share the password login's per-IP limits.
    const publicLogin: { rampart: RouteSecurity } = { rampart: { auth: "public", limits: [{ policy: "login", key: "ip" }] } };

    app.post(
      "/auth/webauthn/register/options",
      { config: signedIn, schema: { tags: ["identity"], response: { 200: CreationOptions } } },
      async (request) => registrationOptions(identity, userIdOf(request)),
    );

    app.post(
      "/auth/webauthn/register/verify",
      { config: signedIn, schema: { tags: ["identity"], body: RegistrationBody, response: { 201: PasskeyOut } } },
      async (request, reply) => {
        const passkey = await verifyRegistration(identity, request, userIdOf(request), request.body as RegistrationInput);
        return reply.code(201).send({
          id: passkey.id,
          name: passkey.name,
          transports: passkey.transports,
          backed_up: passkey.backedUp,
          created_at: passkey.createdAt.toISOString(),
        });
      },
    );

    app.post(
      "/auth/webauthn/login/options",
      {
        config: publicLogin,
        schema: {
          tags: ["identity"],
          description: "Without `email`: discoverable credentials (the browser offers its passkeys). With it: that user's passkeys, if any.",
          body: T.Object({ email: T.Optional(T.String({ minLength: 3, maxLength: 320 })) }, { additionalProperties: false }),
          response: { 200: RequestOptions },
        },
        preValidation: (request, _reply, done) => {
          if (request.body === undefined || request.body === null) request.body = {};
          done();
        },
      },
      async (request) => loginOptions(identity, (request.body as { email?: string }).email),
    );

    app.post(
      "/auth/webauthn/login/verify",
      {
        config: publicLogin,
        schema: {
          tags: ["identity"],
          body: AuthenticationBody,
          querystring: T.Object({ session: T.Optional(T.Literal("cookie")) }, { additionalProperties: false }),
          response: { 200: T.Union([TokenPair, CookieSessionOut]) },
        },
      },
      async (request, reply) => {
        const user = await verifyLogin(identity, request, request.body as AuthenticationResponseJSON);
        // A user-verified passkey is multi-factor by itself: no second-factor step follows, and a role
        // with `mfa: "required"` is satisfied by this session.
        const session = await openSession(identity, user);
        return sessionResponse(identity, request, reply, session, (request.query as { session?: string }).session === "cookie");
      },
    );
  };
}
