/**
 * JWS signature checks with node:crypto, synchronously. jose verifies through WebCrypto
 * (`crypto.subtle.verify`): a promise and a hop through the thread pool per token, which measured about
 * twice the CPU of the same Ed25519 check through `crypto.verify` (BENCHMARKS.md, cold tokens). Every
 * token that is not in the verified-token cache pays it, so the check is ours: one key object per ring
 * key, built once, pinned to its one algorithm. Ed25519 goes through libsodium when it is available
 * (ed25519.ts): less than half the CPU of OpenSSL 3.0's check.
 */
import {
  createHmac,
  createPublicKey,
  verify as cryptoVerify,
  type JsonWebKey as NodeJsonWebKey,
  type KeyObject,
  timingSafeEqual,
} from "node:crypto";
import type { JWK } from "jose";
import { ed25519Check } from "./ed25519.ts";
import type { SigningAlgorithm } from "./keys.ts";

/** `signingInput` is `base64url(header) + "." + base64url(payload)`, `signature` the decoded third part. */
export type SignatureCheck = (signingInput: string, signature: Buffer) => boolean;

/** Ed25519 and P-256 (IEEE P1363 r‖s) signatures are 64 bytes; HMAC-SHA-256 is 32. */
const SIGNATURE_BYTES: Readonly<Record<SigningAlgorithm, number>> = { EdDSA: 64, ES256: 64, HS256: 32 };

/**
 * The check for tokens signed with `alg` under `jwk`: the public JWK for EdDSA and ES256 (its private
 * members are never read), the `oct` JWK for HS256.
 * @throws TypeError when the JWK does not fit the algorithm.
 */
export function signatureCheckFor(alg: SigningAlgorithm, jwk: JWK): SignatureCheck {
  const length = SIGNATURE_BYTES[alg];
  if (alg === "HS256") {
    if (typeof jwk.k !== "string") throw new TypeError('HS256 key: missing "k"');
    const secret = Buffer.from(jwk.k, "base64url");
    return (input, signature) =>
      signature.length === length && timingSafeEqual(createHmac("sha256", secret).update(input).digest(), signature);
  }
  const key: KeyObject = createPublicKey({
    key: { kty: jwk.kty, crv: jwk.crv, x: jwk.x, ...(jwk.y === undefined ? {} : { y: jwk.y }) } as NodeJsonWebKey,
    format: "jwk",
  });
  if (alg === "EdDSA") {
    if (key.asymmetricKeyType !== "ed25519") throw new TypeError("EdDSA key: not an Ed25519 public key");
    const check = ed25519Check(Buffer.from(jwk.x as string, "base64url"));
    return (input, signature) => check(Buffer.from(input), signature);
  }
  if (key.asymmetricKeyType !== "ec" || key.asymmetricKeyDetails?.namedCurve !== "prime256v1") {
    throw new TypeError("ES256 key: not a P-256 public key");
  }
  const ec = { key, dsaEncoding: "ieee-p1363" as const };
  return (input, signature) => signature.length === length && cryptoVerify("sha256", Buffer.from(input), ec, signature);
}
