/** Shared helpers for token tests: a settable clock, a ring, and hand-built (forged) tokens. */
import { createHmac, type KeyObject, sign } from "node:crypto";
import { createKeyRing, type KeyRingOptions } from "../../../src/core/tokens/key-ring.ts";
import { generateSigningKey, type SigningAlgorithm, type SigningKeyRecord } from "../../../src/core/tokens/keys.ts";

export const ISSUER = "https://issuer.test";
export const AUDIENCE = "https://api.test";
/** 2030-01-01T00:00:00Z, in epoch milliseconds. */
export const T0 = Date.UTC(2030, 0, 1);

export function settableClock(start = T0) {
  let now = start;
  const clock = () => now;
  clock.set = (ms: number) => {
    now = ms;
  };
  clock.advance = (seconds: number) => {
    now += seconds * 1000;
  };
  return clock;
}

export async function ringWith(alg: SigningAlgorithm, options: KeyRingOptions = {}) {
  const record = await generateSigningKey(alg, { clock: () => T0 });
  return { record, ring: await createKeyRing([record], options) };
}

export const b64url = (value: unknown) =>
  Buffer.from(typeof value === "string" ? value : JSON.stringify(value)).toString("base64url");

export function claimsAt(seconds: number, extra: Record<string, unknown> = {}) {
  return { iss: ISSUER, aud: AUDIENCE, sub: "user-1", iat: seconds, nbf: seconds, exp: seconds + 600, jti: "j1", client_id: "rampart", roles: ["user"], ...extra };
}

/** A compact JWS HMAC-SHA256'd with whatever bytes the attacker chose as the "secret". */
export function forgeHs256(header: object, payload: object, secret: string | Uint8Array): string {
  const input = `${b64url(header)}.${b64url(payload)}`;
  return `${input}.${createHmac("sha256", secret).update(input).digest("base64url")}`;
}

/** A compact JWS signed with an attacker's own Ed25519 key (node:crypto, no jose involved). */
export function forgeEdDsa(header: object, payload: object, privateKey: KeyObject): string {
  const input = `${b64url(header)}.${b64url(payload)}`;
  return `${input}.${sign(null, Buffer.from(input), privateKey).toString("base64url")}`;
}

export function recordAt(record: SigningKeyRecord, createdAt: number, retiredAt?: number): SigningKeyRecord {
  return retiredAt === undefined ? { ...record, createdAt } : { ...record, createdAt, retiredAt };
}
