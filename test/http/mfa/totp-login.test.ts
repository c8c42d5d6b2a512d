/**
 * TOTP and the two-step login (CONTRACT.md "Multi-factor authentication"): the password alone yields
 * no token, the right code does, codes are single-use and bounded to ±1 step, wrong codes are throttled
 * like passwords, recovery codes work once, and the mfa_token is single-use, short-lived, bound to its
 * client and killed by a password change.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  assertProblem,
  bearer,
  type IdentityApp,
  login,
  me,
  openStore,
  PASSWORD,
  refresh,
  signUp,
  startIdentityApp,
  type TokenPair,
} from "../../support/identity.ts";
import { codeAt, enrolTotp, passwordStep, verify } from "./support.ts";

let t: IdentityApp;
let n = 0;
const ip = () => `10.31.0.${++n}`;
const email = (name: string) => `${name}-${n}@example.com`;

before(async () => {
  t = await startIdentityApp();
});
after(async () => {
  await t.close();
});

async function totpUser(name: string) {
  const address = ip();
  const mail = email(name);
  const { id, tokens } = await signUp(t.app, mail, address);
  const enrolled = await enrolTotp(t.app, tokens.access_token, address);
  return { id, tokens, address, mail, ...enrolled };
}

describe("TOTP enrolment", () => {
  it("answers a base32 160-bit secret and an otpauth URI, then ten recovery codes; /auth/me shows it", async () => {
    const u = await totpUser("enrol");
    assert.match(u.secret, /^[A-Z2-7]{32}$/);
    assert.equal(
      u.otpauth_uri,
      `otpauth://totp/Rampart:${encodeURIComponent(u.mail)}?secret=${u.secret}&issuer=Rampart&algorithm=SHA1&digits=6&period=30`,
    );
    assert.equal(u.recoveryCodes.length, 10);
    const who = await me(t.app, u.tokens.access_token, u.address);
    assert.deepEqual(who.json().mfa, { totp: true, recovery_codes_remaining: 10 });
    // Re-enrolling over an active factor would switch it off without a code.
    const again = await t.app.inject({ method: "POST", url: "/auth/mfa/totp", remoteAddress: u.address, headers: bearer(u.tokens.access_token) });
    assertProblem(again, 409);
  });

  it("keeps a pending enrolment out of the login until confirmed; a wrong confirmation code is refused", async () => {
    const address = ip();
    const mail = email("pending");
    const { tokens } = await signUp(t.app, mail, address);
    const started = await t.app.inject({ method: "POST", url: "/auth/mfa/totp", remoteAddress: address, headers: bearer(tokens.access_token) });
    assert.equal(started.statusCode, 201);
    const plain = await login(t.app, mail, PASSWORD, address);
    assert.equal(typeof plain.json().access_token, "string", "unconfirmed TOTP is not required");
    const wrong = await t.app.inject({
      method: "POST",
      url: "/auth/mfa/totp/confirm",
      remoteAddress: address,
      headers: bearer(tokens.access_token),
      payload: { code: codeAt(started.json().secret, -3) },
    });
    assertProblem(wrong, 401);
    assert.deepEqual((await me(t.app, tokens.access_token, address)).json().mfa, { totp: false, recovery_codes_remaining: 0 });
  });

  it("refuses an API token for factor management", async () => {
    const address = ip();
    const { tokens } = await signUp(t.app, email("apitoken"), address);
    const created = await t.app.inject({
      method: "POST",
      url: "/auth/tokens",
      remoteAddress: address,
      headers: bearer(tokens.access_token),
      payload: { name: "x", scopes: ["*"] },
    });
    const response = await t.app.inject({ method: "POST", url: "/auth/mfa/totp", remoteAddress: address, headers: bearer(created.json().token) });
    assert.ok([401, 403].includes(response.statusCode), response.body);
  });
});

describe("login with TOTP", () => {
  it("gives no token and no cookie for the password alone, tokens for the right code", async () => {
    const u = await totpUser("login");
    const mfaToken = await passwordStep(t.app, u.mail, u.address);
    const done = await verify(t.app, { mfa_token: mfaToken, code: codeAt(u.secret) }, u.address);
    assert.equal(done.statusCode, 200, done.body);
    const pair = done.json() as TokenPair;
    assert.equal(pair.token_type, "Bearer");
    assert.equal((await me(t.app, pair.access_token, u.address)).statusCode, 200);
    // Refreshing a session opened with MFA needs no second factor again.
    assert.equal((await refresh(t.app, pair.refresh_token, u.address)).statusCode, 200);
  });

  it("also says so with ?session=cookie, and remembers the cookie session through the second step", async () => {
    const u = await totpUser("cookie");
    const first = await t.app.inject({ method: "POST", url: "/auth/login?session=cookie", remoteAddress: u.address, payload: { email: u.mail, password: PASSWORD } });
    assert.equal(first.statusCode, 200);
    assert.equal(first.json().mfa_required, true);
    assert.equal(first.headers["set-cookie"], undefined);
    const done = await verify(t.app, { mfa_token: first.json().mfa_token, code: codeAt(u.secret) }, u.address);
    assert.equal(done.statusCode, 200, done.body);
    assert.equal(done.json().token_type, "Cookie");
    assert.ok(done.headers["set-cookie"], "session cookies set after the second factor");
  });

  it("refuses the same code twice and a code from two steps ago", async () => {
    const u = await totpUser("replay");
    const code = codeAt(u.secret);
    const firstToken = await passwordStep(t.app, u.mail, u.address);
    assert.equal((await verify(t.app, { mfa_token: firstToken, code }, u.address)).statusCode, 200);
    const secondToken = await passwordStep(t.app, u.mail, u.address);
    assertProblem(await verify(t.app, { mfa_token: secondToken, code }, u.address), 401, "replayed code");
    assertProblem(await verify(t.app, { mfa_token: secondToken, code: codeAt(u.secret, -2) }, u.address), 401, "two steps old");
    // The wrong codes did not spend the mfa_token: the next step's code still finishes the login.
    assert.equal((await verify(t.app, { mfa_token: secondToken, code: codeAt(u.secret, 1) }, u.address)).statusCode, 200);
  });

  it("throttles wrong codes like passwords: 429 with Retry-After, even for the right code", async () => {
    const u = await totpUser("throttle");
    const mfaToken = await passwordStep(t.app, u.mail, u.address);
    const right = codeAt(u.secret);
    const wrong = right === "000000" ? "111111" : "000000";
    for (let i = 0; i < t.config.loginThrottle.freeFailures; i++) {
      assertProblem(await verify(t.app, { mfa_token: mfaToken, code: wrong }, u.address), 401);
    }
    const locked = await verify(t.app, { mfa_token: mfaToken, code: right }, u.address);
    assertProblem(locked, 429);
    assert.ok(Number(locked.headers["retry-after"]) >= 1);
    // The password route shares the back-off.
    assertProblem(await login(t.app, u.mail, PASSWORD, u.address), 429);
    const { repos, close } = await openStore(t.dataDir);
    const events = (await repos.audit.query({ type: "mfa.failure", limit: 500 })).filter((e) => e.subject === u.id);
    await close();
    assert.equal(events.length, t.config.loginThrottle.freeFailures);
    assert.ok(!JSON.stringify(events).includes(wrong));
  });

  it("accepts a recovery code once, not twice", async () => {
    const u = await totpUser("recovery");
    const [recoveryCode = ""] = u.recoveryCodes;
    const first = await verify(t.app, { mfa_token: await passwordStep(t.app, u.mail, u.address), recovery_code: recoveryCode.toUpperCase() }, u.address);
    assert.equal(first.statusCode, 200, first.body);
    const second = await verify(t.app, { mfa_token: await passwordStep(t.app, u.mail, u.address), recovery_code: recoveryCode }, u.address);
    assertProblem(second, 401);
    assert.deepEqual((await me(t.app, first.json().access_token, u.address)).json().mfa, { totp: true, recovery_codes_remaining: 9 });
  });

  it("regenerates recovery codes with a code, killing the old ones", async () => {
    const u = await totpUser("regen");
    const regen = await t.app.inject({
      method: "POST",
      url: "/auth/mfa/recovery-codes",
      remoteAddress: u.address,
      headers: bearer(u.tokens.access_token),
      payload: { password: PASSWORD },
    });
    assert.equal(regen.statusCode, 200, regen.body);
    const fresh = regen.json().recovery_codes as string[];
    assert.equal(fresh.length, 10);
    assertProblem(await verify(t.app, { mfa_token: await passwordStep(t.app, u.mail, u.address), recovery_code: u.recoveryCodes[0] }, u.address), 401);
    assert.equal((await verify(t.app, { mfa_token: await passwordStep(t.app, u.mail, u.address), recovery_code: fresh[0] }, u.address)).statusCode, 200);
  });
});

describe("the mfa_token", () => {
  it("is single-use", async () => {
    const u = await totpUser("single");
    const mfaToken = await passwordStep(t.app, u.mail, u.address);
    assert.equal((await verify(t.app, { mfa_token: mfaToken, code: codeAt(u.secret) }, u.address)).statusCode, 200);
    assertProblem(await verify(t.app, { mfa_token: mfaToken, code: codeAt(u.secret, 1) }, u.address), 401);
  });

  it("expires", async () => {
    const u = await totpUser("expiry");
    const mfaToken = await passwordStep(t.app, u.mail, u.address);
    const { database, close } = await openStore(t.dataDir);
    // Five minutes later, without waiting them.
    await database.db.updateTable("mfa_challenges").set({ expires_at: new Date(Date.now() - 1000).toISOString() }).where("user_id", "=", u.id).execute();
    await close();
    assertProblem(await verify(t.app, { mfa_token: mfaToken, code: codeAt(u.secret) }, u.address), 401);
  });

  it("is refused from another client address, and stays usable from its own", async () => {
    const u = await totpUser("ip");
    const mfaToken = await passwordStep(t.app, u.mail, u.address);
    assertProblem(await verify(t.app, { mfa_token: mfaToken, code: codeAt(u.secret) }, "10.99.99.99"), 401);
    assert.equal((await verify(t.app, { mfa_token: mfaToken, code: codeAt(u.secret) }, u.address)).statusCode, 200);
  });

  it("dies with a password change", async () => {
    const u = await totpUser("pwchange");
    const mfaToken = await passwordStep(t.app, u.mail, u.address);
    const changed = await t.app.inject({
      method: "POST",
      url: "/auth/password",
      remoteAddress: u.address,
      headers: bearer(u.tokens.access_token),
      payload: { current_password: PASSWORD, new_password: "an entirely different passphrase" },
    });
    assert.equal(changed.statusCode, 204, changed.body);
    assertProblem(await verify(t.app, { mfa_token: mfaToken, code: codeAt(u.secret) }, u.address), 401);
  });

  it("is refused when unknown or garbage", async () => {
    assertProblem(await verify(t.app, { mfa_token: "x".repeat(43), code: "123456" }, ip()), 401);
  });
});

describe("removing TOTP", () => {
  it("refuses a wrong code, accepts the right one (204), and then the password alone logs in", async () => {
    const u = await totpUser("remove");
    const del = (payload: Record<string, unknown>) =>
      t.app.inject({ method: "DELETE", url: "/auth/mfa/totp", remoteAddress: u.address, headers: bearer(u.tokens.access_token), payload });
    assertProblem(await del({ code: codeAt(u.secret, -2) }), 401);
    assertProblem(await del({ password: "not the password at all, no" }), 401);
    const removed = await del({ code: codeAt(u.secret) });
    assert.equal(removed.statusCode, 204, removed.body);
    const plain = await login(t.app, u.mail, PASSWORD, u.address);
    assert.equal(plain.statusCode, 200);
    assert.equal(typeof plain.json().access_token, "string");
    assertProblem(await del({ password: PASSWORD }), 404);
  });

  it("accepts the current password instead of a code", async () => {
    const u = await totpUser("removepw");
    const removed = await t.app.inject({
      method: "DELETE",
      url: "/auth/mfa/totp",
      remoteAddress: u.address,
      headers: bearer(u.tokens.access_token),
      payload: { password: PASSWORD },
    });
    assert.equal(removed.statusCode, 204, removed.body);
  });
});
