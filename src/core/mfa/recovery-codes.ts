/**
 * Recovery codes: ten per user, `xxxx-xxxx-xxxx` over a 31-letter alphabet without look-alikes
 * (12 × log2 31 ≈ 59 bits each), stored only as SHA-256 hashes. A plain hash (no salt, no KDF) is enough
 * for 59 random bits: nothing to brute-force offline that would be cheaper than guessing online,
 * and it allows lookup by hash.
 */
import { createHash, randomInt } from "node:crypto";

export const RECOVERY_CODE_COUNT = 10;
// Crockford-like: no 0/o, 1/l/i, so a code read off paper is typed right.
const ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789";
const GROUPS = 3;
const GROUP_LENGTH = 4;

export function generateRecoveryCodes(count = RECOVERY_CODE_COUNT): string[] {
  return Array.from({ length: count }, () =>
    Array.from({ length: GROUPS }, () => Array.from({ length: GROUP_LENGTH }, () => ALPHABET[randomInt(ALPHABET.length)]).join("")).join("-"),
  );
}

/** Case, spaces and dashes do not matter when the user types a code back. */
export function normaliseRecoveryCode(code: string): string {
  return code.toLowerCase().replace(/[\s-]/g, "");
}

export function hashRecoveryCode(code: string): string {
  return createHash("sha256").update(`rampart-recovery:${normaliseRecoveryCode(code)}`).digest("base64url");
}
