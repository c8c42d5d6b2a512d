/**
 * Two instances sharing one database and one Redis (REDIS_URL), as behind a load balancer. CONTRACT.md:
 * with REDIS_URL, "revocation and lockout state" are shared by every instance, so a logout, a password
 * change or a detected refresh-token theft on one instance holds on the other at once, and a lockout
 * earned on one instance holds on the other. Skipped when Redis is unreachable (fails in CI).
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import {
  assertInvalidToken,
  assertProblem,
  bearer,
  type IdentityApp,
  login,
  loginOk,
  me,
  newDataDir,
  PASSWORD,
  refresh,
  signUp,
  startIdentityApp,
  type TokenPair,
} from "../../support/identity.ts";
import { redisUrl, serviceSkip } from "../../support/services.ts";

const skip = await serviceSkip("redis");
const IP = "10.18.0.1";
// Redis outlives the test run: fresh emails each run keep earlier runs' lockouts out of the way.
const run = randomUUID().slice(0, 8);
const email = (name: string) => `${name}-${run}@example.com`;

async function ready(t: IdentityApp) {
  for (let i = 0; i < 50; i++) {
    if ((await t.app.inject({ method: "GET", url: "/readyz", remoteAddress: IP })).statusCode === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.fail("the instance never became ready (Redis?)");
}

describe("two instances sharing a database and Redis", { skip }, () => {
  let a: IdentityApp;
  let b: IdentityApp;
  before(async () => {
    const dataDir = newDataDir();
    a = await startIdentityApp({ dataDir, env: { REDIS_URL: redisUrl() } });
    b = await startIdentityApp({ dataDir, env: { REDIS_URL: redisUrl() } });
    await Promise.all([ready(a), ready(b)]);
  });
  after(async () => {
    await a?.close();
    await b?.close();
  });

  it("control: a token issued by one instance works on the other; an API token deleted on one dies on the other", async () => {
    const { tokens } = await signUp(a.app, email("control"), IP);
    assert.equal((await me(b.app, tokens.access_token, IP)).statusCode, 200);
    const created = await b.app.inject({
      method: "POST",
      url: "/auth/tokens",
      remoteAddress: IP,
      headers: bearer(tokens.access_token),
      payload: { name: "shared", scopes: ["notes:read"] },
    });
    assert.equal(created.statusCode, 201, created.body);
    assert.equal((await me(a.app, created.json().token, IP)).statusCode, 200);
    assert.equal(
      (await a.app.inject({ method: "DELETE", url: `/auth/tokens/${created.json().id}`, remoteAddress: IP, headers: bearer(tokens.access_token) })).statusCode,
      204,
    );
    assertInvalidToken(await me(b.app, created.json().token, IP));
  });

  it("a lockout earned on one instance holds on the other", async () => {
    const target = email("lockout");
    await signUp(a.app, target, IP);
    for (let i = 0; i < 5; i++) assertProblem(await login(i % 2 ? a.app : b.app, target, "not the passphrase at all", "10.18.0.2"), 401);
    assertProblem(await login(a.app, target, PASSWORD, "10.18.0.2"), 429);
    assertProblem(await login(b.app, target, PASSWORD, "10.18.0.2"), 429);
  });

  it("a spent refresh token replayed on the other instance is refused and its family's refresh tokens die", async () => {
    const { tokens } = await signUp(a.app, email("reuse"), IP);
    const rotated = await refresh(a.app, tokens.refresh_token, IP);
    assert.equal(rotated.statusCode, 200, rotated.body);
    assertInvalidToken(await refresh(b.app, tokens.refresh_token, IP));
    assertInvalidToken(await refresh(a.app, (rotated.json() as TokenPair).refresh_token, IP));
  });

  it(
    "a logout on one instance is honoured by the other at once",
    async () => {
      const { tokens } = await signUp(a.app, email("logout"), IP);
      assert.equal((await me(b.app, tokens.access_token, IP)).statusCode, 200, "works on b before");
      const response = await a.app.inject({ method: "POST", url: "/auth/logout", remoteAddress: IP, headers: bearer(tokens.access_token), payload: {} });
      assert.equal(response.statusCode, 204, response.body);
      assertInvalidToken(await me(a.app, tokens.access_token, IP), "on the instance that logged out");
      assertInvalidToken(await me(b.app, tokens.access_token, IP), "on the other instance");
    },
  );

  it(
    "a password change on one instance ends the other sessions on every instance",
    async () => {
      const { tokens: current } = await signUp(a.app, email("password"), IP);
      const other = await loginOk(b.app, email("password"), IP);
      const response = await a.app.inject({
        method: "POST",
        url: "/auth/password",
        remoteAddress: IP,
        headers: bearer(current.access_token),
        payload: { current_password: PASSWORD, new_password: "a new passphrase for both" },
      });
      assert.equal(response.statusCode, 204, response.body);
      assertInvalidToken(await refresh(b.app, other.refresh_token, IP), "the refresh token (checked in the database)");
      assertInvalidToken(await me(a.app, other.access_token, IP), "on the instance that changed it");
      assertInvalidToken(await me(b.app, other.access_token, IP), "on the other instance");
    },
  );

  it(
    "refresh-token theft detected on one instance kills the family's access tokens on the other",
    async () => {
      const { tokens } = await signUp(a.app, email("theft"), IP);
      const rotated = (await refresh(a.app, tokens.refresh_token, IP)).json() as TokenPair;
      assert.equal((await me(a.app, rotated.access_token, IP)).statusCode, 200);
      assertInvalidToken(await refresh(b.app, tokens.refresh_token, IP), "replayed on b");
      assertInvalidToken(await me(b.app, rotated.access_token, IP), "on the instance that detected it");
      assertInvalidToken(await me(a.app, rotated.access_token, IP), "on the other instance");
    },
  );
});
