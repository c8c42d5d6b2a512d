/**
 * The OAuth 2.0 endpoints of CONTRACT.md "Service clients": token (client credentials), introspection
 * (RFC 7662), revocation (RFC 7009) and the authorization-server metadata (RFC 8414). A scope of its
 * own: only here are bodies `application/x-www-form-urlencoded` (parsed with URLSearchParams, small
 * limit, repeated parameters refused per RFC 6749 §3.2) and JSON bodies refused, and only here are
 * client errors OAuth's `{error, error_description}` JSON (RFC 6749 §5.2). Everything else, 429 from
 * the login throttle or the route rate limit included, stays problem+json like the rest of the API.
 * The routes are public to the pipeline: the client authenticates in the handler, by Basic or post.
 */
import { Type as T } from "@sinclair/typebox";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { ErrorCode } from "../../core/errors.ts";
import {
  authorizationServerMetadata,
  grantScopes,
  issuerOrigin,
  OAUTH_PATHS,
  OAuthError,
  oauthErrorBody,
  oauthErrorHeaders,
} from "../../core/oauth/index.ts";
import { audit } from "../../identity/audit.ts";
import type { IdentityContext } from "../../identity/context.ts";
import { authenticateClient, introspect, revokeClientToken } from "../../identity/service-clients.ts";
import { RampartError } from "../../core/errors.ts";
import { toRampartError } from "../errors.ts";
import { sendError } from "../protect.ts";

const FORM = "application/x-www-form-urlencoded";
/** Token requests are a few short parameters; a JWT to introspect is at most 4 KiB. */
const FORM_BODY_LIMIT = 8 * 1024;
/** Request errors that OAuth clients expect as `invalid_request`. */
const INVALID_REQUEST: ReadonlySet<ErrorCode> = new Set([
  "RAMPART_ERR_VALIDATION",
  "RAMPART_ERR_BAD_REQUEST",
  "RAMPART_ERR_MALFORMED_JSON",
  "RAMPART_ERR_UNSUPPORTED_MEDIA_TYPE",
]);

type Form = Readonly<Record<string, string | undefined>>;

const Param = (description: string, maxLength = 512) => T.Optional(T.String({ maxLength, description }));
const ClientParams = {
  client_id: Param("client_secret_post only"),
  client_secret: Param("client_secret_post only"),
};
const OAuthErrorOut = T.Object(
  { error: T.String(), error_description: T.Optional(T.String()) },
  { description: "RFC 6749 §5.2 error (invalid_request, invalid_client, invalid_scope, unsupported_grant_type…)" },
);
const errorResponses = { 400: OAuthErrorOut, 401: OAuthErrorOut };

export function parseForm(_request: FastifyRequest, body: string | Buffer, done: (err: Error | null, body?: unknown) => void): void {
  const params = new URLSearchParams(typeof body === "string" ? body : body.toString("utf8"));
  // No prototype: a parameter named __proto__ stays a parameter.
  const form: Record<string, string> = Object.create(null);
  for (const [name, value] of params) {
    if (Object.hasOwn(form, name)) {
      done(new OAuthError("invalid_request", `The parameter ${name} is repeated.`));
      return;
    }
    form[name] = value;
  }
  done(null, form);
}

function sendOAuthError(error: OAuthError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  request.log.info({ code: error.code, reason: error.reason }, error.description);
  return reply.code(error.status).headers(oauthErrorHeaders(error)).type("application/json").serializer(JSON.stringify).send(oauthErrorBody(error));
}

/** host[:port], nothing else: no userinfo, path or whitespace can ride into an absolute URL. */
const HOST = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$/;

export function oauthRoutes(identity: IdentityContext) {
  const { config } = identity;

  /** The origin absolute URLs are built from; never an unchecked Host header. */
  function baseUrl(request: FastifyRequest): string | undefined {
    const fromIssuer = issuerOrigin(config.tokens.issuer, config.production);
    if (fromIssuer) return fromIssuer;
    const host = request.headers.host;
    if (!host || !HOST.test(host)) return undefined;
    // The transport stage refused any Host outside the allowlist before this handler runs. Without an
    // allowlist (development only: production refuses to start without one) any well-formed Host goes.
    if (!config.hosts.any || !config.production) return `${request.rampart.client.scheme}://${host.toLowerCase()}`;
    return undefined;
  }

  return async function routes(app: FastifyInstance) {
    if (app.hasContentTypeParser("application/json")) app.removeContentTypeParser("application/json");
    app.addContentTypeParser(FORM, { parseAs: "string", bodyLimit: FORM_BODY_LIMIT }, parseForm);
    app.setErrorHandler((error, request, reply) => {
      if (error instanceof OAuthError) return sendOAuthError(error, request, reply);
      const rampart = toRampartError(error);
      if (INVALID_REQUEST.has(rampart.code)) {
        const detail = rampart.code === "RAMPART_ERR_UNSUPPORTED_MEDIA_TYPE" ? `The body must be ${FORM}.` : rampart.detail;
        return sendOAuthError(new OAuthError("invalid_request", detail, rampart.reason), request, reply);
      }
      return sendError(rampart, request, reply);
    });

    app.post(
      OAUTH_PATHS.token,
      {
        config: { rampart: { auth: "public", limits: [{ policy: "login", key: "ip" }] } },
        schema: {
          tags: ["oauth"],
          description: "Client credentials grant (RFC 6749 §4.4). Authenticate with HTTP Basic or client_id + client_secret in the form, not both.",
          consumes: [FORM],
          body: T.Object({ grant_type: Param("client_credentials", 64), scope: Param("space-separated scopes; default all the client's", 2048), ...ClientParams }),
          response: {
            200: T.Object({ access_token: T.String(), token_type: T.Literal("Bearer"), expires_in: T.Integer(), scope: T.String() }),
            ...errorResponses,
          },
        },
      },
      async (request, reply) => {
        const form = request.body as Form;
        const client = await authenticateClient(identity, request, form);
        if (form.grant_type === undefined) throw new OAuthError("invalid_request", "grant_type is required.");
        if (form.grant_type !== "client_credentials") {
          throw new OAuthError("unsupported_grant_type", "Only grant_type=client_credentials is supported.");
        }
        const scopes = grantScopes(client.scopes, form.scope);
        const issued = await identity.issuer.issue({ sub: client.id, clientId: client.id, roles: [], scope: scopes });
        await audit(identity, request, {
          type: "client.token.issued",
          actorId: client.id,
          subject: client.id,
          details: { jti: issued.claims.jti, scope: scopes },
        });
        reply.header("cache-control", "no-store").header("pragma", "no-cache");
        return { access_token: issued.token, token_type: "Bearer" as const, expires_in: issued.expiresIn, scope: scopes.join(" ") };
      },
    );

    app.post(
      OAUTH_PATHS.introspection,
      {
        config: { rampart: { auth: "public" } },
        schema: {
          tags: ["oauth"],
          description:
            "Token introspection (RFC 7662) for an authenticated client: any access token of this issuer, a user's or a client's; {active: false} for anything expired, revoked, malformed or unknown.",
          consumes: [FORM],
          body: T.Object({ token: Param("the access token", 8192), token_type_hint: Param("ignored", 64), ...ClientParams }),
          response: {
            200: T.Object({
              active: T.Boolean(),
              scope: T.Optional(T.String()),
              client_id: T.Optional(T.String()),
              sub: T.Optional(T.String()),
              exp: T.Optional(T.Integer()),
              iat: T.Optional(T.Integer()),
              nbf: T.Optional(T.Integer()),
              jti: T.Optional(T.String()),
              token_type: T.Optional(T.String()),
              iss: T.Optional(T.String()),
              aud: T.Optional(T.Union([T.String(), T.Array(T.String())])),
            }),
            ...errorResponses,
          },
        },
      },
      async (request, reply) => {
        const form = request.body as Form;
        await authenticateClient(identity, request, form);
        if (form.token === undefined) throw new OAuthError("invalid_request", "token is required.");
        reply.header("cache-control", "no-store");
        return introspect(identity, form.token);
      },
    );

    app.post(
      OAUTH_PATHS.revocation,
      {
        config: { rampart: { auth: "public" } },
        schema: {
          tags: ["oauth"],
          description:
            "Token revocation (RFC 7009): revokes an access token issued to the calling client. Always 200 once the client is authenticated; another's token or an unknown one is left alone.",
          consumes: [FORM],
          body: T.Object({ token: Param("the access token", 8192), token_type_hint: Param("ignored", 64), ...ClientParams }),
          response: { 200: T.Null({ description: "OK" }), ...errorResponses },
        },
      },
      async (request, reply) => {
        const form = request.body as Form;
        const client = await authenticateClient(identity, request, form);
        if (form.token === undefined) throw new OAuthError("invalid_request", "token is required.");
        if (await revokeClientToken(identity, client, form.token)) {
          await audit(identity, request, { type: "client.token.revoked", actorId: client.id, subject: client.id });
        }
        return reply.code(200).header("cache-control", "no-store").send();
      },
    );

    app.get(
      OAUTH_PATHS.metadata,
      {
        config: { rampart: { auth: "public" } },
        schema: {
          tags: ["oauth"],
          description:
            "Authorization-server metadata (RFC 8414). URLs are absolute, built from tokens.issuer when it is an https URL, else from an allowed Host (RAMPART_ALLOWED_HOSTS; in development without an allowlist, the request's Host).",
          response: {
            200: T.Object({
              issuer: T.String(),
              token_endpoint: T.String(),
              introspection_endpoint: T.String(),
              revocation_endpoint: T.String(),
              jwks_uri: T.String(),
              grant_types_supported: T.Array(T.String()),
              response_types_supported: T.Array(T.String()),
              token_endpoint_auth_methods_supported: T.Array(T.String()),
              introspection_endpoint_auth_methods_supported: T.Array(T.String()),
              revocation_endpoint_auth_methods_supported: T.Array(T.String()),
            }),
          },
        },
      },
      async (request, reply) => {
        const base = baseUrl(request);
        if (!base) {
          throw new RampartError("RAMPART_ERR_NOT_FOUND", {
            detail: "Authorization-server metadata needs tokens.issuer to be an https URL or RAMPART_ALLOWED_HOSTS to be set.",
            reason: "no trusted base URL for OAuth metadata",
          });
        }
        reply.header("cache-control", "public, max-age=300");
        return authorizationServerMetadata(config.tokens.issuer, base);
      },
    );
  };
}
