/**
 * Ed25519 signature checks: libsodium when the optional `sodium-native` binding loads and passes its
 * self-test, node:crypto otherwise.
 *
 * Why two: on OpenSSL 3.0 one `crypto.verify` of an Ed25519 signature measured 87 µs on the benchmark
 * machine, libsodium's `crypto_sign_verify_detached` 39 µs (BENCHMARKS.md, "Hot path II"). Every token
 * missing from the verified-token cache pays that check, so after a deploy or with short-lived tokens it
 * is most of a request. libsodium is also the stricter verifier (it refuses non-canonical `S`, small-order
 * `R` and public keys), so switching never accepts a signature node:crypto would refuse.
 *
 * The binding ships prebuilt inside its package (nothing is downloaded at install). Where it does not
 * load (a platform without a prebuild, an install with `--omit=optional`) or answers its self-test
 * wrongly, node:crypto is used: same results, slower.
 */
import { createPublicKey, generateKeyPairSync, type KeyObject, sign, verify } from "node:crypto";
import { createRequire } from "node:module";

/** `message` is the JWS signing input, `signature` the 64 decoded signature bytes. */
export type Ed25519Check = (message: Buffer, signature: Buffer) => boolean;

export type Ed25519Backend = "libsodium" | "node:crypto";

interface Sodium {
  crypto_sign_verify_detached(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean;
}

const PUBLIC_KEY_BYTES = 32;
const SIGNATURE_BYTES = 64;

/** Checks with node:crypto; `publicKey` is the raw 32-byte key (a JWK's decoded `x`). */
export function nodeEd25519Check(publicKey: Buffer): Ed25519Check {
  const key: KeyObject = createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: rawKey(publicKey).toString("base64url") }, format: "jwk" });
  return (message, signature) => signature.length === SIGNATURE_BYTES && verify(null, message, key, signature);
}

/** Checks with libsodium, or undefined when it is not available here. */
export function sodiumEd25519Check(publicKey: Buffer): Ed25519Check | undefined {
  const sodium = loadSodium();
  if (sodium === undefined) return undefined;
  const key = Buffer.from(rawKey(publicKey));
  return (message, signature) => signature.length === SIGNATURE_BYTES && sodium.crypto_sign_verify_detached(signature, message, key);
}

/** The fastest check that is available and sound here. */
export function ed25519Check(publicKey: Buffer): Ed25519Check {
  return sodiumEd25519Check(publicKey) ?? nodeEd25519Check(publicKey);
}

/** Which implementation `ed25519Check` uses in this process. */
export function ed25519Backend(): Ed25519Backend {
  return loadSodium() === undefined ? "node:crypto" : "libsodium";
}

/**
 * Why libsodium is not used although sodium-native is installed (it did not load, or it failed the
 * self-test), for a start-up warning; undefined when it is used or was left out of the install on purpose.
 */
export function ed25519Unusable(): string | undefined {
  loadSodium();
  return unusable;
}

function rawKey(publicKey: Buffer): Buffer {
  if (publicKey.length !== PUBLIC_KEY_BYTES) throw new TypeError(`Ed25519 public key: ${PUBLIC_KEY_BYTES} bytes expected`);
  return publicKey;
}

let sodium: Sodium | null | undefined;
let unusable: string | undefined;

function loadSodium(): Sodium | undefined {
  if (sodium === undefined) sodium = tryLoad();
  return sodium ?? undefined;
}

function tryLoad(): Sodium | null {
  let candidate: Sodium;
  try {
    candidate = createRequire(import.meta.url)("sodium-native") as Sodium;
  } catch (error) {
    const notInstalled = (error as NodeJS.ErrnoException).code === "MODULE_NOT_FOUND" && String((error as Error).message).includes("'sodium-native'");
    if (!notInstalled) unusable = `sodium-native did not load: ${(error as Error).message.split("\n")[0]}`;
    return null;
  }
  if (passesSelfTest(candidate)) return candidate;
  unusable = "sodium-native failed its self-test against node:crypto";
  return null;
}

/**
 * A native binding that accepted every signature would be a silent authentication bypass, so it must
 * agree with node:crypto on a fresh key before it is trusted: the good signature holds, a changed message,
 * a changed signature and another key's signature do not.
 */
function passesSelfTest(candidate: Sodium): boolean {
  try {
    const { publicKey, privateKey } = generateKeyPairSync("ed25519");
    const other = generateKeyPairSync("ed25519");
    const raw = Buffer.from(publicKey.export({ format: "jwk" }).x as string, "base64url");
    const message = Buffer.from("rampart ed25519 self-test");
    const signature = sign(null, message, privateKey);
    const flipped = Buffer.from(signature);
    flipped[7] = (flipped[7] as number) ^ 0x01;
    const holds = (sig: Buffer, msg: Buffer) => candidate.crypto_sign_verify_detached(sig, msg, raw) === true;
    return (
      holds(signature, message) &&
      !holds(signature, Buffer.from("rampart ed25519 self-tesT")) &&
      !holds(flipped, message) &&
      !holds(sign(null, message, other.privateKey), message)
    );
  } catch {
    return false;
  }
}
