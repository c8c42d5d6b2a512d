import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decodeProtectedHeader } from "jose";
import { createAccessTokenIssuer, createAccessTokenVerifier } from "../../../src/core/tokens/access-token.ts";
import { AUDIENCE, ISSUER, ringWith, settableClock, T0 } from "./fixtures.ts";

const isInvalid = (reason: string | RegExp) => (error: unknown) => {
  assert.equal((error as { code?: string }).code, "RAMPART_ERR_INVALID_TOKEN");
  if (typeof reason === "string") assert.equal((error as { reason?: string }).reason, reason);
  else assert.match((error as { reason: string }).reason, reason);
  return true;
};

async function setup(alg: "EdDSA" | "ES256" | "HS256" = "EdDSA") {
  const clock = settableClock();
  const { ring } = await ringWith(alg);
  const issuer = createAccessTokenIssuer({ keyRing: ring, issuer: ISSUER, audience: AUDIENCE, clock });
  const verifier = createAccessTokenVerifier({ keyRing: ring, issuer: ISSUER, audience: AUDIENCE, clock });
  return { clock, ring, issuer, verifier };
}

describe("access tokens: issue and verify", () => {
  for (const alg of ["EdDSA", "ES256", "HS256"] as const) {
    it(`${alg}: round trip with RFC 9068 header and claims`, async () => {
      const { issuer, verifier, ring } = await setup(alg);
      const { token, claims, expiresIn } = await issuer.issue({ sub: "u1", roles: ["user", "editor"], sid: "s1", scope: ["notes:read", "notes:write"] });
      assert.deepEqual(decodeProtectedHeader(token), { alg, kid: ring.active.kid, typ: "at+jwt" });
      assert.equal(expiresIn, 600);
      assert.equal(claims.exp - claims.iat, 600);
      assert.equal(claims.iat, T0 / 1000);
      assert.equal(claims.nbf, claims.iat);
      assert.equal(claims.client_id, "rampart");
      assert.equal(claims.scope, "notes:read notes:write");
      const verified = await verifier.verify(token);
      assert.deepEqual(verified, claims);
      assert.ok(Object.isFrozen(verified) && Object.isFrozen(verified.roles));
    });
  }

  for (const alg of ["EdDSA", "ES256", "HS256"] as const) {
    it(`${alg}: the node:crypto signature check refuses a flipped bit, a truncated and an extended signature, and a foreign key`, async () => {
      const { issuer, verifier } = await setup(alg);
      const { token } = await issuer.issue({ sub: "u1", roles: [] });
      const [h, p, sig] = token.split(".") as [string, string, string];
      const bytes = Buffer.from(sig, "base64url");
      const flipped = Buffer.from(bytes);
      flipped[5] = (flipped[5] ?? 0) ^ 1;
      for (const bad of [flipped, bytes.subarray(0, bytes.length - 1), Buffer.concat([bytes, Buffer.from([0])])]) {
        await assert.rejects(verifier.verify(`${h}.${p}.${bad.toString("base64url")}`), isInvalid("bad signature"));
      }
      // Same kid and alg, another key: a token signed elsewhere under a guessed kid never verifies.
      const other = await setup(alg);
      const foreign = await other.issuer.issue({ sub: "u1", roles: [] });
      const [, , foreignSig] = foreign.token.split(".");
      await assert.rejects(verifier.verify(`${h}.${p}.${foreignSig}`), isInvalid("bad signature"));
      assert.ok(await verifier.verify(token), "the untouched token still verifies");
    });
  }

  it("optional sid and scope are absent when not given; jti is unique", async () => {
    const { issuer, verifier } = await setup();
    const a = await issuer.issue({ sub: "u1", roles: [] });
    const b = await issuer.issue({ sub: "u1", roles: [] });
    const claims = await verifier.verify(a.token);
    assert.equal("sid" in claims, false);
    assert.equal("scope" in claims, false);
    assert.notEqual(a.claims.jti, b.claims.jti);
  });

  it("issue refuses bad input", async () => {
    const { issuer } = await setup();
    await assert.rejects(issuer.issue({ sub: "", roles: [] }), TypeError);
    await assert.rejects(issuer.issue({ sub: "u", roles: "admin" as never }), TypeError);
    await assert.rejects(issuer.issue({ sub: "u", roles: [], scope: "a\"b" }), TypeError);
  });

  it("typ is compared case-insensitively and may carry application/", async () => {
    const { ring, verifier, clock } = await setup();
    const { SignJWT } = await import("jose");
    for (const typ of ["AT+JWT", "application/at+jwt"]) {
      const token = await new SignJWT({ iss: ISSUER, aud: AUDIENCE, sub: "u", jti: typ, roles: [], client_id: "rampart" })
        .setProtectedHeader({ alg: "EdDSA", kid: ring.active.kid, typ })
        .setIssuedAt(clock() / 1000)
        .setExpirationTime(clock() / 1000 + 60)
        .sign(ring.active.signingKey);
      assert.equal((await verifier.verify(token)).sub, "u");
    }
  });
});

describe("access tokens: verified-token cache", () => {
  it("a hit returns the same claims synchronously until exp", async () => {
    const { issuer, verifier, clock } = await setup();
    const { token } = await issuer.issue({ sub: "u1", roles: ["user"] });
    assert.equal(verifier.verifyCached(token), undefined, "not cached before first verification");
    const claims = await verifier.verify(token);
    assert.equal(verifier.verifyCached(token), claims);
    assert.equal(await verifier.verify(token), claims);
    clock.advance(599);
    assert.equal(verifier.verifyCached(token), claims);
  });

  it("a cached token past exp is refused", async () => {
    const { issuer, verifier, clock } = await setup();
    const { token } = await issuer.issue({ sub: "u1", roles: ["user"] });
    await verifier.verify(token);
    clock.advance(600);
    assert.equal(verifier.verifyCached(token), undefined);
    clock.advance(6);
    await assert.rejects(verifier.verify(token), isInvalid("expired"));
  });

  it("only the exact token string hits; the cache is bounded (LRU)", async () => {
    const clock = settableClock();
    const { ring } = await ringWith("EdDSA");
    const issuer = createAccessTokenIssuer({ keyRing: ring, issuer: ISSUER, audience: AUDIENCE, clock });
    const verifier = createAccessTokenVerifier({ keyRing: ring, issuer: ISSUER, audience: AUDIENCE, clock, cacheSize: 2 });
    const [a, b, c] = await Promise.all([1, 2, 3].map(() => issuer.issue({ sub: "u", roles: [] })));
    await verifier.verify(a!.token);
    assert.equal(verifier.verifyCached(`${a!.token} `), undefined);
    await verifier.verify(b!.token);
    verifier.verifyCached(a!.token); // a is now the most recently used
    await verifier.verify(c!.token);
    assert.ok(verifier.verifyCached(a!.token));
    assert.equal(verifier.verifyCached(b!.token), undefined, "least recently used entry evicted");
    assert.ok(verifier.verifyCached(c!.token));
  });

  it("a cached token's signature spliced onto another header or payload misses the cache and is refused", async () => {
    const { issuer, verifier } = await setup("EdDSA");
    const victim = await issuer.issue({ sub: "victim", roles: ["user"] });
    const attacker = await issuer.issue({ sub: "attacker", roles: ["admin"] });
    await verifier.verify(victim.token);
    const [, , signature] = victim.token.split(".");
    const [header, payload] = attacker.token.split(".");
    const spliced = `${header}.${payload}.${signature}`;
    assert.equal(verifier.verifyCached(spliced), undefined, "the cache matches the whole token, not its signature");
    assert.throws(() => verifier.verifyNow(spliced), isInvalid("bad signature"));
    assert.equal(verifier.verifyCached(victim.token)?.sub, "victim", "the victim's entry is untouched");
  });

  it("cacheSize 0 disables the cache", async () => {
    const { ring } = await ringWith("EdDSA");
    const clock = settableClock();
    const issuer = createAccessTokenIssuer({ keyRing: ring, issuer: ISSUER, audience: AUDIENCE, clock });
    const verifier = createAccessTokenVerifier({ keyRing: ring, issuer: ISSUER, audience: AUDIENCE, clock, cacheSize: 0 });
    const { token } = await issuer.issue({ sub: "u", roles: [] });
    await verifier.verify(token);
    assert.equal(verifier.verifyCached(token), undefined);
  });
});

describe("access tokens: options are checked once", () => {
  it("refuses bad options", async () => {
    const { ring } = await ringWith("EdDSA");
    assert.throws(() => createAccessTokenIssuer({ keyRing: ring, issuer: "", audience: AUDIENCE }), /"issuer"/);
    assert.throws(() => createAccessTokenIssuer({ keyRing: ring, issuer: ISSUER, audience: AUDIENCE, lifetime: 0 }), /"lifetime"/);
    assert.throws(() => createAccessTokenVerifier({ keyRing: ring, issuer: ISSUER, audience: AUDIENCE, maxLength: -1 }), /"maxLength"/);
    assert.throws(() => createAccessTokenVerifier({ keyRing: ring, issuer: ISSUER, audience: AUDIENCE, clockTolerance: 1.5 }), /"clockTolerance"/);
  });
});
