/**
 * The session lifecycle: refresh rotation and reuse detection (a spent refresh token revokes its whole
 * family, access tokens included), concurrent refreshes, logout, and a password change ending every
 * other session at once.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  assertInvalidToken,
  assertProblem,
  bearer,
  type IdentityApp,
  jwtPart,
  login,
  loginOk,
  me,
  PASSWORD,
  refresh,
  signUp,
  startIdentityApp,
  type TokenPair,
} from "../../support/identity.ts";

const IP = "10.13.0.1";

describe("POST /auth/refresh", () => {
  let t: IdentityApp;
  before(async () => {
    t = await startIdentityApp();
    await signUp(t.app, "refresh@example.com", IP);
  });
  after(async () => {
    await t.close();
  });

  it("gives a new pair; both new tokens work, in the same session", async () => {
    const first = await loginOk(t.app, "refresh@example.com", IP);
    const response = await refresh(t.app, first.refresh_token, IP);
    assert.equal(response.statusCode, 200, response.body);
    const next = response.json() as TokenPair;
    assert.deepEqual(Object.keys(next).sort(), ["access_token", "expires_in", "refresh_token", "token_type"]);
    assert.equal(next.token_type, "Bearer");
    assert.notEqual(next.refresh_token, first.refresh_token);
    assert.notEqual(next.access_token, first.access_token);
    assert.equal(jwtPart(next.access_token, 1).sid, jwtPart(first.access_token, 1).sid, "same refresh family");
    assert.equal((await me(t.app, next.access_token, IP)).statusCode, 200);
    assert.equal((await refresh(t.app, next.refresh_token, IP)).statusCode, 200);
  });

  it("reuse of a spent refresh token is theft: 401, and the whole family dies (new refresh token and access tokens too)", async () => {
    const first = await loginOk(t.app, "refresh@example.com", IP);
    const rotated = await refresh(t.app, first.refresh_token, IP);
    assert.equal(rotated.statusCode, 200, rotated.body);
    const next = rotated.json() as TokenPair;
    assert.equal((await me(t.app, next.access_token, IP)).statusCode, 200, "works before the theft is detected");

    assertInvalidToken(await refresh(t.app, first.refresh_token, IP), "replayed spent token");
    assertInvalidToken(await refresh(t.app, next.refresh_token, IP), "the family's newest refresh token");
    assertInvalidToken(await me(t.app, next.access_token, IP), "the family's newest access token");
    assertInvalidToken(await me(t.app, first.access_token, IP), "the family's first access token");

    // Other sessions of the same user are not touched.
    const other = await loginOk(t.app, "refresh@example.com", IP);
    assert.equal((await me(t.app, other.access_token, IP)).statusCode, 200);
    assert.equal((await refresh(t.app, other.refresh_token, IP)).statusCode, 200);
  });

  it("two concurrent refreshes with the same token: at most one 200", async () => {
    const pair = await loginOk(t.app, "refresh@example.com", IP);
    const results = await Promise.all([refresh(t.app, pair.refresh_token, IP), refresh(t.app, pair.refresh_token, IP), refresh(t.app, pair.refresh_token, IP)]);
    const ok = results.filter((r) => r.statusCode === 200);
    assert.ok(ok.length <= 1, `${ok.length} refreshes succeeded`);
    for (const r of results) if (r.statusCode !== 200) assertInvalidToken(r);
    // The race is treated as reuse: whatever pair won is dead too.
    for (const r of ok) assertInvalidToken(await refresh(t.app, (r.json() as TokenPair).refresh_token, IP), "winner's refresh token");
  });

  it("refuses garbage, an access token in place of a refresh token, and unknown fields", async () => {
    const pair = await loginOk(t.app, "refresh@example.com", IP);
    for (const value of ["x", "not-a-refresh-token", pair.access_token, `${pair.refresh_token}x`]) {
      const response = await refresh(t.app, value, IP);
      assert.equal(response.statusCode, value.length > 512 ? 400 : 401, value.slice(0, 20));
    }
    const extra = await t.app.inject({
      method: "POST",
      url: "/auth/refresh",
      remoteAddress: IP,
      payload: { refresh_token: pair.refresh_token, sub: "someone-else" },
    });
    assertProblem(extra, 400);
    // The refused requests did not spend the token.
    assert.equal((await refresh(t.app, pair.refresh_token, IP)).statusCode, 200);
  });
});

describe("POST /auth/logout", () => {
  let t: IdentityApp;
  before(async () => {
    t = await startIdentityApp();
    await signUp(t.app, "logout@example.com", IP);
  });
  after(async () => {
    await t.close();
  });

  const logout = (token: string, payload?: object) =>
    t.app.inject({ method: "POST", url: "/auth/logout", remoteAddress: IP, headers: bearer(token), ...(payload ? { payload } : {}) });

  it("204; the access token is refused at once and its refresh token too", async () => {
    const pair = await loginOk(t.app, "logout@example.com", IP);
    assert.equal((await me(t.app, pair.access_token, IP)).statusCode, 200, "warms the verifier cache");
    const response = await logout(pair.access_token, {});
    assert.equal(response.statusCode, 204, response.body);
    assert.equal(response.body, "");
    assertInvalidToken(await me(t.app, pair.access_token, IP));
    assertInvalidToken(await refresh(t.app, pair.refresh_token, IP));
    assertInvalidToken(await logout(pair.access_token, {}), "a second logout with the dead token");
  });

  it(
    "the body is optional (CONTRACT: {refresh_token?}): a logout with no body at all is 204",
    async () => {
      const pair = await loginOk(t.app, "logout@example.com", IP);
      const response = await logout(pair.access_token);
      assert.equal(response.statusCode, 204, response.body);
      assertInvalidToken(await me(t.app, pair.access_token, IP));
      assertInvalidToken(await refresh(t.app, pair.refresh_token, IP));
    },
  );

  it("with the refresh token in the body: 204 and both die; other sessions live on", async () => {
    const pair = await loginOk(t.app, "logout@example.com", IP);
    const other = await loginOk(t.app, "logout@example.com", IP);
    assert.equal((await logout(pair.access_token, { refresh_token: pair.refresh_token })).statusCode, 204);
    assertInvalidToken(await me(t.app, pair.access_token, IP));
    assertInvalidToken(await refresh(t.app, pair.refresh_token, IP));
    assert.equal((await me(t.app, other.access_token, IP)).statusCode, 200);
    assert.equal((await refresh(t.app, other.refresh_token, IP)).statusCode, 200);
  });

  it("a refresh token of another user named in the body is not revoked", async () => {
    const mine = await loginOk(t.app, "logout@example.com", IP);
    const { tokens: theirs } = await signUp(t.app, "logout-other@example.com", IP);
    assert.equal((await logout(mine.access_token, { refresh_token: theirs.refresh_token })).statusCode, 204);
    assert.equal((await refresh(t.app, theirs.refresh_token, IP)).statusCode, 200);
  });

  it("without credentials: 401", async () => {
    const response = await t.app.inject({ method: "POST", url: "/auth/logout", remoteAddress: IP });
    assert.equal(response.statusCode, 401);
    assert.match(String(response.headers["www-authenticate"]), /^Bearer\b/);
  });
});

describe("POST /auth/password", () => {
  let t: IdentityApp;
  const NEW_PASSWORD = "an entirely new passphrase";
  before(async () => {
    t = await startIdentityApp();
  });
  after(async () => {
    await t.close();
  });

  const change = (token: string, current: string, next: string) =>
    t.app.inject({
      method: "POST",
      url: "/auth/password",
      remoteAddress: IP,
      headers: bearer(token),
      payload: { current_password: current, new_password: next },
    });

  it("204; every other session dies at once, the current one lives; only the new password logs in", async () => {
    const { tokens: current } = await signUp(t.app, "change@example.com", IP);
    const other = await loginOk(t.app, "change@example.com", IP);
    assert.equal((await me(t.app, other.access_token, IP)).statusCode, 200, "warms the verifier cache");

    const response = await change(current.access_token, PASSWORD, NEW_PASSWORD);
    assert.equal(response.statusCode, 204, response.body);

    assertInvalidToken(await me(t.app, other.access_token, IP), "other session's access token");
    assertInvalidToken(await refresh(t.app, other.refresh_token, IP), "other session's refresh token");
    assert.equal((await me(t.app, current.access_token, IP)).statusCode, 200, "current access token");
    assert.equal((await refresh(t.app, current.refresh_token, IP)).statusCode, 200, "current refresh token");

    assert.equal((await login(t.app, "change@example.com", PASSWORD, IP)).statusCode, 401, "old password");
    await loginOk(t.app, "change@example.com", IP, NEW_PASSWORD);
  });

  it("a wrong current password is 401 and changes nothing", async () => {
    const { tokens } = await signUp(t.app, "change-wrong@example.com", IP);
    const other = await loginOk(t.app, "change-wrong@example.com", IP);
    const response = await change(tokens.access_token, "not my current passphrase", NEW_PASSWORD);
    assertProblem(response, 401);
    assert.equal((await me(t.app, other.access_token, IP)).statusCode, 200);
    assert.equal((await login(t.app, "change-wrong@example.com", NEW_PASSWORD, IP)).statusCode, 401);
    await loginOk(t.app, "change-wrong@example.com", IP);
  });

  it("a weak new password is 400 and changes nothing", async () => {
    const { tokens } = await signUp(t.app, "change-weak@example.com", IP);
    const other = await loginOk(t.app, "change-weak@example.com", IP);
    assertProblem(await change(tokens.access_token, PASSWORD, "too short"), 400);
    assertProblem(await change(tokens.access_token, PASSWORD, "1qaz2wsx3edc4rfv"), 400);
    assert.equal((await me(t.app, other.access_token, IP)).statusCode, 200);
    await loginOk(t.app, "change-weak@example.com", IP);
  });
});

// 2 s, not 1: exp = floor(now) + lifetime, so a token issued late in a second lives between lifetime − 1
// and lifetime seconds; with 1 s it could be dead before the test's first request (a flake under load).
describe("access-token expiry (2 s lifetime)", () => {
  let t: IdentityApp;
  before(async () => {
    t = await startIdentityApp({ overrides: { tokens: { accessTtlSeconds: 2, clockToleranceSeconds: 0 } } });
  });
  after(async () => {
    await t.close();
  });

  it("an expired access token is 401 invalid_token; its refresh token still gives a fresh pair", async () => {
    const { tokens } = await signUp(t.app, "expiry@example.com", IP);
    assert.equal(tokens.expires_in, 2);
    assert.equal((await me(t.app, tokens.access_token, IP)).statusCode, 200, "cached as verified");
    await new Promise((resolve) => setTimeout(resolve, 3100));
    assertInvalidToken(await me(t.app, tokens.access_token, IP), "expired (the verifier cache must not outlive exp)");
    const response = await refresh(t.app, tokens.refresh_token, IP);
    assert.equal(response.statusCode, 200, response.body);
    assert.equal((await me(t.app, (response.json() as TokenPair).access_token, IP)).statusCode, 200);
  });

  it(
    "POST /auth/refresh (a public route) still works when the client also sends its expired access token",
    async () => {
      const { tokens } = await signUp(t.app, "expiry-stale@example.com", IP);
      await new Promise((resolve) => setTimeout(resolve, 3100));
      const response = await t.app.inject({
        method: "POST",
        url: "/auth/refresh",
        remoteAddress: IP,
        headers: bearer(tokens.access_token),
        payload: { refresh_token: tokens.refresh_token },
      });
      assert.equal(response.statusCode, 200, response.body);
    },
  );
});

describe("revocations survive a restart", () => {
  it("a logged-out token and the sessions ended by a password change stay dead on a new app over the same data dir", async () => {
    const first = await startIdentityApp();
    let second: IdentityApp | undefined;
    try {
      const { tokens: loggedOut } = await signUp(first.app, "restart@example.com", IP);
      const current = await loginOk(first.app, "restart@example.com", IP);
      const other = await loginOk(first.app, "restart@example.com", IP);
      assert.equal(
        (await first.app.inject({ method: "POST", url: "/auth/logout", remoteAddress: IP, headers: bearer(loggedOut.access_token), payload: {} })).statusCode,
        204,
      );
      const changed = await first.app.inject({
        method: "POST",
        url: "/auth/password",
        remoteAddress: IP,
        headers: bearer(current.access_token),
        payload: { current_password: PASSWORD, new_password: "the passphrase after a reboot" },
      });
      assert.equal(changed.statusCode, 204, changed.body);
      await first.close();

      second = await startIdentityApp({ dataDir: first.dataDir });
      assertInvalidToken(await me(second.app, loggedOut.access_token, IP), "logged out");
      assertInvalidToken(await refresh(second.app, loggedOut.refresh_token, IP), "logged out refresh");
      assertInvalidToken(await me(second.app, other.access_token, IP), "ended by the password change");
      assertInvalidToken(await refresh(second.app, other.refresh_token, IP), "ended by the password change (refresh)");
      assert.equal((await me(second.app, current.access_token, IP)).statusCode, 200, "the session that changed the password lives on");
    } finally {
      await second?.close();
    }
  });
});
