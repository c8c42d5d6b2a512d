/**
 * Each attack builds its token by hand (node:crypto or jose) and must get RAMPART_ERR_INVALID_TOKEN
 * with the reason naming the check that caught it.
 */
import assert from "node:assert/strict";
import { createPublicKey, generateKeyPairSync, KeyObject, sign } from "node:crypto";
import { describe, it } from "node:test";
import { SignJWT } from "jose";
import { createAccessTokenIssuer, createAccessTokenVerifier } from "../../../src/core/tokens/access-token.ts";
import { createKeyRing } from "../../../src/core/tokens/key-ring.ts";
import { generateSigningKey } from "../../../src/core/tokens/keys.ts";
import { createHeaderMemo } from "../../../src/core/tokens/precheck.ts";
import { AUDIENCE, b64url, claimsAt, forgeEdDsa, forgeHs256, ISSUER, recordAt, ringWith, settableClock, T0 } from "./fixtures.ts";

const now = T0 / 1000;

const rejectsWith = async (promise: Promise<unknown>, reason: string) => {
  await assert.rejects(promise, (error: { code?: string; reason?: string }) => {
    assert.equal(error.code, "RAMPART_ERR_INVALID_TOKEN");
    assert.equal(error.reason, reason);
    return true;
  });
};

async function setup(alg: "EdDSA" | "ES256" = "EdDSA") {
  const clock = settableClock();
  const { ring, record } = await ringWith(alg);
  const verifier = createAccessTokenVerifier({ keyRing: ring, issuer: ISSUER, audience: AUDIENCE, clock });
  const issuer = createAccessTokenIssuer({ keyRing: ring, issuer: ISSUER, audience: AUDIENCE, clock });
  const header = { alg, kid: record.kid, typ: "at+jwt" };
  /** A token signed with the real key, header and claims as the test wants them. */
  const signed = (claims: object, h: Record<string, unknown> = header) =>
    new SignJWT({ ...claims }).setProtectedHeader(h as never).sign(ring.active.signingKey);
  return { clock, ring, record, verifier, issuer, header, signed };
}

describe("access-token attacks", () => {
  it("alg none (unsecured JWS, empty signature)", async () => {
    const { verifier, header } = await setup();
    const noneHeader = { ...header, alg: "none" };
    await rejectsWith(verifier.verify(`${b64url(noneHeader)}.${b64url(claimsAt(now))}.`), "not a compact JWS");
    // With a junk signature the shape passes and the pinned alg catches it.
    await rejectsWith(verifier.verify(`${b64url(noneHeader)}.${b64url(claimsAt(now))}.AAAA`), "alg not allowed");
    await rejectsWith(verifier.verify(`${b64url({ ...header, alg: "None" })}.${b64url(claimsAt(now))}.AAAA`), "alg not allowed");
  });

  for (const alg of ["EdDSA", "ES256"] as const) {
    it(`${alg}: HS256 HMAC'd with the public key (algorithm confusion), in every encoding`, async () => {
      const { verifier, record } = await setup(alg);
      const publicKey = createPublicKey({ key: record.publicJwk as never, format: "jwk" });
      const secrets: Array<string | Uint8Array> = [
        publicKey.export({ type: "spki", format: "pem" }) as string,
        publicKey.export({ type: "spki", format: "der" }),
        JSON.stringify(record.publicJwk),
        Buffer.from(record.publicJwk?.x as string, "base64url"),
        record.publicJwk?.x as string,
      ];
      for (const secret of secrets) {
        const forged = forgeHs256({ alg: "HS256", kid: record.kid, typ: "at+jwt" }, claimsAt(now, { roles: ["admin"] }), secret);
        await rejectsWith(verifier.verify(forged), "alg not allowed");
      }
    });
  }

  it("tampered payload (roles widened, signature kept)", async () => {
    const { verifier, issuer } = await setup();
    const { token } = await issuer.issue({ sub: "u1", roles: ["user"] });
    const [h, p, s] = token.split(".");
    const payload = { ...JSON.parse(Buffer.from(p!, "base64url").toString()), roles: ["admin"] };
    await rejectsWith(verifier.verify(`${h}.${b64url(payload)}.${s}`), "bad signature");
  });

  it("signature of another token spliced on", async () => {
    const { verifier, issuer } = await setup();
    const a = await issuer.issue({ sub: "u1", roles: ["user"] });
    const b = await issuer.issue({ sub: "admin", roles: ["admin"] });
    const [h, p] = b.token.split(".");
    await rejectsWith(verifier.verify(`${h}.${p}.${a.token.split(".")[2]}`), "bad signature");
  });

  it("wrong audience", async () => {
    const { verifier, signed } = await setup();
    await rejectsWith(verifier.verify(await signed(claimsAt(now, { aud: "https://other.test" }))), "aud mismatch");
  });

  it("wrong issuer", async () => {
    const { verifier, signed } = await setup();
    await rejectsWith(verifier.verify(await signed(claimsAt(now, { iss: "https://evil.test" }))), "iss mismatch");
  });

  it("expired (past exp + tolerance), but accepted within the tolerance", async () => {
    const { verifier, signed } = await setup();
    await rejectsWith(verifier.verify(await signed(claimsAt(now - 700, { exp: now - 6 }))), "expired");
    assert.ok(await verifier.verify(await signed(claimsAt(now - 700, { exp: now - 4 }))));
  });

  it("nbf in the future", async () => {
    const { verifier, signed } = await setup();
    await rejectsWith(verifier.verify(await signed(claimsAt(now, { nbf: now + 60 }))), "not yet valid");
  });

  it("iat in the future beyond the clock tolerance (a token minted ahead to outlive a revocation or key rotation)", async () => {
    const { verifier, signed } = await setup();
    await rejectsWith(verifier.verify(await signed(claimsAt(now + 6, { nbf: now }))), "issued in the future");
    await rejectsWith(verifier.verify(await signed(claimsAt(now + 86_400, { nbf: now, exp: now + 86_400 + 600 }))), "issued in the future");
    // Within the tolerance (5 s by default) a slightly fast issuer clock is accepted.
    assert.ok(await verifier.verify(await signed(claimsAt(now + 5, { nbf: now, jti: "j2" }))));
  });

  it("iat that is not a number", async () => {
    const { verifier, signed } = await setup();
    await rejectsWith(verifier.verify(await signed(claimsAt(now, { iat: "0" }))), "iat mismatch");
  });

  describe("duplicate member names (RFC 7515 §4, RFC 8725 §3.2: never guess which one wins)", () => {
    const payload = (extra = "") => {
      const c = claimsAt(now);
      return `{"iss":"${c.iss}","aud":"${c.aud}","sub":"user-1","iat":${now},"exp":${now + 600},"jti":"j1","client_id":"rampart","roles":["user"]${extra}}`;
    };

    for (const [name, header, extra] of [
      ["two sub in the payload (the second names an admin)", null, `,"sub":"admin"`],
      ["two roles in the payload", null, `,"roles":["admin"]`],
      ["a duplicate spelled with an escape (\\u0073ub)", null, `,"\\u0073ub":"admin"`],
      ["a duplicate inside a nested object", null, `,"cnf":{"jkt":"a","jkt":"b"}`],
      ["a duplicate inside an object in an array", null, `,"x":[{"a":1},{"b":1,"b":2}]`],
      ["two alg in the header", `,"alg":"none"`, ""],
      ["two kid in the header", `,"kid":"other"`, ""],
      ["two typ in the header", `,"typ":"JWT"`, ""],
    ] as const) {
      it(name, async () => {
        const { ring, record, verifier } = await setup();
        const headerJson = `{"alg":"EdDSA","kid":"${record.kid}","typ":"at+jwt"${header ?? ""}}`;
        const good = `${b64url(`{"alg":"EdDSA","kid":"${record.kid}","typ":"at+jwt"}`)}.${b64url(payload())}`;
        const signWith = KeyObject.from(ring.active.signingKey);
        const sig = (input: string) => sign(null, Buffer.from(input), signWith).toString("base64url");
        // The same construction without the duplicate verifies: only the duplicate makes the token invalid.
        assert.equal((await verifier.verify(`${good}.${sig(good)}`)).sub, "user-1");
        const input = `${b64url(headerJson)}.${b64url(payload(extra))}`;
        await rejectsWith(verifier.verify(`${input}.${sig(input)}`), header === null ? "duplicate member in payload" : "duplicate member in header");
      });
    }
  });

  it("a required claim missing", async () => {
    const { verifier, signed } = await setup();
    const { jti: _jti, ...noJti } = claimsAt(now);
    await rejectsWith(verifier.verify(await signed(noJti)), "missing claim jti");
    await rejectsWith(verifier.verify(await signed(claimsAt(now, { roles: "admin" }))), "roles claim malformed");
  });

  it("unknown kid, and no kid", async () => {
    const { verifier, signed, header } = await setup();
    await rejectsWith(verifier.verify(await signed(claimsAt(now), { ...header, kid: "someone-elses" })), "unknown kid");
    await rejectsWith(verifier.verify(await signed(claimsAt(now), { alg: header.alg, typ: "at+jwt" })), "missing kid");
  });

  it("embedded jwk header, self-signed with the attacker's key (CVE-2018-0114)", async () => {
    const { verifier, record } = await setup();
    const attacker = generateKeyPairSync("ed25519");
    const jwk = attacker.publicKey.export({ format: "jwk" });
    const forged = forgeEdDsa({ alg: "EdDSA", kid: record.kid, typ: "at+jwt", jwk }, claimsAt(now, { roles: ["admin"] }), attacker.privateKey);
    await rejectsWith(verifier.verify(forged), 'forbidden header "jwk"');
    const noKid = forgeEdDsa({ alg: "EdDSA", typ: "at+jwt", jwk }, claimsAt(now), attacker.privateKey);
    await rejectsWith(verifier.verify(noKid), 'forbidden header "jwk"');
  });

  for (const name of ["jku", "x5u", "x5c"]) {
    it(`${name} header (key fetched from or embedded by the attacker)`, async () => {
      const { verifier, signed, header } = await setup();
      const value = name === "x5c" ? ["MIIB"] : "https://evil.test/keys";
      await rejectsWith(verifier.verify(await signed(claimsAt(now), { ...header, [name]: value })), `forbidden header "${name}"`);
    });
  }

  it("crit with an extension we do not understand", async () => {
    const { verifier, header } = await setup();
    const attacker = generateKeyPairSync("ed25519");
    // Hand-built: jose itself refuses to sign an unknown crit, which is the point.
    const forged = forgeEdDsa({ ...header, crit: ["x-skip-checks"], "x-skip-checks": true }, claimsAt(now), attacker.privateKey);
    await rejectsWith(verifier.verify(forged), "crit not understood");
  });

  it("5-part JWE-shaped input", async () => {
    const { verifier } = await setup();
    const jwe = [b64url({ alg: "dir", enc: "A256GCM", typ: "at+jwt" }), "", "aXY", "Y2lwaGVy", "dGFn"].join(".");
    await rejectsWith(verifier.verify(jwe), "JWE, not a JWS");
    await rejectsWith(verifier.verify("aaa.bbb.ccc.ddd.eee"), "JWE, not a JWS");
  });

  it("garbage shapes", async () => {
    const { verifier } = await setup();
    await rejectsWith(verifier.verify(undefined), "not a string");
    await rejectsWith(verifier.verify(""), "not a compact JWS");
    await rejectsWith(verifier.verify("a.b"), "not a compact JWS");
    await rejectsWith(verifier.verify("a+b.c.d"), "not a compact JWS");
    await rejectsWith(verifier.verify(`${b64url("not json")}.e30.AAAA`), "header is not JSON");
    await rejectsWith(verifier.verify(`${b64url([1])}.e30.AAAA`), "header is not an object");
  });

  it("oversized token, refused before decoding", async () => {
    const { verifier, signed } = await setup();
    const big = await signed(claimsAt(now, { pad: "x".repeat(5000) }));
    await rejectsWith(verifier.verify(big), "longer than 4096 characters");
  });

  it('typ "JWT" (an ID token or other JWT replayed as an access token, RFC 8725 §3.11)', async () => {
    const { verifier, signed, header } = await setup();
    await rejectsWith(verifier.verify(await signed(claimsAt(now), { ...header, typ: "JWT" })), "typ is not at+jwt");
    await rejectsWith(verifier.verify(await signed(claimsAt(now), { alg: header.alg, kid: header.kid })), "typ is not at+jwt");
  });

  it("a retired key verifies within retirement + lifetime + tolerance, and not after", async () => {
    const clock = settableClock();
    const [old, current] = await Promise.all([generateSigningKey("EdDSA"), generateSigningKey("EdDSA")]);
    const ring = await createKeyRing([recordAt(old, now - 1000, now), recordAt(current, now)]);
    const verifier = createAccessTokenVerifier({ keyRing: ring, issuer: ISSUER, audience: AUDIENCE, clock, cacheSize: 0 });
    // Signed with the old key and a far exp, as a stolen retired key would: only the window stops it.
    const token = await new SignJWT(claimsAt(now - 1, { exp: now + 86_400 }))
      .setProtectedHeader({ alg: "EdDSA", kid: old.kid, typ: "at+jwt" })
      .sign(ring.get(old.kid)!.signingKey);
    clock.set((now + 600 + 5) * 1000);
    assert.equal((await verifier.verify(token)).sub, "user-1");
    clock.set((now + 600 + 6) * 1000);
    await rejectsWith(verifier.verify(token), "key retired");
  });

  it("a header remembered from a verified token still goes through the ring, the signature and the payload checks", async () => {
    const { ring, record, signed } = await setup();
    let keyKnown = true;
    const keyRing = { get: (kid: string) => (keyKnown ? ring.get(kid) : undefined) };
    const verifier = createAccessTokenVerifier({ keyRing, issuer: ISSUER, audience: AUDIENCE, clock: settableClock(), cacheSize: 0 });
    const good = await signed(claimsAt(now));
    assert.equal((await verifier.verify(good)).sub, "user-1");
    const [headerSegment, , signature] = good.split(".") as [string, string, string];
    // Same (remembered) header, another payload, the first token's signature.
    await rejectsWith(verifier.verify(`${headerSegment}.${b64url(claimsAt(now, { roles: ["admin"] }))}.${signature}`), "bad signature");
    await rejectsWith(verifier.verify(`${headerSegment}.${b64url(`{"sub":"a","sub":"b"}`)}.${signature}`), "duplicate member in payload");
    keyKnown = false;
    await rejectsWith(verifier.verify(good), "unknown kid");
    assert.equal(JSON.parse(Buffer.from(headerSegment, "base64url").toString()).kid, record.kid);
  });

  for (const alg of ["EdDSA", "ES256"] as const) {
    it(`${alg}: the signature spelled another way in its last character's unused bits is refused`, async () => {
      const { verifier, issuer } = await setup(alg);
      const { token } = await issuer.issue({ sub: "user-1", roles: ["user"] });
      const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
      // Sent before the genuine token, so none of them can be a cache hit.
      for (const c of alphabet) {
        if (c !== token.at(-1)) await rejectsWith(verifier.verify(`${token.slice(0, -1)}${c}`), "bad signature");
      }
      assert.equal((await verifier.verify(token)).sub, "user-1");
    });
  }

  it("the header memo keeps at most its capacity", () => {
    const memo = createHeaderMemo(2);
    for (const kid of ["a", "b", "c"]) memo.remember(`segment-${kid}`, { kid, alg: "EdDSA" });
    assert.equal(memo.get("segment-b")?.kid, "b");
    assert.equal(memo.get("segment-c"), undefined);
  });

  it("a key from another ring with the same kid shape does not verify", async () => {
    const { verifier, header } = await setup();
    const other = await ringWith("EdDSA");
    const token = await new SignJWT(claimsAt(now)).setProtectedHeader(header).sign(other.ring.active.signingKey);
    await rejectsWith(verifier.verify(token), "bad signature");
  });
});
