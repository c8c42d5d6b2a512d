/**
 * What the stores are keyed by. Emails are normalised as the identity layer compares them (trim, lower
 * case) so `Alice@X` and `alice@x ` share one counter, then hashed so no store ever holds a raw email;
 * client keys (addresses) are hashed too, which also bounds their length and keeps `{`/`}` out of Redis
 * hash tags.
 */
import { createHash } from "node:crypto";

export interface ThrottleKeys {
  /** SHA-256 of the normalised email, first 128 bits, hex. */
  readonly email: string;
  /** SHA-256 of the client key, first 128 bits, hex. */
  readonly client: string;
}

/** The same normalisation as the users table (trim, NFC, lowercase): one account, one counter. */
export function normalizeEmail(email: string): string {
  return email.trim().normalize("NFC").toLowerCase();
}

// 128 bits: collisions would need ~2^64 distinct emails; a collision only merges two counters anyway.
const digest = (kind: string, value: string) =>
  createHash("sha256").update(kind).update("\0").update(value).digest("hex").slice(0, 32);

export function throttleKeys(email: string, clientKey: string): ThrottleKeys {
  return { email: digest("email", normalizeEmail(email)), client: digest("client", clientKey) };
}
