/**
 * Token verification alone, cold: 20,000 distinct access tokens, each verified once (after 2,000 of
 * warm-up), by Rampart's verifier (`verifyNow`: prechecks, signature, claims, cache insert) and by
 * fast-jwt (what @fastify/jwt uses), same key, no cache on either side. Separates the cost of the
 * signature check, which both pay, from everything around it. For EdDSA Rampart checks with libsodium
 * when sodium-native is installed (src/core/tokens/ed25519.ts), fast-jwt with node:crypto.
 *
 *   npx tsx bench/verify-cold.ts [EdDSA|ES256]
 */
import { createPublicKey, verify } from "node:crypto";
import { createVerifier } from "fast-jwt";
import { createAccessTokenIssuer, createAccessTokenVerifier } from "../src/core/tokens/access-token.ts";
import { ed25519Backend, ed25519Check } from "../src/core/tokens/ed25519.ts";
import { createKeyRing } from "../src/core/tokens/key-ring.ts";
import { generateSigningKey } from "../src/core/tokens/keys.ts";

const alg = (process.argv[2] ?? "EdDSA") as "EdDSA" | "ES256";
const COUNT = 20_000;
const WARM = 2_000;

const record = await generateSigningKey(alg);
const ring = await createKeyRing([record]);
const issuer = createAccessTokenIssuer({ keyRing: ring, issuer: "rampart", audience: "api", lifetime: 3600 });
const tokens = await Promise.all(
  Array.from({ length: COUNT }, (_, i) => issuer.issue({ sub: `u${i}`, roles: ["user"], sid: `s${i}` }).then((t) => t.token)),
);
const publicKey = createPublicKey({ key: record.publicJwk as never, format: "jwk" });
const rampart = createAccessTokenVerifier({ keyRing: ring, issuer: "rampart", audience: "api" });
const fastJwt = createVerifier({
  key: publicKey.export({ type: "spki", format: "pem" }).toString(),
  algorithms: [alg],
  cache: false,
  allowedAud: "api",
  allowedIss: "rampart",
});

function perToken(work: (token: string) => unknown): number {
  for (let i = 0; i < WARM; i++) work(tokens[i] as string);
  const started = process.hrtime.bigint();
  for (let i = WARM; i < COUNT; i++) work(tokens[i] as string);
  return Number(process.hrtime.bigint() - started) / (COUNT - WARM) / 1000;
}

// The signature check alone, on a token-sized input: the floor both verifiers stand on.
const input = Buffer.from((tokens[0] as string).slice(0, (tokens[0] as string).lastIndexOf(".")));
const signature = Buffer.from((tokens[0] as string).split(".")[2] as string, "base64url");
const options = alg === "ES256" ? { key: publicKey, dsaEncoding: "ieee-p1363" as const } : publicKey;
const crypto = perToken(() => verify(alg === "ES256" ? "sha256" : null, input, options, signature));
const rawKey = alg === "EdDSA" ? Buffer.from(record.publicJwk?.x as string, "base64url") : undefined;
const oursAlone = rawKey && ed25519Backend() === "libsodium" ? perToken(((check) => () => check(input, signature))(ed25519Check(rawKey))) : undefined;
const fast = perToken((token) => fastJwt(token));
const ours = perToken((token) => rampart.verifyNow(token));
console.log(`${alg}, ${COUNT - WARM} distinct tokens, µs per token:`);
console.log(`  signature check alone (node:crypto)  ${crypto.toFixed(1)}`);
if (oursAlone !== undefined) console.log(`  signature check alone (libsodium)    ${oursAlone.toFixed(1)}  (Rampart's EdDSA check here)`);
console.log(`  fast-jwt (no cache)                  ${fast.toFixed(1)}  (+${(fast - crypto).toFixed(1)} around the signature)`);
console.log(`  rampart verifyNow                    ${ours.toFixed(1)}  (+${(ours - (oursAlone ?? crypto)).toFixed(1)} around the signature)`);
console.log(`  rampart / fast-jwt                   ${(fast / ours).toFixed(2)} ×`);
