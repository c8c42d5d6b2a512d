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
/** Shown in listings so users can tell tokens apart: the prefix + 8 characters, ~48 of the 256 bits. */
const DISPLAY_RANDOM_LENGTH = 8;

export interface GeneratedApiToken {
  /** Show once to the user, never store. */
  readonly token: string;
  /** The first characters (prefix + 8), safe to store and display. */
  readonly prefix: string;
  /** SHA-256 hex of the whole token: what storage keeps and looks up. */
  readonly secretHash: string;
}

export interface ParsedApiToken {
  readonly token: string;
  readonly prefix: string;
}

/**
 * One secret format: `prefix` + 43 base62 characters + a 6-character base62 CRC32. API tokens (`rmp_`)
 * and service-client secrets (`rmps_`) share it, so scanners, checksums and hashing stay one code path.
 */
export interface SecretFormat {
  readonly prefix: string;
  readonly length: number;
  generate(): GeneratedApiToken;
  /** Checks prefix, length, charset and checksum; throws RAMPART_ERR_INVALID_TOKEN with a reason. */
  parse(value: unknown): ParsedApiToken;
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

/** `length` uniformly drawn base62 characters. */
export function randomBase62(length: number): string {
  let out = "";
  while (out.length < length) {
    for (const byte of randomBytes(length)) {
      // Rejection sampling: 248 = 4 × 62, so bytes below it map onto the alphabet without bias.
      if (byte < 248 && out.length < length) out += ALPHABET[byte % 62];
    }
  }
  return out;
}

/** @throws TypeError when the prefix is not lower-case letters ending in `_`. */
export function createSecretFormat(prefix: string, label: string): SecretFormat {
  if (!/^[a-z]+_$/.test(prefix)) throw new TypeError(`"prefix" must be lower-case letters ending in "_"`);
  const length = prefix.length + RANDOM_LENGTH + CHECKSUM_LENGTH;
  const displayLength = prefix.length + DISPLAY_RANDOM_LENGTH;
  const shape = new RegExp(`^${prefix}[0-9A-Za-z]{${RANDOM_LENGTH + CHECKSUM_LENGTH}}$`);
  return {
    prefix,
    length,
    generate() {
      const random = randomBase62(RANDOM_LENGTH);
      const token = `${prefix}${random}${checksum(random)}`;
      return { token, prefix: token.slice(0, displayLength), secretHash: hashApiToken(token) };
    },
    parse(value) {
      if (typeof value !== "string") throw invalidToken(`${label}: not a string`);
      if (!value.startsWith(prefix)) throw invalidToken(`${label}: wrong prefix`);
      if (value.length !== length) throw invalidToken(`${label}: wrong length`);
      if (!shape.test(value)) throw invalidToken(`${label}: wrong charset`);
      const random = value.slice(prefix.length, prefix.length + RANDOM_LENGTH);
      if (value.slice(prefix.length + RANDOM_LENGTH) !== checksum(random)) throw invalidToken(`${label}: bad checksum`);
      return { token: value, prefix: value.slice(0, displayLength) };
    },
  };
}

const API_TOKENS = createSecretFormat(API_TOKEN_PREFIX, "api token");
export const API_TOKEN_LENGTH = API_TOKENS.length;

export function generateApiToken(): GeneratedApiToken {
  return API_TOKENS.generate();
}

/** Checks prefix, length, charset and checksum; throws RAMPART_ERR_INVALID_TOKEN with a reason. */
export function parseApiToken(value: unknown): ParsedApiToken {
  return API_TOKENS.parse(value);
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
