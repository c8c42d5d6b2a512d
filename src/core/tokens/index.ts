export type {
  AccessTokenClaims,
  AccessTokenIssuer,
  AccessTokenIssuerOptions,
  AccessTokenVerifier,
  AccessTokenVerifierOptions,
  IssueAccessTokenInput,
  IssuedAccessToken,
} from "./access-token.ts";
export { createAccessTokenIssuer, createAccessTokenVerifier, RAMPART_CLIENT_ID } from "./access-token.ts";
export type { GeneratedApiToken, ParsedApiToken } from "./api-token.ts";
export {
  CLIENT_ID_PREFIX,
  CLIENT_SECRET_PREFIX,
  clientSecretMatches,
  generateClientId,
  generateClientSecret,
  hashClientSecret,
  isClientIdShaped,
  isClientSecretShaped,
} from "./client-secret.ts";
export { API_TOKEN_LENGTH, API_TOKEN_PREFIX, apiTokenMatchesHash, generateApiToken, hashApiToken, parseApiToken } from "./api-token.ts";
export { digestsEqual } from "./digest.ts";
export type { KeyRing, KeyRingOptions, RingKey } from "./key-ring.ts";
export { createKeyRing } from "./key-ring.ts";
export type { GenerateSigningKeyOptions, SigningAlgorithm, SigningKeyRecord } from "./keys.ts";
export { generateSigningKey, MIN_HMAC_SECRET_BYTES } from "./keys.ts";
export type { GeneratedRefreshToken } from "./refresh-token.ts";
export { generateRefreshToken, hashRefreshToken, isRefreshTokenShaped } from "./refresh-token.ts";
