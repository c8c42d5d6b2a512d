/**
 * X-Rampart-Assertion is a standard JWS: jose verifies it against the ring's public JWKS for EdDSA and
 * ES256, with the contract's header and claims; a changed byte or another audience is refused; HS256
 * (no public key to publish) is refused at construction.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createLocalJWKSet, jwtVerify } from "jose";
import { createKeyRing, generateSigningKey } from "../../src/core/tokens/index.ts";
import { ASSERTION_TYPE, createAssertionSigner } from "../../src/gateway/assertion.ts";

const input = { sub: "user-1", roles: ["clerk", "user"], htm: "PATCH", htu: "https://api.example.com/api/orders/7" };

describe("gateway assertion", () => {
  for (const alg of ["EdDSA", "ES256"] as const) {
    it(`${alg}: verifies with jose against the JWKS, with typ, iss, aud, sub, roles, htm, htu, jti and a 60 s life`, async () => {
      const ring = await createKeyRing([await generateSigningKey(alg)]);
      const now = Date.UTC(2026, 10, 30, 12);
      const token = createAssertionSigner({ keyRing: ring, issuer: "rampart", audience: "orders-api", clock: () => now })(input);
      const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(ring.jwks()), {
        issuer: "rampart",
        audience: "orders-api",
        typ: ASSERTION_TYPE,
        algorithms: [alg],
        currentDate: new Date(now + 1000),
      });
      assert.equal(protectedHeader.kid, ring.active.kid);
      assert.deepEqual({ sub: payload.sub, roles: payload.roles, htm: payload.htm, htu: payload.htu }, input);
      assert.equal((payload.exp as number) - (payload.iat as number), 60);
      assert.match(String(payload.jti), /^[0-9a-f-]{36}$/);
      await assert.rejects(
        jwtVerify(token, createLocalJWKSet(ring.jwks()), { audience: "other-api", currentDate: new Date(now) }),
        { code: "ERR_JWT_CLAIM_VALIDATION_FAILED" },
      );
      const flipped = `${token.slice(0, 30)}${token[30] === "A" ? "B" : "A"}${token.slice(31)}`;
      await assert.rejects(jwtVerify(flipped, createLocalJWKSet(ring.jwks()), { currentDate: new Date(now) }));
    });
  }

  it("two assertions never share a jti", async () => {
    const ring = await createKeyRing([await generateSigningKey("EdDSA")]);
    const sign = createAssertionSigner({ keyRing: ring, issuer: "rampart", audience: "a" });
    const jti = (t: string) => JSON.parse(Buffer.from(t.split(".")[1] as string, "base64url").toString()).jti;
    assert.notEqual(jti(sign(input)), jti(sign(input)));
  });

  it("HS256 is refused: the upstream could not verify it against a JWKS", async () => {
    const ring = await createKeyRing([await generateSigningKey("HS256")]);
    assert.throws(() => createAssertionSigner({ keyRing: ring, issuer: "rampart", audience: "a" }), /HS256/);
  });
});
