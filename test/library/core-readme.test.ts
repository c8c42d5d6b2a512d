/**
 * The README's `rampart/core` examples, run as written against the package's core entry: one each
 * for remote token verification, API tokens, permissions, limits and client IPs.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import {
  authorizeObject,
  clientKey,
  createClientResolver,
  createRateLimiter,
  createRemoteAccessTokenVerifier,
  createRemoteKeySet,
  createRoleResolver,
  generateApiToken,
  hashApiToken,
  MemoryRateLimitStore,
  parseApiToken,
  parsePolicy,
  parseTrustedProxies,
} from "../../src/core.ts";

describe("rampart/core, as the README shows it", () => {
  it("verifies a remote issuer's access token against its JWKS", async () => {
    const { publicKey, privateKey } = await generateKeyPair("EdDSA");
    const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid: "k1", alg: "EdDSA", use: "sig" }] };
    const keys = createRemoteKeySet({ url: "https://auth.example.com/.well-known/jwks.json", fetch: (async () => Response.json(jwks)) as typeof fetch });
    const verifier = createRemoteAccessTokenVerifier({ keys, issuer: "rampart", audience: "rampart-api" });
    const token = await new SignJWT({ sub: "u1", jti: "j1", client_id: "rampart", roles: ["user"] })
      .setProtectedHeader({ alg: "EdDSA", kid: "k1", typ: "at+jwt" })
      .setIssuer("rampart")
      .setAudience("rampart-api")
      .setIssuedAt()
      .setExpirationTime("5m")
      .sign(privateKey);
    const claims = await verifier.verify(token);
    assert.equal(claims.sub, "u1");
    await assert.rejects(verifier.verify(`${token.slice(0, -3)}AAA`), { code: "RAMPART_ERR_INVALID_TOKEN" });
  });

  it("checks an API token's shape and checksum before the hash is looked up", () => {
    const { token } = generateApiToken();
    assert.doesNotThrow(() => parseApiToken(token));
    assert.match(hashApiToken(token), /^[0-9a-f]{64}$/);
    assert.throws(() => parseApiToken(`${token.slice(0, -1)}${token.endsWith("A") ? "B" : "A"}`));
  });

  it("resolves permissions from roles, and object-level access", () => {
    const roles = createRoleResolver({ admin: ["*"], reader: ["items:read"] });
    const permissions = roles.permissionsFor(["reader"]);
    assert.equal(permissions.has("items:read"), true);
    const principal = { userId: "u1", permissions };
    assert.deepEqual(authorizeObject(principal, "read", { type: "items", ownerId: "u1" }), { type: "items", ownerId: "u1" });
    assert.throws(() => authorizeObject(principal, "read", { type: "items", ownerId: "u2" }), { code: "RAMPART_ERR_NOT_FOUND" });
  });

  it("limits with GCRA, stacked, all-or-nothing", async () => {
    const limiter = createRateLimiter({ store: new MemoryRateLimitStore({ maxKeys: 100_000 }) });
    const policy = parsePolicy("burst", "10/second burst 20");
    const outcomes = [];
    for (let i = 0; i < 21; i++) outcomes.push((await limiter.check([{ key: clientKey("203.0.113.7"), policy }])).allowed);
    assert.equal(outcomes.filter(Boolean).length, 20);
    assert.equal(outcomes.at(-1), false);
  });

  it("finds the client IP behind trusted proxies only", () => {
    const resolve = createClientResolver({ trustedProxies: parseTrustedProxies(["10.0.0.0/8"]), proxyHeaders: "both" });
    assert.equal(resolve({ socketAddress: "10.0.0.1", socketEncrypted: false, xForwardedFor: "203.0.113.7" }).ip, "203.0.113.7");
    assert.equal(resolve({ socketAddress: "198.51.100.9", socketEncrypted: false, xForwardedFor: "203.0.113.7" }).ip, "198.51.100.9");
  });
});
