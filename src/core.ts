/**
 * `rampart/core`: the engines without any framework. Each is documented where it is defined; the
 * README's "rampart/core" section has one example of each.
 */
// Access tokens (RFC 9068 JWTs): local key ring, or a remote issuer's JWKS.
export {
  type AccessTokenClaims,
  type AccessTokenIssuer,
  type AccessTokenVerifier,
  createAccessTokenIssuer,
  createAccessTokenVerifier,
  createKeyRing,
  generateSigningKey,
  type KeyRing,
  type SigningKeyRecord,
} from "./core/tokens/index.ts";
export { createRemoteKeySet, JwksFetchError, type RemoteKeySet, type RemoteKeySetOptions } from "./core/tokens/remote-key-set.ts";
export { createRemoteAccessTokenVerifier, type RemoteAccessTokenVerifierOptions } from "./core/tokens/remote-verifier.ts";
// Which Ed25519 check verifies EdDSA tokens here: libsodium (optional sodium-native) or node:crypto.
export { type Ed25519Backend, ed25519Backend } from "./core/tokens/ed25519.ts";
// API tokens: format, checksum, hash at rest.
export { API_TOKEN_PREFIX, apiTokenMatchesHash, generateApiToken, hashApiToken, parseApiToken } from "./core/tokens/index.ts";
// Revocation: the local deny list.
export { createRevocationList, type RevocationEntry, type RevocationList } from "./core/revocation.ts";
// Authorization: permissions, roles, object-level checks.
export {
  authorizeObject,
  BUILTIN_ROLES,
  can,
  compilePermissions,
  createRoleResolver,
  intersect,
  type PermissionSet,
  parsePermission,
  requirePermissions,
  type RoleResolver,
  type RoleTable,
} from "./core/authz/index.ts";
// Rate limiting: GCRA over a memory or Redis store, and the draft-ietf-httpapi-ratelimit-headers fields.
export {
  clientKey,
  createRateLimiter,
  type LimitRequest,
  MemoryRateLimitStore,
  parsePolicy,
  principalKey,
  type RateLimiter,
  type RateLimitOutcome,
  type RateLimitPolicy,
  type RateLimitStore,
  RedisRateLimitStore,
  rateLimitHeaders,
  rateLimitPolicyHeader,
} from "./core/ratelimit/index.ts";
// Client IP and scheme behind trusted proxies.
export { type ClientInfo, createClientResolver, parseTrustedProxies, type TrustedProxies } from "./core/client.ts";
// Errors and RFC 9457 problem documents.
export { type ErrorCode, isRampartError, RampartError } from "./core/errors.ts";
export { PROBLEM_CONTENT_TYPE, toProblem } from "./core/problems.ts";
