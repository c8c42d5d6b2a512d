import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { generateSigningKey } from "../../../src/core/tokens/keys.ts";
import { T0 } from "./fixtures.ts";

const URL_SAFE = /^[A-Za-z0-9_-]+$/;

describe("generateSigningKey", () => {
  for (const [alg, kty, crv] of [["EdDSA", "OKP", "Ed25519"], ["ES256", "EC", "P-256"]] as const) {
    it(`${alg}: a private and a public JWK under one random URL-safe kid`, async () => {
      const record = await generateSigningKey(alg, { clock: () => T0 });
      assert.equal(record.alg, alg);
      assert.match(record.kid, URL_SAFE);
      assert.equal(record.createdAt, T0 / 1000);
      assert.equal(record.privateJwk.kty, kty);
      assert.equal(record.privateJwk.crv, crv);
      assert.equal(typeof record.privateJwk.d, "string");
      assert.ok(record.publicJwk);
      assert.equal(record.publicJwk.d, undefined);
      assert.equal(record.publicJwk.kid, record.kid);
      assert.equal(record.publicJwk.alg, alg);
      assert.equal(record.publicJwk.use, "sig");
      assert.deepEqual(JSON.parse(JSON.stringify(record)), record, "the record is plain JSON, storable as is");
    });
  }

  it("kids differ between keys", async () => {
    const [a, b] = await Promise.all([generateSigningKey("EdDSA"), generateSigningKey("EdDSA")]);
    assert.notEqual(a.kid, b.kid);
  });

  it("HS256: an oct secret and no public part", async () => {
    const record = await generateSigningKey("HS256");
    assert.equal(record.privateJwk.kty, "oct");
    assert.equal(Buffer.from(record.privateJwk.k as string, "base64url").length, 32);
    assert.equal(record.publicJwk, null);
  });

  it("HS256 with a given secret of at least 32 bytes", async () => {
    const secret = "s".repeat(32);
    const record = await generateSigningKey("HS256", { secret });
    assert.equal(Buffer.from(record.privateJwk.k as string, "base64url").toString(), secret);
  });

  it("HS256 refuses a secret shorter than 32 bytes", async () => {
    await assert.rejects(generateSigningKey("HS256", { secret: "s".repeat(31) }), TypeError);
    await assert.rejects(generateSigningKey("HS256", { secret: new Uint8Array(16) }), TypeError);
  });

  it("refuses a secret for an asymmetric alg and unknown algs", async () => {
    await assert.rejects(generateSigningKey("EdDSA", { secret: "s".repeat(32) }), TypeError);
    await assert.rejects(generateSigningKey("none" as never), TypeError);
    await assert.rejects(generateSigningKey("RS256" as never), TypeError);
  });
});
