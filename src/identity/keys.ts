/**
 * Signing keys: loaded from storage into a key ring, generated on first start, rotated on demand.
 * A rotated-out key keeps verifying until its tokens expire (the key ring decides that window).
 * HS256 keys are never stored: the secret comes from configuration, its kid from a hash of it.
 */
import { createHash } from "node:crypto";
import type { Logger } from "pino";
import type { ResolvedConfig } from "../config/resolve.ts";
import { ed25519Unusable } from "../core/tokens/ed25519.ts";
import { createKeyRing, generateSigningKey, type KeyRing, type SigningKeyRecord } from "../core/tokens/index.ts";
import type { Repositories, SigningKey } from "../store/index.ts";

function toRecord(key: SigningKey): SigningKeyRecord {
  return {
    kid: key.kid,
    alg: key.alg as SigningKeyRecord["alg"],
    privateJwk: key.privateJwk,
    publicJwk: key.publicJwk,
    createdAt: Math.floor(key.createdAt.getTime() / 1000),
    ...(key.retiredAt ? { retiredAt: Math.floor(key.retiredAt.getTime() / 1000) } : {}),
  };
}

async function hs256Record(config: ResolvedConfig): Promise<SigningKeyRecord> {
  const secret = config.tokens.hs256Secret ?? "";
  const generated = await generateSigningKey("HS256", { secret });
  const kid = `hs-${createHash("sha256").update(`rampart-kid:${secret}`).digest("base64url").slice(0, 12)}`;
  return { ...generated, kid, privateJwk: { ...generated.privateJwk, kid }, createdAt: 0 };
}

export async function loadKeyRing(config: ResolvedConfig, repos: Repositories): Promise<KeyRing> {
  const options = { accessTokenLifetime: config.tokens.accessTtlSeconds, clockTolerance: config.tokens.clockToleranceSeconds };
  if (config.tokens.algorithm === "HS256") return createKeyRing([await hs256Record(config)], options);
  let stored = (await repos.signingKeys.list()).filter((k) => k.alg === config.tokens.algorithm);
  if (!stored.some((k) => k.status === "active")) {
    await insertNewKey(config, repos);
    stored = (await repos.signingKeys.list()).filter((k) => k.alg === config.tokens.algorithm);
  }
  return createKeyRing(stored.filter((k) => k.status !== "pending").map(toRecord), options);
}

/**
 * EdDSA tokens are checked with libsodium when sodium-native is installed; if it is installed and still
 * unusable (no prebuild for this platform, or a binding that failed its self-test), say so once: every
 * token then costs about twice the CPU to verify.
 */
export function warnIfEd25519Degraded(keyRing: KeyRing, logger: Logger): void {
  if (keyRing.active.alg !== "EdDSA") return;
  const reason = ed25519Unusable();
  if (reason === undefined) return;
  logger.warn({ code: "RAMPART_WARN_ED25519_NODE_CRYPTO", reason }, `Ed25519 tokens are verified with node:crypto (about twice the CPU of libsodium): ${reason}`);
}

async function insertNewKey(config: ResolvedConfig, repos: Repositories): Promise<string> {
  const alg = config.tokens.algorithm as "EdDSA" | "ES256";
  const record = await generateSigningKey(alg);
  await repos.signingKeys.insert({
    kid: record.kid,
    alg,
    privateJwk: record.privateJwk as Record<string, unknown>,
    publicJwk: record.publicJwk as Record<string, unknown>,
    status: "active",
  });
  return record.kid;
}

/** Adds a new active key and retires the previous ones (they verify until their tokens expire). */
export async function rotateKeys(config: ResolvedConfig, repos: Repositories): Promise<{ kid: string; retired: string[] }> {
  if (config.tokens.algorithm === "HS256") throw new Error("HS256 keys come from configuration: change tokens.hs256Secret instead");
  const previous = (await repos.signingKeys.list()).filter((k) => k.status === "active");
  const kid = await insertNewKey(config, repos);
  const now = new Date();
  for (const key of previous) await repos.signingKeys.retire(key.kid, now);
  return { kid, retired: previous.map((k) => k.kid) };
}

/** Private material of the active signing key, for deriving other server secrets (CSRF). Never logged. */
export async function privateSecretOf(config: ResolvedConfig, repos: Repositories): Promise<string> {
  if (config.tokens.algorithm === "HS256") return `hs256:${config.tokens.hs256Secret}`;
  const active = (await repos.signingKeys.list()).find((k) => k.status === "active" && k.alg === config.tokens.algorithm);
  const material = active?.privateJwk.d;
  if (typeof material !== "string") throw new Error("no active signing key with private material");
  return `${active?.kid}:${material}`;
}
