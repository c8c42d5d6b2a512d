/**
 * Signing keys as storable records. Everything about one `alg` lives in `ALGORITHMS`, so the key type a
 * token may be verified with follows from the algorithm pinned to its `kid`, never from the token.
 */
import { randomBytes } from "node:crypto";
import { exportJWK, generateKeyPair, type JWK } from "jose";

export type SigningAlgorithm = "EdDSA" | "ES256" | "HS256";

interface AlgorithmSpec {
  readonly kty: "OKP" | "EC" | "oct";
  readonly crv?: string;
}

export const ALGORITHMS: Readonly<Record<SigningAlgorithm, AlgorithmSpec>> = {
  EdDSA: { kty: "OKP", crv: "Ed25519" },
  ES256: { kty: "EC", crv: "P-256" },
  HS256: { kty: "oct" },
};

/** RFC 7518 §3.2: an HS256 key must be at least as long as the hash output (256 bits). */
export const MIN_HMAC_SECRET_BYTES = 32;

export interface SigningKeyRecord {
  readonly kid: string;
  readonly alg: SigningAlgorithm;
  /** Private JWK (for HS256 the `oct` secret). Store encrypted; never publish. */
  readonly privateJwk: JWK;
  /** Public JWK to publish in the JWKS; `null` for HS256, which has no public part. */
  readonly publicJwk: JWK | null;
  /** Epoch seconds. The newest non-retired key signs. */
  readonly createdAt: number;
  /** Epoch seconds; once set the key no longer signs and verifies only for a grace window. */
  readonly retiredAt?: number;
}

export interface GenerateSigningKeyOptions {
  /** HS256 only: the shared secret, at least 32 bytes. Random when omitted. */
  secret?: string | Uint8Array;
  /** Epoch milliseconds; defaults to `Date.now`. */
  clock?: () => number;
}

export function isSigningAlgorithm(value: unknown): value is SigningAlgorithm {
  return typeof value === "string" && Object.hasOwn(ALGORITHMS, value);
}

/** The secret as its own byte copy, after checking its length. */
export function hmacSecretBytes(secret: string | Uint8Array): Uint8Array<ArrayBuffer> {
  const bytes = typeof secret === "string" ? new TextEncoder().encode(secret) : new Uint8Array(secret);
  if (bytes.byteLength < MIN_HMAC_SECRET_BYTES) {
    throw new TypeError(`"secret" must be at least ${MIN_HMAC_SECRET_BYTES} bytes for HS256`);
  }
  return bytes;
}

/**
 * A random kid, not an RFC 7638 thumbprint: the kid travels in every token header, and the thumbprint
 * of an HS256 secret would hand attackers an offline oracle for guessing it.
 */
function newKid(): string {
  return randomBytes(16).toString("base64url");
}

export async function generateSigningKey(
  alg: SigningAlgorithm,
  options: GenerateSigningKeyOptions = {},
): Promise<SigningKeyRecord> {
  if (!isSigningAlgorithm(alg)) throw new TypeError(`"alg" must be one of ${Object.keys(ALGORITHMS).join(", ")}`);
  if (options.secret !== undefined && alg !== "HS256") throw new TypeError(`"secret" is only for HS256, not ${alg}`);
  const kid = newKid();
  const createdAt = Math.floor((options.clock ?? Date.now)() / 1000);
  if (alg === "HS256") {
    const secret = options.secret === undefined ? randomBytes(MIN_HMAC_SECRET_BYTES) : hmacSecretBytes(options.secret);
    const privateJwk: JWK = { kty: "oct", k: Buffer.from(secret).toString("base64url"), kid, alg, use: "sig" };
    return { kid, alg, privateJwk, publicJwk: null, createdAt };
  }
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const privateJwk: JWK = { ...(await exportJWK(privateKey)), kid, alg, use: "sig" };
  const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid, alg, use: "sig" };
  return { kid, alg, privateJwk, publicJwk, createdAt };
}
