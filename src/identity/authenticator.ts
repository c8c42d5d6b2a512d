/**
 * Turns a presented credential into a principal. JWTs: verified (cached by exact token string until
 * `exp`), then the revocation list and the user's current state are checked on EVERY request — the
 * cache never outlives a logout, a password change or a disabled account. API tokens: the checksum
 * rejects garbage before any lookup; the stored hash, expiry and revocation are checked each time.
 * A JWT whose `client_id` is not Rampart's own was issued to an OAuth service client (client
 * credentials): it becomes a client principal whose permissions are its scopes, refused once the client
 * is deleted.
 */
import { RampartError } from "../core/errors.ts";
import { redisUnavailable } from "../core/ratelimit/redis-store.ts";
import { type AccessTokenClaims, API_TOKEN_LENGTH, hashApiToken, parseApiToken, RAMPART_CLIENT_ID } from "../core/tokens/index.ts";
import type { Authenticator } from "../http/stages/authenticate.ts";
import { BEARER_CHALLENGE } from "../http/stages/authenticate.ts";
import type { CredentialKind, Principal } from "../http/request-state.ts";
import type { PipelineRequest } from "../http/stage-io.ts";
import { type CachedApiToken, verifiedApiToken } from "./api-token-cache.ts";
import type { IdentityContext } from "./context.ts";
import { readCredential } from "./credentials.ts";
import type { ClientState } from "./client-state.ts";
import type { UserState } from "./user-state.ts";

const TOUCH_INTERVAL_MS = 60_000;

export function invalidToken(reason: string, description = "The access token is invalid, expired or revoked."): RampartError {
  return new RampartError("RAMPART_ERR_INVALID_TOKEN", {
    reason,
    headers: { "www-authenticate": `${BEARER_CHALLENGE}, error="invalid_token", error_description="${description}"` },
  });
}

function isWellFormedApiToken(token: string): boolean {
  try {
    parseApiToken(token);
    return true;
  } catch {
    return false;
  }
}

const invalidApiToken = (reason: string) => invalidToken(reason, "The API token is invalid, expired or revoked.");

export function createAuthenticator(identity: IdentityContext): Authenticator {
  const lastTouched = new Map<string, number>();

  function principalFromClaims(claims: AccessTokenClaims, via: CredentialKind, user: UserState | undefined): Principal {
    if (!user || user.disabled) throw invalidToken(user ? "user disabled" : "unknown user");
    return {
      userId: user.id,
      email: user.email,
      roles: user.roles,
      via,
      credentialId: claims.jti,
      ...(claims.sid ? { sessionId: claims.sid } : {}),
      expiresAt: claims.exp,
      permissions: user.permissions,
    };
  }

  function principalFromClient(claims: AccessTokenClaims, client: ClientState | undefined): Principal {
    if (!client) throw invalidToken("unknown or deleted service client");
    return {
      userId: client.id,
      clientId: client.id,
      roles: [],
      via: "bearer",
      credentialId: claims.jti,
      scopes: claims.scope ? claims.scope.split(" ") : [],
      expiresAt: claims.exp,
      permissions: client.permissionsFor(claims.scope ?? ""),
    };
  }

  /** Checked on every request, cached token or not: revocation and the user's current state. */
  function admit(claims: AccessTokenClaims, via: CredentialKind): Principal | Promise<Principal> {
    if (identity.revocations.isRevoked(claims)) throw invalidToken("revoked");
    if (!identity.revocationsInSync()) return admitFromStorage(claims, via);
    if (claims.client_id !== RAMPART_CLIENT_ID) {
      // Only ever sent as a bearer token, and only for itself (client credentials: sub = client_id).
      if (via !== "bearer" || claims.sub !== claims.client_id) throw invalidToken("service-client token misused");
      const client = identity.clients.get(claims.client_id);
      return client instanceof Promise ? client.then((c) => principalFromClient(claims, c)) : principalFromClient(claims, client);
    }
    const user = identity.users.get(claims.sub);
    return user instanceof Promise ? user.then((u) => principalFromClaims(claims, via, u)) : principalFromClaims(claims, via, user);
  }

  /**
   * While revocations and changes may be missed (the broadcast is down), the local deny list and caches
   * cannot vouch for a token: storage decides each request, or — failing closed — nobody is admitted.
   */
  async function admitFromStorage(claims: AccessTokenClaims, via: CredentialKind): Promise<Principal> {
    if (identity.config.rateLimit.failurePolicy === "closed") {
      throw redisUnavailable("revocation broadcast unavailable and failurePolicy is closed");
    }
    if (await identity.repos.revocations.isRevoked(claims.jti, claims.sid, new Date())) throw invalidToken("revoked");
    if (claims.client_id !== RAMPART_CLIENT_ID) {
      if (via !== "bearer" || claims.sub !== claims.client_id) throw invalidToken("service-client token misused");
      return principalFromClient(claims, await identity.clients.load(claims.client_id));
    }
    return principalFromClaims(claims, via, await identity.users.load(claims.sub));
  }

  /** Synchronous when the token and the user are both cached: the common case costs no promise. */
  function fromJwt(token: string, via: CredentialKind): Principal | Promise<Principal> {
    let claims: AccessTokenClaims;
    try {
      claims = identity.verifier.verifyNow(token);
    } catch (error) {
      throw invalidToken((error as RampartError).reason ?? "verification failed");
    }
    return admit(claims, via);
  }

  function peekJwt(token: string): Principal | undefined {
    if (!identity.revocationsInSync()) return undefined;
    const claims = identity.verifier.verifyCached(token);
    if (!claims || claims.client_id !== RAMPART_CLIENT_ID || identity.revocations.isRevoked(claims)) return undefined;
    const user = identity.users.peek(claims.sub);
    return user && !user.disabled ? principalFromClaims(claims, "bearer", user) : undefined;
  }

  function peekApiToken(token: string): Principal | undefined {
    if (!isWellFormedApiToken(token) || !apiTokensCacheable()) return undefined;
    const cached = identity.apiTokens.get(hashApiToken(token));
    if (!cached || (cached.expiresAtMs !== undefined && cached.expiresAtMs <= Date.now())) return undefined;
    const user = identity.users.peek(cached.userId);
    if (!user || user.disabled) return undefined;
    return apiTokenPrincipal(cached, user);
  }

  /**
   * API tokens: the checksum refuses garbage before any lookup; a token found valid in storage is then
   * served from memory (synchronously, when its owner is cached too) for as long as the cache can be
   * trusted (see `apiTokensCacheable`); expiry and the owner's state are checked on every request.
   */
  function fromApiToken(token: string): Principal | Promise<Principal> {
    const cacheable = apiTokensCacheable();
    // A cached hash belongs to a token that passed the checksum when it was loaded: only a token of the
    // right length is hashed before that check, so junk of any size costs no hash.
    const secretHash = token.length === API_TOKEN_LENGTH ? hashApiToken(token) : undefined;
    const cached = cacheable && secretHash !== undefined ? identity.apiTokens.get(secretHash) : undefined;
    if (cached) {
      const user = identity.users.get(cached.userId);
      return user instanceof Promise ? user.then((u) => admitApiToken(cached, u)) : admitApiToken(cached, user);
    }
    try {
      parseApiToken(token);
    } catch (error) {
      throw invalidApiToken((error as RampartError).reason ?? "malformed API token");
    }
    return loadApiToken(secretHash ?? hashApiToken(token), cacheable);
  }

  async function loadApiToken(secretHash: string, cacheable: boolean): Promise<Principal> {
    const generation = identity.apiTokens.generation;
    const record = await identity.repos.apiTokens.findBySecretHash(secretHash);
    if (!record || record.revokedAt) throw invalidApiToken(record ? "API token revoked" : "unknown API token");
    const user = cacheable ? await identity.users.get(record.userId) : await identity.users.load(record.userId);
    // An expired token is refused by admitApiToken; caching it anyway costs one entry until evicted.
    const verified = cacheable ? identity.apiTokens.set(secretHash, record, generation) : verifiedApiToken(record);
    return admitApiToken(verified, user);
  }

  function admitApiToken(token: CachedApiToken, user: UserState | undefined): Principal {
    const now = Date.now();
    if (token.expiresAtMs !== undefined && token.expiresAtMs <= now) throw invalidApiToken("API token expired");
    if (!user || user.disabled) throw invalidApiToken("user disabled");
    touch(token.id, now);
    return apiTokenPrincipal(token, user);
  }

  function apiTokenPrincipal(token: CachedApiToken, user: UserState): Principal {
    return {
      userId: user.id,
      email: user.email,
      roles: user.roles,
      via: "api-token",
      credentialId: token.id,
      scopes: token.scopes,
      // A token's scopes only ever narrow what its owner may do now.
      permissions: token.permissionsFor(user.permissions),
    };
  }

  /** `last_used_at` is written at most once a minute per token and instance, off the request's path. */
  function touch(tokenId: string, now: number): void {
    if ((lastTouched.get(tokenId) ?? 0) + TOUCH_INTERVAL_MS >= now) return;
    lastTouched.set(tokenId, now);
    if (lastTouched.size > 10_000) lastTouched.clear();
    identity.repos.apiTokens.touchLastUsed(tokenId, new Date(now)).catch((error) => {
      identity.logger.warn({ err: error }, "could not record API token use");
    });
  }

  /**
   * Whether a cached API token may be trusted: only while every change made elsewhere reaches this
   * instance. With Redis: while the broadcast is in sync. Without Redis on SQLite: always, once SQLite
   * says no other process (a CLI command) committed since the last look — if one did, the caches are
   * dropped first. On PostgreSQL without Redis there is no such signal: storage is read every time.
   */
  function apiTokensCacheable(): boolean {
    if (identity.redis) return identity.revocationsInSync();
    const changedElsewhere = identity.database.changedElsewhere;
    if (!changedElsewhere) return false;
    if (changedElsewhere()) identity.forgetCachedState();
    return true;
  }

  return {
    /**
     * The principal `authenticate` would produce for a bearer JWT or an API token, when it can be known
     * from memory alone: the credential verified before and cached, not revoked or expired, the caches
     * trustworthy (in sync), the owner cached and enabled. Otherwise undefined (a refusal included:
     * stage 5 produces that). No storage read and nothing recorded; at most it drops caches that another
     * process made stale (apiTokensCacheable), which stage 5 would do the same tick.
     */
    peek(request: PipelineRequest): Principal | undefined {
      const credential = readCredential(request, identity.config.production || request.rampart.client.scheme === "https");
      if (credential === undefined || credential.kind === "cookie" || credential.kind === "malformed") return undefined;
      const accepted = request.routeOptions.config?.rampart?.credentials;
      if (accepted && !accepted.includes(credential.kind)) return undefined;
      return credential.kind === "bearer" ? peekJwt(credential.token) : peekApiToken(credential.token);
    },
    authenticate(request: PipelineRequest) {
      const credential = readCredential(request, identity.config.production || request.rampart.client.scheme === "https");
      if (!credential) return undefined;
      const accepted = request.routeOptions.config?.rampart?.credentials;
      if (credential.kind === "malformed") throw invalidToken("malformed Authorization header");
      if (accepted && !accepted.includes(credential.kind)) throw invalidToken(`${credential.kind} not accepted on this route`);
      if (credential.kind === "api-token") return fromApiToken(credential.token);
      return fromJwt(credential.token, credential.kind);
    },
  };
}
