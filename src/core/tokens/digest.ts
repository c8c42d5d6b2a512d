import { hash, timingSafeEqual } from "node:crypto";

/** One-shot `crypto.hash`: no Hash object per call (a third of `createHash`'s cost; API tokens hash per request). */
export function sha256Hex(value: string): string {
  return hash("sha256", value, "hex");
}

/**
 * Compares two hex digests without a data-dependent early exit, so response timing cannot reveal how
 * many leading characters of a stored hash an attacker's guess matched.
 */
export function digestsEqual(a: string, b: string): boolean {
  if (typeof a !== "string" || typeof b !== "string" || a.length !== b.length) return false;
  return timingSafeEqual(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}
