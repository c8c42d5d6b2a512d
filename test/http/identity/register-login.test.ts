/**
 * POST /auth/register and POST /auth/login against the composed server: the happy paths' exact shapes,
 * the password policy, mass assignment, closed registration, the access token's RFC 9068 form, and a
 * wrong email and a wrong password being indistinguishable.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  assertProblem,
  type IdentityApp,
  jwtPart,
  login,
  loginOk,
  me,
  openStore,
  PASSWORD,
  register,
  startIdentityApp,
} from "../../support/identity.ts";

// Addresses of this file only, so the login throttle of other files never meets these.
const IP = "10.11.0.1";

describe("POST /auth/register", () => {
  let t: IdentityApp;
  before(async () => {
    t = await startIdentityApp();
  });
  after(async () => {
    await t.close();
  });

  const userCount = async () => {
    const store = await openStore(t.dataDir);
    try {
      return (await store.repos.users.list({ limit: 500 })).length;
    } finally {
      await store.close();
    }
  };

  it("creates a user with role user: 201 {id, email, roles}, email trimmed and lowercased", async () => {
    const response = await register(t.app, "  Reg.Alice@Example.COM ", PASSWORD, IP);
    assert.equal(response.statusCode, 201, response.body);
    const body = response.json();
    assert.deepEqual(Object.keys(body).sort(), ["email", "id", "roles"]);
    assert.equal(typeof body.id, "string");
    assert.ok(body.id.length > 0);
    assert.equal(body.email, "reg.alice@example.com");
    assert.deepEqual(body.roles, ["user"]);
    // The new user can log in under any case/space variant of the address.
    await loginOk(t.app, "REG.ALICE@example.com ", IP);
  });

  it("refuses a duplicate email, whatever its case and surrounding spaces, and creates nothing", async () => {
    const first = await register(t.app, "dup@example.com", PASSWORD, IP);
    assert.equal(first.statusCode, 201, first.body);
    const before = await userCount();
    const second = await register(t.app, "  DUP@Example.com", "another long passphrase here", IP);
    assertProblem(second, 409);
    assert.equal(await userCount(), before);
    // The original account and password are untouched; the second password does not log in.
    await loginOk(t.app, "dup@example.com", IP);
    assert.equal((await login(t.app, "dup@example.com", "another long passphrase here", IP)).statusCode, 401);
  });

  it("refuses a password shorter than 15 characters with a problem naming the rule", async () => {
    const response = await register(t.app, "short@example.com", "fourteen chars", IP);
    const problem = assertProblem(response, 400);
    assert.match(String(problem.detail), /at least 15 characters/);
    assert.equal((await login(t.app, "short@example.com", "fourteen chars", IP)).statusCode, 401);
  });

  it("refuses a password longer than 256 characters", async () => {
    const response = await register(t.app, "long@example.com", "a long passphrase ".repeat(15), IP);
    const problem = assertProblem(response, 400);
    assert.match(String(problem.detail), /at most 256 characters/);
  });

  it("refuses a common password (from the breached list) with a problem naming the rule", async () => {
    const response = await register(t.app, "common@example.com", "1qaz2wsx3edc4rfv", IP);
    const problem = assertProblem(response, 400);
    assert.match(String(problem.detail), /too common/);
  });

  it("refuses a password equal to the email address", async () => {
    const email = "someone.long@example.com";
    const response = await register(t.app, email, email, IP);
    const problem = assertProblem(response, 400);
    assert.match(String(problem.detail), /email/);
  });

  it("mass assignment: an unknown field (roles: [admin]) is 400 and no user, let alone an admin, is created", async () => {
    const before = await userCount();
    const response = await t.app.inject({
      method: "POST",
      url: "/auth/register",
      remoteAddress: IP,
      payload: { email: "mallory@example.com", password: PASSWORD, roles: ["admin"] },
    });
    const problem = assertProblem(response, 400);
    assert.deepEqual(
      (problem.errors as { pointer: string }[]).map((e) => e.pointer),
      ["/roles"],
    );
    assert.equal(await userCount(), before);
    const store = await openStore(t.dataDir);
    try {
      assert.equal(await store.repos.users.findByEmail("mallory@example.com"), undefined);
      assert.equal(await store.repos.users.countAdmins(), 0);
    } finally {
      await store.close();
    }
  });

  it("refuses a prototype-poisoning body (__proto__.roles) with 400", async () => {
    const response = await t.app.inject({
      method: "POST",
      url: "/auth/register",
      remoteAddress: IP,
      headers: { "content-type": "application/json" },
      payload: `{"email":"proto@example.com","password":"${PASSWORD}","__proto__":{"roles":["admin"]}}`,
    });
    assertProblem(response, 400);
    assert.equal((await login(t.app, "proto@example.com", PASSWORD, IP)).statusCode, 401);
  });
});

describe("POST /auth/register when registration is closed", () => {
  it("is 403 problem+json and creates no user", async () => {
    const t = await startIdentityApp({ overrides: { registration: "closed" } });
    try {
      const response = await register(t.app, "closed@example.com", PASSWORD, IP);
      assertProblem(response, 403);
      const store = await openStore(t.dataDir);
      try {
        assert.equal(await store.repos.users.findByEmail("closed@example.com"), undefined);
      } finally {
        await store.close();
      }
    } finally {
      await t.close();
    }
  });
});

describe("POST /auth/register with passwords.minLength lowered to 8", () => {
  it("still refuses a common 8-character password, and accepts an uncommon one", async () => {
    const t = await startIdentityApp({ overrides: { passwords: { minLength: 8 } } });
    try {
      assert.match(String(assertProblem(await register(t.app, "eight@example.com", "password", IP), 400).detail), /too common/);
      assert.equal((await register(t.app, "eight@example.com", "vq7#Lm2!xT", IP)).statusCode, 201);
    } finally {
      await t.close();
    }
  });
});

describe("POST /auth/login", () => {
  let t: IdentityApp;
  let userId: string;
  before(async () => {
    t = await startIdentityApp();
    const created = await register(t.app, "login@example.com", PASSWORD, IP);
    assert.equal(created.statusCode, 201, created.body);
    userId = created.json().id;
  });
  after(async () => {
    await t.close();
  });

  it("answers 200 {access_token, token_type: Bearer, expires_in, refresh_token}, never cached", async () => {
    const response = await login(t.app, "login@example.com", PASSWORD, IP);
    assert.equal(response.statusCode, 200, response.body);
    const body = response.json();
    assert.deepEqual(Object.keys(body).sort(), ["access_token", "expires_in", "refresh_token", "token_type"]);
    assert.equal(body.token_type, "Bearer");
    assert.equal(body.expires_in, t.config.tokens.accessTtlSeconds);
    assert.equal(typeof body.access_token, "string");
    assert.equal(typeof body.refresh_token, "string");
    assert.notEqual(body.refresh_token, body.access_token);
    assert.match(String(response.headers["cache-control"]), /no-store/);
  });

  it("issues an RFC 9068 access token: typ at+jwt, alg EdDSA, a kid published in the JWKS, iss aud sub iat exp jti", async () => {
    const { access_token } = await loginOk(t.app, "login@example.com", IP);
    const header = jwtPart(access_token, 0);
    assert.equal(header.typ, "at+jwt");
    assert.equal(header.alg, "EdDSA");
    assert.equal(typeof header.kid, "string");
    for (const name of ["jwk", "jku", "x5c", "x5u"]) assert.equal(header[name], undefined, name);

    const jwks = await t.app.inject({ method: "GET", url: "/.well-known/jwks.json", remoteAddress: IP });
    assert.equal(jwks.statusCode, 200);
    const keys = jwks.json().keys as Record<string, unknown>[];
    const key = keys.find((k) => k.kid === header.kid);
    assert.ok(key, "the token's kid is in the JWKS");
    assert.equal(key.kty, "OKP");
    assert.equal(key.alg, "EdDSA");
    assert.equal(key.use, "sig");
    for (const k of keys) for (const secret of ["d", "k", "p", "q", "dp", "dq", "qi"]) assert.equal(k[secret], undefined, `JWKS leaks ${secret}`);

    const payload = jwtPart(access_token, 1);
    assert.equal(payload.iss, t.config.tokens.issuer);
    assert.equal(payload.aud, t.config.tokens.audience);
    assert.equal(payload.sub, userId);
    assert.equal(typeof payload.jti, "string");
    assert.equal(typeof payload.iat, "number");
    assert.equal(typeof payload.exp, "number");
    assert.equal((payload.exp as number) - (payload.iat as number), t.config.tokens.accessTtlSeconds);
    assert.ok(Math.abs((payload.iat as number) - Date.now() / 1000) < 30);
    // Two logins, two different token ids.
    const second = await loginOk(t.app, "login@example.com", IP);
    assert.notEqual(jwtPart(second.access_token, 1).jti, payload.jti);
  });

  it("the access token works on GET /auth/me: {id, email, roles, permissions}", async () => {
    const { access_token } = await loginOk(t.app, "login@example.com", IP);
    const response = await me(t.app, access_token, IP);
    assert.equal(response.statusCode, 200, response.body);
    const body = response.json();
    assert.deepEqual(Object.keys(body).sort(), ["email", "id", "mfa", "passkeys", "permissions", "roles"]);
    assert.equal(body.id, userId);
    assert.equal(body.email, "login@example.com");
    assert.deepEqual(body.roles, ["user"]);
    assert.ok(Array.isArray(body.permissions));
  });

  it("a wrong password and an unknown email get the same 401 body (but requestId) and a Bearer challenge", async () => {
    const wrongPassword = await login(t.app, "login@example.com", "not the right passphrase", "10.11.0.2");
    const unknownEmail = await login(t.app, "nobody-here@example.com", "not the right passphrase", "10.11.0.2");
    for (const response of [wrongPassword, unknownEmail]) {
      assertProblem(response, 401);
      assert.match(String(response.headers["www-authenticate"]), /^Bearer\b/);
    }
    const strip = (body: Record<string, unknown>) => {
      const { requestId: _, ...rest } = body;
      return rest;
    };
    assert.deepEqual(strip(wrongPassword.json()), strip(unknownEmail.json()));
    assert.equal(wrongPassword.headers["www-authenticate"], unknownEmail.headers["www-authenticate"]);
    assert.notEqual(wrongPassword.json().requestId, unknownEmail.json().requestId);
    // Neither response hands out anything token-like.
    assert.doesNotMatch(wrongPassword.body, /access_token|refresh_token/);
  });

  it("an unknown field in the login body is 400", async () => {
    const response = await t.app.inject({
      method: "POST",
      url: "/auth/login",
      remoteAddress: IP,
      payload: { email: "login@example.com", password: PASSWORD, admin: true },
    });
    assertProblem(response, 400);
  });
});
