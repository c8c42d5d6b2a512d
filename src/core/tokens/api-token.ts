/**
 * API tokens: `rmp_` + 43 base62 characters (≥ 256 bits of randomness) + a 6-character base62 CRC32 of
 * the random part, after GitHub's token format. The prefix lets secret scanners recognise a leaked
 * token; the checksum lets `parseApiToken` refuse typos and garbage without touching storage.
 */
import { randomBytes } from "node:crypto";
import { crc32 } from "node:zlib";
import { digestsEqual, sha256Hex } from "./digest.ts";
import { invalidToken } from "./invalid-token.ts";

export const API_TOKEN_PREFIX = "rmp_";
const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/** 62^43 > 2^256: 43 uniformly drawn base62 characters carry at least 256 bits. */
const RANDOM_LENGTH = 43;
const CHECKSUM_LENGTH = 6;
export const API_TOKEN_LENGTH = API_TOKEN_PREFIX.length + RANDOM_LENGTH + CHECKSUM_LENGTH;
/** Shown in listings so users can tell tokens apart: `rmp_` + 8 characters, ~48 of the 256 bits. */
const DISPLAY_PREFIX_LENGTH = 12;
const SHAPE = new RegExp(`^${API_TOKEN_PREFIX}[0-9A-Za-z]{${RANDOM_LENGTH + CHECKSUM_LENGTH}}$`);

export interface GeneratedApiToken {
  /** Show once to the user, never store. */
  readonly token: string;
  /** The first 12 characters, safe to store and display. */
  readonly prefix: string;
  /** SHA-256 hex of the whole token: what storage keeps and looks up. */
  readonly secretHash: string;
}

export interface ParsedApiToken {
  readonly token: string;
  readonly prefix: string;
}

function checksum(random: string): string {
  let n = crc32(random);
  let out = "";
  for (let i = 0; i < CHECKSUM_LENGTH; i++) {
    out = ALPHABET[n % 62] + out;
    n = Math.floor(n / 62);
  }
  return out;
}

function randomBase62(length: number): string {
  let out = "";
  while (out.length < length) {
    for (const byte of randomBytes(length)) {
      // Rejection sampling: 248 = 4 × 62, so bytes below it map onto the alphabet without bias.
      if (byte < 248 && out.length < length) out += ALPHABET[byte % 62];
    }
  }
  return out;
}

export function generateApiToken(): GeneratedApiToken {
  const random = randomBase62(RANDOM_LENGTH);
  const token = `${API_TOKEN_PREFIX}${random}${checksum(random)}`;
  return { token, prefix: token.slice(0, DISPLAY_PREFIX_LENGTH), secretHash: hashApiToken(token) };
}

/** Checks prefix, length, charset and checksum; throws RAMPART_ERR_INVALID_TOKEN with a reason. */
export function parseApiToken(value: unknown): ParsedApiToken {
  if (typeof value !== "string") throw invalidToken("api token: not a string");
  if (!value.startsWith(API_TOKEN_PREFIX)) throw invalidToken("api token: wrong prefix");
  if (value.length !== API_TOKEN_LENGTH) throw invalidToken("api token: wrong length");
  if (!SHAPE.test(value)) throw invalidToken("api token: wrong charset");
  const random = value.slice(API_TOKEN_PREFIX.length, API_TOKEN_PREFIX.length + RANDOM_LENGTH);
  if (value.slice(API_TOKEN_PREFIX.length + RANDOM_LENGTH) !== checksum(random)) throw invalidToken("api token: bad checksum");
  return { token: value, prefix: value.slice(0, DISPLAY_PREFIX_LENGTH) };
}

/**
 * SHA-256, not argon2: the token carries 256 random bits, so no guessing attack gets anywhere whatever
 * the hash speed; slow salted hashes exist for low-entropy human passwords. An unsalted fast hash also
 * lets storage find the token by an indexed equality lookup.
 */
export function hashApiToken(token: string): string {
  return sha256Hex(token);
}

/** For callers holding a stored hash (e.g. a cache row): a constant-time comparison. */
export function apiTokenMatchesHash(token: string, secretHash: string): boolean {
  return digestsEqual(hashApiToken(token), secretHash);
}
