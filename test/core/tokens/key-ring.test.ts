import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createKeyRing } from "../../../src/core/tokens/key-ring.ts";
import { generateSigningKey } from "../../../src/core/tokens/keys.ts";
import { recordAt, settableClock, T0 } from "./fixtures.ts";

const t0 = T0 / 1000;

describe("createKeyRing", () => {
  it("the newest non-retired key is active", async () => {
    const [a, b, c] = await Promise.all([generateSigningKey("EdDSA"), generateSigningKey("ES256"), generateSigningKey("EdDSA")]);
    const ring = await createKeyRing([recordAt(a, t0), recordAt(b, t0 + 10), recordAt(c, t0 + 20, t0 + 30)]);
    assert.equal(ring.active.kid, b.kid);
    assert.equal(ring.active.alg, "ES256");
    assert.equal(ring.get(c.kid)?.kid, c.kid, "a retired key is still found for verification");
    assert.equal(ring.get("nope"), undefined);
  });

  it("a retired key verifies until retirement + lifetime + tolerance", async () => {
    const [a, b] = await Promise.all([generateSigningKey("EdDSA"), generateSigningKey("EdDSA")]);
    const ring = await createKeyRing([recordAt(a, t0, t0 + 100), recordAt(b, t0 + 50)], { accessTokenLifetime: 900, clockTolerance: 10 });
    assert.equal(ring.get(a.kid)?.verifiesUntil, t0 + 100 + 900 + 10);
    assert.equal(ring.get(b.kid)?.verifiesUntil, Number.POSITIVE_INFINITY);
  });

  it("the JWKS lists public keys only, with kid, kty, alg, use", async () => {
    const records = await Promise.all([generateSigningKey("EdDSA"), generateSigningKey("ES256"), generateSigningKey("HS256")]);
    const ring = await createKeyRing(records);
    const { keys } = ring.jwks();
    assert.equal(keys.length, 2, "the HS256 secret is never published");
    for (const key of keys) {
      assert.deepEqual(Object.keys(key).sort(), key.kty === "EC" ? ["alg", "crv", "kid", "kty", "use", "x", "y"] : ["alg", "crv", "kid", "kty", "use", "x"]);
      assert.equal(key.use, "sig");
      assert.notEqual(key.kty, "oct");
    }
    assert.doesNotMatch(JSON.stringify(ring.jwks()), /"d"|"k"/);
  });

  it("the JWKS drops a retired key once its window has passed", async () => {
    const clock = settableClock();
    const [a, b] = await Promise.all([generateSigningKey("EdDSA"), generateSigningKey("EdDSA")]);
    const ring = await createKeyRing([recordAt(a, t0 - 100, t0), recordAt(b, t0)], { clock });
    assert.equal(ring.jwks().keys.length, 2);
    clock.advance(605);
    assert.deepEqual(ring.jwks().keys.map((k) => k.kid), [b.kid]);
  });

  it("refuses: no active key, duplicate kid, private JWK as public, mismatched pair, short HS256 secret", async () => {
    const [a, b] = await Promise.all([generateSigningKey("EdDSA"), generateSigningKey("EdDSA")]);
    await assert.rejects(createKeyRing([]), /no active/);
    await assert.rejects(createKeyRing([recordAt(a, t0, t0)]), /no active/);
    await assert.rejects(createKeyRing([a, a]), /duplicate kid/);
    await assert.rejects(createKeyRing([{ ...a, publicJwk: a.privateJwk }]), /public JWK/);
    await assert.rejects(createKeyRing([{ ...a, publicJwk: b.publicJwk }]), /not the private key's public part/);
    await assert.rejects(createKeyRing([{ ...a, alg: "ES256" }]), /does not match alg/);
    const hs = await generateSigningKey("HS256");
    await assert.rejects(createKeyRing([{ ...hs, privateJwk: { ...hs.privateJwk, k: Buffer.alloc(16).toString("base64url") } }]), /32 bytes/);
  });
});
