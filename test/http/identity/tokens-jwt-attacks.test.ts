/**
 * Attacks on the JWT access token, end to end through GET /auth/me. Every forged token must get 401
 * with `WWW-Authenticate: Bearer …, error="invalid_token"`. To forge tokens with bad claims but a good
 * signature the test reads the server's private key from its own storage (same data dir): the point is
 * that each claim check holds even against a holder of the key, and a control token built the same way
 * with good claims is accepted, so every refusal is for the reason under test.
 */
import assert from "node:assert/strict";
import { createHmac, generateKeyPairSync, sign } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { exportJWK, generateKeyPair, importJWK, type JWK, SignJWT } from "jose";
import { generateSigningKey } from "../../../src/core/tokens/keys.ts";
import { rotateKeys } from "../../../src/identity/keys.ts";
import {
  assertInvalidToken,
  b64url,
  type IdentityApp,
  jwtPart,
  loginOk,
  me,
  openStore,
  register,
  signUp,
  startIdentityApp,
} from "../../support/identity.ts";

const IP = "10.12.0.1";

interface ServerKey {
  kid: string;
  privateJwk: JWK;
  publicJwk: JWK;
  key: CryptoKey | Uint8Array;
}

async function activeKey(dataDir: string): Promise<ServerKey> {
  const store = await openStore(dataDir);
  try {
    const active = (await store.repos.signingKeys.list()).find((k) => k.status === "active");
    assert.ok(active, "the server stored an active signing key");
    return {
      kid: active.kid,
      privateJwk: active.privateJwk as JWK,
      publicJwk: active.publicJwk as JWK,
      key: await importJWK(active.privateJwk as JWK, "EdDSA"),
    };
  } finally {
    await store.close();
  }
}

/** Compact JWS over hand-made header and payload, with the signature the caller computes. */
function compact(header: object, payload: object, signer: (input: string) => string): string {
  const input = `${b64url(header)}.${b64url(payload)}`;
  return `${input}.${signer(input)}`;
}

describe("JWT access-token attacks on GET /auth/me", () => {
  let t: IdentityApp;
  let server: ServerKey;
  let victimId: string;
  let otherId: string;
  let genuine: string;
  /** Good claims for the victim, now. */
  let claims: () => Record<string, unknown>;
  const header = () => ({ alg: "EdDSA", kid: server.kid, typ: "at+jwt" });
  const signWithServerKey = (payload: object, h: Record<string, unknown> = header()) =>
    new SignJWT({ ...payload }).setProtectedHeader(h as { alg: string }).sign(server.key);

  before(async () => {
    t = await startIdentityApp();
    const victim = await signUp(t.app, "victim@example.com", IP);
    victimId = victim.id;
    genuine = victim.tokens.access_token;
    const other = await register(t.app, "other@example.com", undefined, IP);
    otherId = other.json().id;
    server = await activeKey(t.dataDir);
    claims = () => {
      const now = Math.floor(Date.now() / 1000);
      return {
        iss: t.config.tokens.issuer,
        aud: t.config.tokens.audience,
        sub: victimId,
        iat: now,
        nbf: now,
        exp: now + 300,
        jti: `forged-${Math.random().toString(36).slice(2)}`,
        client_id: "rampart",
        roles: ["user"],
      };
    };
  });
  after(async () => {
    await t.close();
  });

  it("control: the genuine token and a token signed here with the server's key and good claims are accepted", async () => {
    assert.equal((await me(t.app, genuine, IP)).statusCode, 200);
    const response = await me(t.app, await signWithServerKey(claims()), IP);
    assert.equal(response.statusCode, 200, response.body);
    assert.equal(response.json().id, victimId);
  });

  it("the roles claim is not trusted: a validly signed token claiming admin still gets the user's own roles", async () => {
    const response = await me(t.app, await signWithServerKey({ ...claims(), roles: ["admin"] }), IP);
    assert.equal(response.statusCode, 200, response.body);
    assert.deepEqual(response.json().roles, ["user"]);
    assert.ok(!response.json().permissions.includes("*"), "no admin wildcard");
  });

  it("alg none (empty signature, junk signature, mixed case)", async () => {
    const payload = claims();
    for (const token of [
      `${b64url({ ...header(), alg: "none" })}.${b64url(payload)}.`,
      `${b64url({ ...header(), alg: "none" })}.${b64url(payload)}.AAAA`,
      `${b64url({ ...header(), alg: "None" })}.${b64url(payload)}.AAAA`,
      `${b64url({ alg: "none", typ: "at+jwt" })}.${b64url(payload)}.`,
    ]) {
      assertInvalidToken(await me(t.app, token, IP), token);
    }
  });

  it("algorithm confusion: HS256 HMAC'd with the published public key (its x bytes, x text, JWK JSON)", async () => {
    const jwks = (await t.app.inject({ method: "GET", url: "/.well-known/jwks.json", remoteAddress: IP })).json();
    const published = (jwks.keys as JWK[]).find((k) => k.kid === server.kid);
    assert.ok(published?.x);
    const secrets: (string | Buffer)[] = [Buffer.from(published.x, "base64url"), published.x, JSON.stringify(published), JSON.stringify(server.publicJwk)];
    for (const secret of secrets) {
      const token = compact({ alg: "HS256", kid: server.kid, typ: "at+jwt" }, { ...claims(), roles: ["admin"] }, (input) =>
        createHmac("sha256", secret).update(input).digest("base64url"),
      );
      assertInvalidToken(await me(t.app, token, IP), `secret ${String(secret).slice(0, 20)}`);
    }
  });

  it("tampered payload (sub switched to another user, or roles widened), signature kept", async () => {
    const [h, p, s] = genuine.split(".");
    const payload = JSON.parse(Buffer.from(p!, "base64url").toString());
    for (const changed of [{ ...payload, sub: otherId }, { ...payload, roles: ["admin"] }]) {
      assertInvalidToken(await me(t.app, `${h}.${b64url(changed)}.${s}`, IP));
    }
    // Another token's signature spliced onto the genuine header and payload.
    const second = await loginOk(t.app, "victim@example.com", IP);
    assertInvalidToken(await me(t.app, `${h}.${p}.${second.access_token.split(".")[2]}`, IP));
  });

  it("the genuine token with its last character changed, to every other character, is refused (no spelling of the signature but one)", async () => {
    // Base64url's last character of a 64-byte signature carries 2 bits and 4 unused ones: 15 other
    // characters decode to the same bytes, and a decoder that ignores them accepts the "tampered" token.
    for (const c of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") {
      if (c !== genuine.at(-1)) assertInvalidToken(await me(t.app, `${genuine.slice(0, -1)}${c}`, "10.12.0.2"), `last character ${c}`);
    }
    assert.equal((await me(t.app, genuine, IP)).statusCode, 200);
  });

  it("bad claims under the server's own key: wrong aud, wrong iss, expired, nbf in the future", async () => {
    const now = Math.floor(Date.now() / 1000);
    const cases: Record<string, Record<string, unknown>> = {
      "wrong aud": { aud: "someone-else" },
      "aud list without ours": { aud: ["someone-else", "another"] },
      "wrong iss": { iss: "https://evil.test" },
      expired: { iat: now - 3600, nbf: now - 3600, exp: now - 60 },
      "nbf in the future": { nbf: now + 600, exp: now + 1200 },
    };
    for (const [name, change] of Object.entries(cases)) {
      assertInvalidToken(await me(t.app, await signWithServerKey({ ...claims(), ...change }), IP), name);
    }
  });

  it("missing required claims under the server's own key: no exp, no jti, no sub, no iat", async () => {
    for (const name of ["exp", "jti", "sub", "iat"]) {
      const payload = claims();
      delete payload[name];
      assertInvalidToken(await me(t.app, await signWithServerKey(payload), IP), `missing ${name}`);
    }
  });

  it("a validly signed token for a user that does not exist", async () => {
    assertInvalidToken(await me(t.app, await signWithServerKey({ ...claims(), sub: "00000000-0000-0000-0000-000000000000" }), IP));
  });

  it("header games under the server's own key: unknown kid, no kid, typ JWT, no typ, crit, jku, x5u", async () => {
    const { kid: _kid, ...noKid } = header();
    const { typ: _typ, ...noTyp } = header();
    const cases: Record<string, Record<string, unknown>> = {
      "unknown kid": { ...header(), kid: "not-a-kid-we-know" },
      "no kid": noKid,
      "typ JWT": { ...header(), typ: "JWT" },
      "no typ": noTyp,
      "crit extension": { ...header(), crit: ["exp"], exp: 1 },
      jku: { ...header(), jku: "https://evil.test/jwks.json" },
      x5u: { ...header(), x5u: "https://evil.test/cert.pem" },
    };
    // Signed by hand (jose refuses to sign some of these headers), with the server's real private key.
    const signRaw = (h: object) =>
      compact(h, claims(), (input) => sign(null, Buffer.from(input), { key: server.privateJwk as never, format: "jwk" }).toString("base64url"));
    assert.equal((await me(t.app, signRaw(header()), IP)).statusCode, 200, "control: the hand-signed token with a good header");
    for (const [name, h] of Object.entries(cases)) assertInvalidToken(await me(t.app, signRaw(h), IP), name);
  });

  it("an embedded jwk header with the attacker's own key (CVE-2018-0114), with our kid or its own", async () => {
    const { privateKey, publicKey } = await generateKeyPair("EdDSA", { extractable: true });
    const attackerJwk = await exportJWK(publicKey);
    for (const kid of [server.kid, "attacker"]) {
      const token = await new SignJWT({ ...claims(), roles: ["admin"] })
        .setProtectedHeader({ alg: "EdDSA", kid, typ: "at+jwt", jwk: attackerJwk })
        .sign(privateKey);
      assertInvalidToken(await me(t.app, token, IP), kid);
    }
    // Same attacker key without the jwk header, claiming our kid: the signature does not verify.
    const { privateKey: raw } = generateKeyPairSync("ed25519");
    const token = compact(header(), claims(), (input) => sign(null, Buffer.from(input), raw).toString("base64url"));
    assertInvalidToken(await me(t.app, token, IP));
  });

  it("garbage credentials: Bearer x.y.z, Basic, empty bearer, scheme only, oversized, JWE-shaped", async () => {
    const headers = [
      "Bearer x.y.z",
      "Bearer a.b",
      `Basic ${Buffer.from("victim@example.com:correct horse battery staple").toString("base64")}`,
      "Bearer ",
      "Bearer",
      "bearer    ",
      `Bearer ${genuine}x`,
      `Bearer ${"a".repeat(5000)}.${"b".repeat(10)}.${"c".repeat(10)}`,
      "Bearer a.b.c.d.e",
      `Bearer ${genuine} ${genuine}`,
    ];
    for (const authorization of headers) {
      const response = await t.app.inject({ method: "GET", url: "/auth/me", remoteAddress: IP, headers: { authorization } });
      assertInvalidToken(response, authorization.slice(0, 40));
      assert.doesNotMatch(response.body, /victim@example\.com/);
    }
  });

  it("no credential at all: 401 with a Bearer challenge", async () => {
    const response = await t.app.inject({ method: "GET", url: "/auth/me", remoteAddress: IP });
    assert.equal(response.statusCode, 401);
    assert.match(String(response.headers["www-authenticate"]), /^Bearer\b/);
    assert.match(String(response.headers["content-type"]), /^application\/problem\+json/);
  });

  it("refusals do not say why (the reason stays in the log)", async () => {
    const expired = await signWithServerKey({ ...claims(), exp: Math.floor(Date.now() / 1000) - 600, iat: Math.floor(Date.now() / 1000) - 1200, nbf: Math.floor(Date.now() / 1000) - 1200 });
    const badAud = await signWithServerKey({ ...claims(), aud: "x" });
    const [a, b] = [await me(t.app, expired, IP), await me(t.app, badAud, IP)];
    const strip = (body: Record<string, unknown>) => {
      const { requestId: _, ...rest } = body;
      return rest;
    };
    assert.deepEqual(strip(a.json()), strip(b.json()));
    assert.doesNotMatch(a.body + b.body, /jose|JWT|ERR_|aud|exp\b|stack/);
  });
});

describe("signing-key rotation", () => {
  it("a key retired long ago no longer verifies (nor is published), even with fresh claims; a just-rotated key still does", async () => {
    const first = await startIdentityApp();
    const dataDir = first.dataDir;
    let second: IdentityApp | undefined;
    try {
      const { tokens } = await signUp(first.app, "rotate@example.com", IP);
      const before = jwtPart(tokens.access_token, 0).kid as string;
      const userId = jwtPart(tokens.access_token, 1).sub as string;
      await first.close();

      // An old key retired a day ago, and an ordinary rotation now (the previous active key retires now).
      const store = await openStore(dataDir);
      const old = await generateSigningKey("EdDSA");
      try {
        await store.repos.signingKeys.insert({
          kid: old.kid,
          alg: "EdDSA",
          privateJwk: old.privateJwk as Record<string, unknown>,
          publicJwk: old.publicJwk as Record<string, unknown>,
          status: "active",
        });
        assert.ok(await store.repos.signingKeys.retire(old.kid, new Date(Date.now() - 86_400_000)));
        const rotated = await rotateKeys(first.config, store.repos);
        assert.deepEqual(rotated.retired, [before]);
      } finally {
        await store.close();
      }

      second = await startIdentityApp({ dataDir });
      // Tokens of the key retired just now keep working for their lifetime.
      assert.equal((await me(second.app, tokens.access_token, IP)).statusCode, 200);
      // New tokens come from the new key.
      const fresh = await loginOk(second.app, "rotate@example.com", IP);
      assert.notEqual(jwtPart(fresh.access_token, 0).kid, before);
      assert.equal((await me(second.app, fresh.access_token, IP)).statusCode, 200);

      // The long-retired key: fresh, otherwise perfect claims, still refused.
      const now = Math.floor(Date.now() / 1000);
      const forged = await new SignJWT({
        iss: second.config.tokens.issuer,
        aud: second.config.tokens.audience,
        sub: userId,
        iat: now,
        nbf: now,
        exp: now + 300,
        jti: "old-key-token",
        client_id: "rampart",
        roles: ["user"],
      })
        .setProtectedHeader({ alg: "EdDSA", kid: old.kid, typ: "at+jwt" })
        .sign(await importJWK(old.privateJwk, "EdDSA"));
      assertInvalidToken(await me(second.app, forged, IP));

      const jwks = (await second.app.inject({ method: "GET", url: "/.well-known/jwks.json", remoteAddress: IP })).json();
      const kids = (jwks.keys as JWK[]).map((k) => k.kid);
      assert.ok(!kids.includes(old.kid), "the long-retired key is not published");
      assert.ok(kids.includes(before), "the just-retired key is still published");
    } finally {
      await second?.close();
    }
  });
});
