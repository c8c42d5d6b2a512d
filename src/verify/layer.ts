/**
 * Verify-only mode: a service with no users and no database of its own that accepts the access tokens
 * a Rampart server issues. Keys come from the issuer's JWKS (refreshed on an unknown kid, bounded);
 * with `redisUrl` the issuer's revocations (logout, password change, disabled user, refresh-token reuse)
 * reach this service the moment they happen, and those still in force are loaded at start. Roles and
 * permissions come from the token's `roles` claim, resolved through the built-in and application roles:
 * a role change made at the issuer reaches this service with the next access token (at most
 * `tokens.accessTtlSeconds` later), while a revocation reaches it at once.
 */
import type { Logger } from "pino";
import type { ResolvedConfig } from "../config/resolve.ts";
import { BUILTIN_ROLES, compilePermissions, createRoleResolver, intersect, type RoleTable } from "../core/authz/index.ts";
import { redisUnavailable } from "../core/ratelimit/redis-store.ts";
import { createRedisClient } from "../core/redis.ts";
import { createRevocationList } from "../core/revocation.ts";
import type { AccessTokenClaims } from "../core/tokens/access-token.ts";
import { createRemoteKeySet } from "../core/tokens/remote-key-set.ts";
import { createRemoteAccessTokenVerifier } from "../core/tokens/remote-verifier.ts";
import type { Principal } from "../http/request-state.ts";
import type { Authenticator } from "../http/stages/authenticate.ts";
import { createAuthorizeStage } from "../http/stages/authorize.ts";
import { loadRevocationBacklog, startBroadcast } from "../identity/broadcast.ts";
import { invalidToken } from "../identity/authenticator.ts";
import { readCredential } from "../identity/credentials.ts";
import { openLimits, type ProtectionLayer } from "../server/layers.ts";

/** The `client_id` of tokens a Rampart server issues to its users (createAccessTokenIssuer's default). */
const USER_CLIENT_ID = "rampart";

export interface VerifyOptions {
  /** The issuer's JWKS URL, e.g. https://auth.example.com/.well-known/jwks.json. */
  jwks: string;
  /** `iss` the tokens must carry (the issuer's `tokens.issuer`). */
  issuer: string;
  /** `aud` the tokens must carry (the issuer's `tokens.audience`). */
  audience: string | readonly string[];
}

export async function openVerifyLayer(
  config: ResolvedConfig,
  logger: Logger,
  options: VerifyOptions,
  appRoles: RoleTable = {},
): Promise<ProtectionLayer> {
  const keys = createRemoteKeySet({ url: options.jwks });
  await keys.ready().catch((error: Error) => {
    // Starting before the issuer is normal in a fleet: tokens are refused (and /readyz says so) until
    // the keys arrive.
    logger.error({ err: { message: error.message } }, "verify-only: JWKS not loaded yet; tokens are refused until it is");
  });
  const verifier = createRemoteAccessTokenVerifier({
    keys,
    issuer: options.issuer,
    audience: options.audience,
    clockTolerance: config.tokens.clockToleranceSeconds,
  });
  const revocations = createRevocationList({
    accessTokenLifetime: config.tokens.accessTtlSeconds,
    clockTolerance: config.tokens.clockToleranceSeconds,
  });
  const roles = createRoleResolver({ ...BUILTIN_ROLES, ...appRoles });

  const redis = config.redisUrl ? createRedisClient(config.redisUrl, { enableOfflineQueue: true, maxRetriesPerRequest: 1 }) : undefined;
  redis?.on("error", (error) => logger.warn({ err: { message: error.message } }, "redis error"));
  const resync = async () => {
    if (redis) await loadRevocationBacklog(redis, revocations);
  };
  const broadcast = redis
    ? startBroadcast(redis, { revocations, invalidateUser: () => {}, reloadRoles: async () => {}, resync }, logger)
    : undefined;
  // With no storage of its own, a verify-only service that has lost the broadcast can only refuse
  // (failurePolicy closed) or go on with the deny list it has (open) until it catches up from the backlog.
  const refuseOutOfSync = config.rateLimit.failurePolicy === "closed";
  if (redis) {
    const loaded = await loadRevocationBacklog(redis, revocations).catch((error: Error) => {
      logger.error({ err: { message: error.message } }, "verify-only: could not load revocations in force from Redis");
      return 0;
    });
    logger.info({ revocations: loaded }, "verify-only: revocations in force loaded");
  }

  function principalOf(claims: AccessTokenClaims): Principal {
    if (revocations.isRevoked(claims)) throw invalidToken("revoked");
    if (refuseOutOfSync && broadcast && !broadcast.inSync) {
      throw redisUnavailable("revocation broadcast unavailable and failurePolicy is closed");
    }
    const scopes = claims.scope ? claims.scope.split(" ") : undefined;
    // A service client's token (OAuth client credentials: client_id is the client, not the issuer's own
    // user client) holds exactly its scopes; a user's token holds its roles' grants, narrowed by scopes.
    const granted = claims.client_id === USER_CLIENT_ID ? roles.permissionsFor(claims.roles) : compilePermissions(scopes ?? []);
    return {
      userId: claims.sub,
      roles: claims.roles,
      via: "bearer",
      credentialId: claims.jti,
      ...(claims.sid ? { sessionId: claims.sid } : {}),
      expiresAt: claims.exp,
      ...(scopes ? { scopes } : {}),
      permissions: scopes && claims.client_id === USER_CLIENT_ID ? intersect(granted, compilePermissions(scopes)) : granted,
    };
  }

  const authenticator: Authenticator = {
    authenticate(request) {
      const credential = readCredential(request, true);
      if (!credential) return undefined;
      if (credential.kind !== "bearer") {
        throw invalidToken(`${credential.kind} credential`, "This service accepts Bearer access tokens only.");
      }
      const cached = verifier.verifyCached(credential.token);
      if (cached) return principalOf(cached);
      return verifier.verify(credential.token).then(principalOf, (error: { reason?: string }) => {
        throw invalidToken(error.reason ?? "verification failed");
      });
    },
  };

  authenticator.peek = (request) => {
    const credential = readCredential(request, true);
    if (credential?.kind !== "bearer" || (broadcast && !broadcast.inSync)) return undefined;
    const cached = verifier.verifyCached(credential.token);
    if (!cached || revocations.isRevoked(cached)) return undefined;
    return principalOf(cached);
  };
  const limits = openLimits(config, logger, undefined, authenticator);
  return {
    authenticator,
    ...(limits ? { onRoute: limits.onRoute, routeLimits: { client: limits.limitClientOwn, principal: limits.limitPrincipalOwn } } : {}),
    stages: {
      ...(limits ? { "limit-client": limits.limitClient, "limit-principal": limits.limitPrincipal } : {}),
      authorize: createAuthorizeStage(),
    },
    readiness: [
      {
        name: "jwks",
        check: async () => {
          if (keys.kids().length > 0) return;
          await keys.refresh();
          if (keys.kids().length === 0) throw new Error("no signing keys loaded");
        },
      },
      ...(redis ? [{ name: "redis", check: async () => void (await redis.ping()) }] : []),
    ],
    async close() {
      await broadcast?.close();
      redis?.disconnect();
      await limits?.store.close();
    },
  };
}
