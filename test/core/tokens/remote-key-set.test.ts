/**
 * The remote key set behind verify-only mode: keys pinned to the alg their JWK names, nothing usable
 * as an HMAC secret or a private key taken from a JWKS, refreshes on an unknown kid bounded by the
 * cooldown (a flood of made-up kids costs the issuer one fetch per cooldown), and a rotated key found.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { createRemoteKeySet } from "../../../src/core/tokens/remote-key-set.ts";
import { createRemoteAccessTokenVerifier } from "../../../src/core/tokens/remote-verifier.ts";

async function keyPair(kid: string) {
  const { publicKey, privateKey } = await generateKeyPair("EdDSA", { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: "EdDSA", use: "sig" };
  return { jwk, privateKey, privateJwk: { ...(await exportJWK(privateKey)), kid, alg: "EdDSA" } };
}

function servedBy(documents: () => unknown) {
  let fetches = 0;
  const fetchFn = (async () => {
    fetches++;
    return new Response(JSON.stringify(documents()), { status: 200, headers: { "content-type": "application/json" } });
  }) as typeof fetch;
  return { fetchFn, fetches: () => fetches };
}

async function token(privateKey: CryptoKey, kid: string, now: number) {
  return new SignJWT({ sub: "u1", jti: `j-${Math.random()}`, client_id: "rampart", roles: ["user"] })
    .setProtectedHeader({ alg: "EdDSA", kid, typ: "at+jwt" })
    .setIssuer("rampart")
    .setAudience("rampart-api")
    .setIssuedAt(Math.floor(now / 1000))
    .setExpirationTime(Math.floor(now / 1000) + 600)
    .sign(privateKey);
}

describe("remote key set", () => {
  it("takes asymmetric keys with their alg; ignores oct secrets, private JWKs, keys without alg or for encryption", async () => {
    const good = await keyPair("good");
    const priv = await keyPair("private");
    const served = servedBy(() => ({
      keys: [
        good.jwk,
        { kty: "oct", k: "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0", kid: "hmac", alg: "HS256" },
        priv.privateJwk,
        { ...good.jwk, kid: "no-alg", alg: undefined },
        { ...good.jwk, kid: "enc", use: "enc" },
        { ...good.jwk, kid: "wrong-alg", alg: "ES256" },
      ],
    }));
    const keys = createRemoteKeySet({ url: "https://issuer.test/jwks", fetch: served.fetchFn });
    await keys.ready();
    assert.deepEqual(keys.kids(), ["good"]);
    assert.equal(keys.get("good")?.alg, "EdDSA");
  });

  it("an unknown kid refreshes at most once per cooldown, and finds a rotated key", async () => {
    let now = 1_000_000_000_000;
    const first = await keyPair("k1");
    const second = await keyPair("k2");
    let document = { keys: [first.jwk] };
    const served = servedBy(() => document);
    const keys = createRemoteKeySet({ url: "https://issuer.test/jwks", fetch: served.fetchFn, cooldownMs: 10_000, clock: () => now });
    const verifier = createRemoteAccessTokenVerifier({ keys, issuer: "rampart", audience: "rampart-api", clock: () => now });
    await keys.ready();
    assert.equal(served.fetches(), 1);
    assert.equal((await verifier.verify(await token(first.privateKey, "k1", now))).sub, "u1");

    // A flood of made-up kids within the cooldown: refused, and no fetch.
    const forger = await keyPair("made-up");
    for (let i = 0; i < 20; i++) {
      await assert.rejects(verifier.verify(await token(forger.privateKey, `made-up-${i}`, now)), { reason: "unknown kid" });
    }
    assert.equal(served.fetches(), 1);

    // The issuer rotates; past the cooldown, the first token under the new kid refreshes once and verifies.
    document = { keys: [first.jwk, second.jwk] };
    now += 10_001;
    assert.equal((await verifier.verify(await token(second.privateKey, "k2", now))).sub, "u1");
    assert.equal(served.fetches(), 2);
  });

  it("the remote verifier applies the local rules: iat in the future beyond the tolerance is refused", async () => {
    const now = 1_000_000_000_000;
    const pair = await keyPair("k1");
    const keys = createRemoteKeySet({ url: "https://issuer.test/jwks", fetch: servedBy(() => ({ keys: [pair.jwk] })).fetchFn, clock: () => now });
    const verifier = createRemoteAccessTokenVerifier({ keys, issuer: "rampart", audience: "rampart-api", clock: () => now });
    await keys.ready();
    await assert.rejects(verifier.verify(await token(pair.privateKey, "k1", now + 3_600_000)), { code: "RAMPART_ERR_INVALID_TOKEN", reason: "issued in the future" });
    assert.equal((await verifier.verify(await token(pair.privateKey, "k1", now + 5_000))).sub, "u1");
  });

  it("a JWKS that cannot be had rejects ready(), and refuses nothing silently: tokens fail as unknown kid", async () => {
    const keys = createRemoteKeySet({
      url: "https://issuer.test/jwks",
      fetch: (async () => new Response("nope", { status: 500 })) as typeof fetch,
    });
    await assert.rejects(keys.ready(), /HTTP 500/);
    assert.deepEqual(keys.kids(), []);
  });
});
