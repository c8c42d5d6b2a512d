/**
 * The key ring: signing-key records imported once into CryptoKeys, the key that signs now, lookup by
 * `kid` for verification, and the public JWKS. Each key is pinned to the one `alg` of its record.
 */
import { importJWK, type JSONWebKeySet, type JWK } from "jose";
import { type SignatureCheck, signatureCheckFor } from "./signature.ts";
import { ALGORITHMS, hmacSecretBytes, isSigningAlgorithm, type SigningAlgorithm, type SigningKeyRecord } from "./keys.ts";

export interface RingKey {
  readonly kid: string;
  readonly alg: SigningAlgorithm;
  readonly signingKey: CryptoKey;
  readonly verificationKey: CryptoKey;
  /** The same key as a synchronous node:crypto check (signature.ts): what verification uses. */
  readonly checkSignature: SignatureCheck;
  readonly createdAt: number;
  readonly retiredAt: number | undefined;
  /**
   * Epoch seconds after which tokens under this kid are refused: `Infinity` while in service, else
   * retirement + access-token lifetime + clock tolerance, when every token it signed has expired.
   */
  readonly verifiesUntil: number;
}

export interface KeyRing {
  /** The newest non-retired key: it signs every new token. */
  readonly active: RingKey;
  get(kid: string): RingKey | undefined;
  /** Public keys still verifying (never `d`, never an `oct` secret), for `/.well-known/jwks.json`. */
  jwks(): JSONWebKeySet;
}

export interface KeyRingOptions {
  /** Seconds an access token lives; a retired key verifies this long after retirement. Default 600. */
  accessTokenLifetime?: number;
  /** Seconds of clock skew the verifier tolerates. Default 5. */
  clockTolerance?: number;
  /** Epoch milliseconds; defaults to `Date.now`. Used by `jwks()` only. */
  clock?: () => number;
}

function nonNegativeInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 0) throw new TypeError(`"${name}" must be a non-negative integer`);
  return value;
}

function checkShape(record: SigningKeyRecord): void {
  const spec = ALGORITHMS[record.alg];
  const where = `signing key "${record.kid}"`;
  if (record.privateJwk.kty !== spec.kty || record.privateJwk.crv !== spec.crv) {
    throw new TypeError(`${where}: private JWK does not match alg ${record.alg}`);
  }
  if (spec.kty === "oct") {
    if (record.publicJwk !== null) throw new TypeError(`${where}: HS256 has no public key to publish`);
    return;
  }
  const pub = record.publicJwk;
  if (pub === null || pub.kty !== spec.kty || pub.crv !== spec.crv || pub.d !== undefined) {
    throw new TypeError(`${where}: public JWK missing, private, or not matching alg ${record.alg}`);
  }
  if (pub.x !== record.privateJwk.x || pub.y !== record.privateJwk.y) {
    throw new TypeError(`${where}: public JWK is not the private key's public part`);
  }
}

async function importKeys(record: SigningKeyRecord): Promise<[CryptoKey, CryptoKey]> {
  if (record.alg === "HS256") {
    if (typeof record.privateJwk.k !== "string") throw new TypeError(`signing key "${record.kid}": missing "k"`);
    const secret = hmacSecretBytes(Buffer.from(record.privateJwk.k, "base64url"));
    const key = await crypto.subtle.importKey("raw", secret, { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
    return [key, key];
  }
  const signing = await importJWK(record.privateJwk, record.alg, { extractable: false });
  const verifying = await importJWK(record.publicJwk as JWK, record.alg);
  return [signing as CryptoKey, verifying as CryptoKey];
}

function publicEntry(record: SigningKeyRecord): JWK {
  // Copy named members only, so a private member (`d`, `k`, `p`…) can never reach the JWKS.
  const pub = record.publicJwk as JWK;
  const entry: JWK = { kty: pub.kty, crv: pub.crv, x: pub.x, kid: record.kid, alg: record.alg, use: "sig" };
  if (pub.y !== undefined) entry.y = pub.y;
  return entry;
}

export async function createKeyRing(records: readonly SigningKeyRecord[], options: KeyRingOptions = {}): Promise<KeyRing> {
  const lifetime = nonNegativeInteger("accessTokenLifetime", options.accessTokenLifetime ?? 600);
  const tolerance = nonNegativeInteger("clockTolerance", options.clockTolerance ?? 5);
  const clock = options.clock ?? Date.now;
  const keys = new Map<string, RingKey>();
  const published: Array<{ until: number; jwk: JWK }> = [];
  let active: RingKey | undefined;
  for (const record of records) {
    if (typeof record.kid !== "string" || record.kid === "") throw new TypeError(`signing key: "kid" must be a non-empty string`);
    if (!isSigningAlgorithm(record.alg)) throw new TypeError(`signing key "${record.kid}": unsupported alg`);
    if (keys.has(record.kid)) throw new TypeError(`signing key "${record.kid}": duplicate kid`);
    checkShape(record);
    const [signingKey, verificationKey] = await importKeys(record);
    const retiredAt = record.retiredAt;
    const verifiesUntil = retiredAt === undefined ? Number.POSITIVE_INFINITY : retiredAt + lifetime + tolerance;
    const checkSignature = signatureCheckFor(record.alg, record.alg === "HS256" ? record.privateJwk : (record.publicJwk as JWK));
    const key: RingKey = Object.freeze({
      kid: record.kid,
      alg: record.alg,
      signingKey,
      verificationKey,
      checkSignature,
      createdAt: record.createdAt,
      retiredAt,
      verifiesUntil,
    });
    keys.set(key.kid, key);
    if (record.publicJwk !== null) published.push({ until: verifiesUntil, jwk: publicEntry(record) });
    if (retiredAt === undefined && (active === undefined || key.createdAt >= active.createdAt)) active = key;
  }
  if (active === undefined) throw new TypeError("key ring: no active (non-retired) signing key");
  return {
    active,
    get: (kid) => keys.get(kid),
    jwks: () => {
      const now = clock() / 1000;
      return { keys: published.filter((p) => now < p.until).map((p) => ({ ...p.jwk })) };
    },
  };
}
