/**
 * OAuth 2.0 service clients: creation, deletion, client authentication (throttled like logins), and
 * the token checks behind introspection (RFC 7662) and revocation (RFC 7009). HTTP shape lives in
 * src/http/routes/oauth.ts and clients.ts; the CLI uses create/delete from here too.
 */
import { OAuthError, readClientCredentials } from "../core/oauth/index.ts";
import {
  type AccessTokenClaims,
  clientSecretMatches,
  generateClientId,
  generateClientSecret,
  isClientIdShaped,
  isClientSecretShaped,
  RAMPART_CLIENT_ID,
} from "../core/tokens/index.ts";
import type { PipelineRequest } from "../http/stage-io.ts";
import type { ServiceClient } from "../store/index.ts";
import { audit } from "./audit.ts";
import { refuseThrottled } from "./throttled.ts";
import type { IdentityContext } from "./context.ts";
import { revokeAccessToken } from "./sessions.ts";

/** Compared against when the client id is unknown, so an unknown id costs what a wrong secret does. */
const DUMMY_HASH = "0".repeat(64);

export async function createServiceClient(
  identity: Pick<IdentityContext, "repos">,
  input: { name: string; scopes: readonly string[]; createdBy: string | null },
): Promise<{ client: ServiceClient; secret: string }> {
  const generated = generateClientSecret();
  const client = await identity.repos.serviceClients.insert({
    id: generateClientId(),
    name: input.name,
    secretHash: generated.secretHash,
    scopes: input.scopes,
    createdBy: input.createdBy,
  });
  return { client, secret: generated.token };
}

/**
 * Deletes the client and ends every token it holds at once, on every instance: its row goes (so no
 * instance, restarted or not, admits its tokens again), the client-state caches drop it (the broadcast
 * "user changed" event), and a revocation of everything it was issued up to now is broadcast (which
 * also reaches verify-only services through the Redis backlog).
 */
export async function deleteServiceClient(identity: IdentityContext, clientId: string): Promise<boolean> {
  if (!(await identity.repos.serviceClients.delete(clientId))) return false;
  identity.userChanged(clientId);
  identity.revocations.revokeUserBefore(clientId, Math.floor(Date.now() / 1000) + 1);
  await identity.flushBroadcast();
  return true;
}

/**
 * Authenticates the calling client (Basic or client_secret_post). Failures are throttled per
 * (client id, address) and per address with the login throttle, checked BEFORE the secret.
 * @throws OAuthError invalid_client / invalid_request; RampartError RAMPART_ERR_LOGIN_THROTTLED (429).
 */
export async function authenticateClient(
  identity: IdentityContext,
  request: PipelineRequest,
  form: Readonly<Record<string, string | undefined>>,
): Promise<ServiceClient> {
  const authorization = request.headers.authorization;
  const presented = readClientCredentials(typeof authorization === "string" ? authorization : undefined, form);
  const ip = request.rampart.client.ip;
  // A prefix no email can carry, so client and login counters never share a pair.
  const key = `client:${presented.clientId}`;
  const gate = await identity.throttle.check(key, ip);
  if (!gate.allowed) {
    await refuseThrottled(identity, request, {
      retryAfterMs: gate.retryAfterMs,
      event: { type: "client.auth.throttled", details: { scope: gate.scope } },
      what: "client authentications",
      headers: { "cache-control": "no-store" },
    });
  }
  const shaped = isClientIdShaped(presented.clientId) && isClientSecretShaped(presented.clientSecret);
  const stored = shaped ? await identity.repos.serviceClients.findCredentials(presented.clientId) : undefined;
  const ok = clientSecretMatches(presented.clientSecret, stored?.secretHash ?? DUMMY_HASH) && stored !== undefined;
  if (!ok || !stored) {
    identity.telemetry.loginFailure("client_credentials");
    await identity.throttle.recordFailure(key, ip);
    await audit(identity, request, {
      type: "client.auth.failure",
      actorId: null,
      subject: stored?.client.id ?? null,
      details: { method: presented.method },
    });
    throw new OAuthError("invalid_client", "Client authentication failed.", stored ? "wrong client secret" : "unknown client");
  }
  await identity.throttle.recordSuccess(key, ip);
  return stored.client;
}

/** The verified, live claims of an access token of this issuer, or undefined (never throws). */
export async function liveAccessToken(identity: IdentityContext, token: unknown): Promise<AccessTokenClaims | undefined> {
  if (typeof token !== "string" || token === "") return undefined;
  let claims: AccessTokenClaims;
  try {
    claims = await identity.verifier.verify(token);
  } catch {
    return undefined;
  }
  if (identity.revocations.isRevoked(claims)) return undefined;
  if (claims.client_id !== RAMPART_CLIENT_ID) {
    if (claims.sub !== claims.client_id) return undefined;
    return (await identity.clients.get(claims.client_id)) ? claims : undefined;
  }
  const user = await identity.users.get(claims.sub);
  return user && !user.disabled ? claims : undefined;
}

/** RFC 7662 §2.2: the introspection answer; `{active: false}` for anything not live. */
export async function introspect(identity: IdentityContext, token: unknown): Promise<Record<string, unknown>> {
  const claims = await liveAccessToken(identity, token);
  if (!claims) return { active: false };
  return {
    active: true,
    ...(claims.scope !== undefined ? { scope: claims.scope } : {}),
    client_id: claims.client_id,
    sub: claims.sub,
    exp: claims.exp,
    iat: claims.iat,
    nbf: claims.nbf,
    jti: claims.jti,
    token_type: "Bearer",
    iss: claims.iss,
    aud: claims.aud,
  };
}

/**
 * RFC 7009: revokes the token when it is a live token issued to `client`; anything else (unknown,
 * expired, another client's or a user's token) is left alone and reported as `false`, never as an error.
 */
export async function revokeClientToken(identity: IdentityContext, client: ServiceClient, token: unknown): Promise<boolean> {
  const claims = await liveAccessToken(identity, token);
  if (!claims || claims.client_id !== client.id) return false;
  await revokeAccessToken(identity, client.id, claims.jti, claims.exp);
  return true;
}
