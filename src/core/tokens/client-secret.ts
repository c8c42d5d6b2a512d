/**
 * OAuth service-client credentials. The id (`rmpc_` + 22 base62, ~131 bits) is an identifier, not a
 * secret; the secret is the API-token format with its own prefix (`rmps_` + 256 bits + checksum), so a
 * secret scanner tells the two apart and a typo is refused before any lookup. Storage keeps only the
 * secret's SHA-256, and `clientSecretMatches` compares in constant time.
 */
import { createSecretFormat, type GeneratedApiToken, hashApiToken, randomBase62 } from "./api-token.ts";
import { digestsEqual } from "./digest.ts";

export const CLIENT_ID_PREFIX = "rmpc_";
export const CLIENT_SECRET_PREFIX = "rmps_";
const CLIENT_ID_SHAPE = /^rmpc_[0-9A-Za-z]{22}$/;

const SECRETS = createSecretFormat(CLIENT_SECRET_PREFIX, "client secret");

export function generateClientId(): string {
  return `${CLIENT_ID_PREFIX}${randomBase62(22)}`;
}

/** Whether a string could be a client id at all (shape only): anything else is never looked up. */
export function isClientIdShaped(value: unknown): value is string {
  return typeof value === "string" && CLIENT_ID_SHAPE.test(value);
}

export function generateClientSecret(): GeneratedApiToken {
  return SECRETS.generate();
}

/** True when the secret is well formed (checksum included); never throws. */
export function isClientSecretShaped(value: unknown): value is string {
  try {
    SECRETS.parse(value);
    return true;
  } catch {
    return false;
  }
}

export function hashClientSecret(secret: string): string {
  return hashApiToken(secret);
}

/** Constant-time comparison of a presented secret with a stored SHA-256 hex. */
export function clientSecretMatches(secret: string, secretHash: string): boolean {
  return digestsEqual(hashClientSecret(secret), secretHash);
}
