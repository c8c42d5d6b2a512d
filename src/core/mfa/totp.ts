/**
 * TOTP (RFC 6238) over HOTP (RFC 4226): HMAC-SHA-1, 6 digits, 30 s steps, one step of drift either way
 * (RFC 6238 §5.2). Framework-free. Replay protection needs state: `verifyTotp` returns the matched time
 * step, and the caller accepts it only if it is greater than the last step it accepted for that user
 * (RFC 6238 §5.2: "the verifier MUST NOT accept the second attempt of the OTP").
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

export const TOTP_DIGITS = 6;
export const TOTP_PERIOD_SECONDS = 30;
export const TOTP_DRIFT_STEPS = 1;
/** 160 bits: the HMAC-SHA-1 block-size-friendly length RFC 4226 §4 recommends (R6). */
export const TOTP_SECRET_BYTES = 20;

const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/** RFC 4648 base32, upper case, no padding (what authenticator apps expect in `secret=`). */
export function base32Encode(bytes: Uint8Array): string {
  let out = "";
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(buffer >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(buffer << (5 - bits)) & 31];
  return out;
}

/** @throws TypeError on a character outside the base32 alphabet. Padding and case are ignored. */
export function base32Decode(text: string): Buffer {
  const clean = text.replace(/=+$/, "").toUpperCase();
  const out: number[] = [];
  let buffer = 0;
  let bits = 0;
  for (const char of clean) {
    const value = BASE32.indexOf(char);
    if (value < 0) throw new TypeError("not a base32 string");
    buffer = ((buffer << 5) | value) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      out.push((buffer >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

export function generateTotpSecret(): Buffer {
  return randomBytes(TOTP_SECRET_BYTES);
}

/** RFC 4226 §5.3: HMAC, dynamic truncation, modulo 10^digits, zero-padded. */
export function hotp(secret: Uint8Array, counter: number, digits = TOTP_DIGITS): string {
  const message = Buffer.alloc(8);
  message.writeBigUInt64BE(BigInt(counter));
  const mac = createHmac("sha1", secret).update(message).digest();
  const offset = (mac[mac.length - 1] ?? 0) & 0x0f;
  const binary = mac.readUInt32BE(offset) & 0x7fffffff;
  return String(binary % 10 ** digits).padStart(digits, "0");
}

export function totpStep(nowMs: number): number {
  return Math.floor(nowMs / 1000 / TOTP_PERIOD_SECONDS);
}

export function totp(secret: Uint8Array, nowMs: number, digits = TOTP_DIGITS): string {
  return hotp(secret, totpStep(nowMs), digits);
}

/**
 * The time step `code` belongs to within ±1 step of `nowMs`, or undefined. Steps at or below
 * `afterStep` are never matched (each code is accepted once). Every candidate is compared, in constant
 * time, so the answer's timing does not say which step matched.
 */
export function verifyTotp(secret: Uint8Array, code: string, nowMs: number, afterStep = -1): number | undefined {
  if (!/^\d{6}$/.test(code)) return undefined;
  const presented = Buffer.from(code);
  const current = totpStep(nowMs);
  let matched: number | undefined;
  for (let step = current - TOTP_DRIFT_STEPS; step <= current + TOTP_DRIFT_STEPS; step++) {
    const equal = timingSafeEqual(Buffer.from(hotp(secret, step)), presented);
    if (equal && step > afterStep && matched === undefined) matched = step;
  }
  return matched;
}

/** The Key Uri Format of Google Authenticator, understood by every authenticator app. */
export function otpauthUri(options: { issuer: string; account: string; secret: string }): string {
  const label = `${encodeURIComponent(options.issuer)}:${encodeURIComponent(options.account)}`;
  const query = `secret=${options.secret}&issuer=${encodeURIComponent(options.issuer)}&algorithm=SHA1&digits=${TOTP_DIGITS}&period=${TOTP_PERIOD_SECONDS}`;
  return `otpauth://totp/${label}?${query}`;
}
