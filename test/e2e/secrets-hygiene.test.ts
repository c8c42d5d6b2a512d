/**
 * Secrets hygiene across the whole reference server: one tour of every credential-bearing flow
 * (register, login, refresh, API token create and use, cookie session with CSRF, TOTP enrolment and
 * MFA login with a code and with a recovery code, recovery-code regeneration, OAuth client
 * credentials with token, introspection and revocation, password change, logout), through the real
 * logger at trace level into a captured stream, recording every response's headers and body.
 *
 * Then, for every secret the tour used or the server derived (passwords, access and refresh tokens,
 * API tokens, cookie values, the CSRF token, the TOTP secret, recovery codes, the mfa_token, the client
 * secret and its Basic credentials, argon2 hashes, SHA-256 hashes of tokens, secrets and codes):
 * - no log line contains it;
 * - no response contains it except the one response that legitimately hands it out, once.
 *
 * Extends test/http/identity/secrets-in-logs.test.ts (identity only, logs only) and
 * test/http/mfa/secrets-and-instances.test.ts (MFA only) to one tour that also checks responses.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { InjectOptions, LightMyRequestResponse } from "fastify";
import { hashRecoveryCode } from "../../src/core/mfa/recovery-codes.ts";
import { hashApiToken, hashClientSecret, hashRefreshToken } from "../../src/core/tokens/index.ts";
import { codeAt } from "../http/mfa/support.ts";
import { setRolesInStore } from "../support/authz.ts";
import { bearer, type IdentityApp, openStore, PASSWORD, startIdentityApp } from "../support/identity.ts";

const IP = "10.91.0.1";
const EMAIL = "tourist@example.com";
const ADMIN_EMAIL = "operator@example.com";
const ADMIN_PASSWORD = "the admin's own long passphrase";
const NEW_PASSWORD = "a brand new passphrase for hygiene";
const WRONG_PASSWORD = "a wrong passphrase for hygiene";

interface Exchange {
  label: string;
  response: LightMyRequestResponse;
}

interface Secret {
  name: string;
  value: string;
  /** Labels of the responses allowed to carry it (the one that hands it out); none for most. */
  issuedBy: string[];
}

class Tour {
  readonly exchanges: Exchange[] = [];
  readonly secrets: Secret[] = [];
  constructor(private readonly t: IdentityApp) {}

  async send(label: string, options: InjectOptions, expected?: number): Promise<LightMyRequestResponse> {
    assert.ok(!this.exchanges.some((e) => e.label === label), `label ${label} used twice`);
    const response = await this.t.app.inject({ remoteAddress: IP, ...options });
    this.exchanges.push({ label, response });
    if (expected !== undefined) assert.equal(response.statusCode, expected, `${label}: ${response.body}`);
    return response;
  }

  secret(name: string, value: unknown, ...issuedBy: string[]): string {
    assert.equal(typeof value, "string", `${name} is a string`);
    assert.ok((value as string).length >= 8, `${name} is long enough to search for: ${value}`);
    this.secrets.push({ name, value: value as string, issuedBy });
    return value as string;
  }
}

/** What a response shows the world: status line aside, every header and the body. */
function exposed(response: LightMyRequestResponse): string {
  return `${JSON.stringify(response.headers)}\n${response.body}`;
}

async function runTour(t: IdentityApp): Promise<Tour> {
  const tour = new Tour(t);
  const json = (payload: unknown) => ({ payload: payload as InjectOptions["payload"] });
  tour.secret("password", PASSWORD);
  tour.secret("new password", NEW_PASSWORD);
  tour.secret("wrong password", WRONG_PASSWORD);
  tour.secret("admin password", ADMIN_PASSWORD);

  // --- register, failed and successful logins -----------------------------------------------------
  await tour.send("register", { method: "POST", url: "/auth/register", ...json({ email: EMAIL, password: PASSWORD }) }, 201);
  const admin = await tour.send("register admin", { method: "POST", url: "/auth/register", ...json({ email: ADMIN_EMAIL, password: ADMIN_PASSWORD }) }, 201);
  await setRolesInStore(t.dataDir, admin.json().id, ["admin"]);
  await tour.send("login wrong", { method: "POST", url: "/auth/login", ...json({ email: EMAIL, password: WRONG_PASSWORD }) }, 401);

  const login = (await tour.send("login", { method: "POST", url: "/auth/login", ...json({ email: EMAIL, password: PASSWORD }) }, 200)).json();
  const access1 = tour.secret("access token 1", login.access_token, "login");
  const refresh1 = tour.secret("refresh token 1", login.refresh_token, "login");
  await tour.send("me", { method: "GET", url: "/auth/me", headers: bearer(access1) }, 200);
  await tour.send("me via query", { method: "GET", url: `/auth/me?access_token=${access1}` }, 401);

  // --- refresh (rotation), then reuse of the spent token -------------------------------------------
  const rotated = (await tour.send("refresh", { method: "POST", url: "/auth/refresh", ...json({ refresh_token: refresh1 }) }, 200)).json();
  const access2 = tour.secret("access token 2", rotated.access_token, "refresh");
  const refresh2 = tour.secret("refresh token 2", rotated.refresh_token, "refresh");

  // --- API tokens ------------------------------------------------------------------------------------
  const created = (
    await tour.send("token create", { method: "POST", url: "/auth/tokens", headers: bearer(access2), ...json({ name: "ci", scopes: ["notes:read", "notes:write"] }) }, 201)
  ).json();
  const apiToken = tour.secret("API token", created.token, "token create");
  await tour.send("token use (Bearer)", { method: "GET", url: "/api/notes", headers: bearer(apiToken) }, 200);
  await tour.send("token use (Token)", { method: "POST", url: "/api/notes", headers: { authorization: `Token ${apiToken}` }, ...json({ title: "t", body: "b" }) }, 201);
  await tour.send("token list", { method: "GET", url: "/auth/tokens", headers: bearer(access2) }, 200);
  const typo = tour.secret("mistyped API token", `${apiToken.slice(0, -1)}${apiToken.endsWith("a") ? "b" : "a"}`);
  await tour.send("token typo", { method: "GET", url: "/auth/me", headers: bearer(typo) }, 401);

  // --- cookie session with CSRF --------------------------------------------------------------------
  const host = { host: "api.test" };
  const cookieLogin = await tour.send("cookie login", { method: "POST", url: "/auth/login?session=cookie", headers: host, ...json({ email: EMAIL, password: PASSWORD }) }, 200);
  const cookie = (name: string) => cookieLogin.cookies.find((c) => c.name === name)?.value;
  const session = tour.secret("session cookie", cookie("rampart_session"), "cookie login");
  const refreshCookie = tour.secret("refresh cookie", cookie("rampart_refresh"), "cookie login");
  const csrf = tour.secret("csrf token", cookieLogin.json().csrf_token, "cookie login");
  const csrfCookie = cookie("rampart_csrf");
  const cookies = `rampart_session=${session}; rampart_refresh=${refreshCookie}${csrfCookie ? `; rampart_csrf=${csrfCookie}` : ""}`;
  const browser = { ...host, origin: "http://api.test", cookie: cookies };
  await tour.send("cookie write without csrf", { method: "POST", url: "/api/notes", headers: browser, ...json({ title: "x", body: "" }) }, 403);
  await tour.send("cookie write with csrf", { method: "POST", url: "/api/notes", headers: { ...browser, "x-csrf-token": csrf }, ...json({ title: "x", body: "" }) }, 201);
  const renewed = await tour.send("cookie refresh", { method: "POST", url: "/auth/refresh", headers: { ...browser, "x-csrf-token": csrf } }, 200);
  const renewedSession = renewed.cookies.find((c) => c.name === "rampart_session")?.value;
  if (renewedSession) tour.secret("renewed session cookie", renewedSession, "cookie refresh");
  const renewedRefresh = renewed.cookies.find((c) => c.name === "rampart_refresh")?.value;
  if (renewedRefresh) tour.secret("renewed refresh cookie", renewedRefresh, "cookie refresh");

  // --- TOTP enrolment, MFA login with a code and with a recovery code, regeneration ---------------
  const enrol = (await tour.send("totp enrol", { method: "POST", url: "/auth/mfa/totp", headers: bearer(access2) }, 201)).json();
  const totpSecret = tour.secret("TOTP secret", enrol.secret, "totp enrol");
  tour.secret("otpauth URI", enrol.otpauth_uri, "totp enrol");
  const confirm = (await tour.send("totp confirm", { method: "POST", url: "/auth/mfa/totp/confirm", headers: bearer(access2), ...json({ code: codeAt(totpSecret, -1) }) }, 200)).json();
  const recovery = (confirm.recovery_codes as string[]).map((code, i) => tour.secret(`recovery code ${i}`, code, "totp confirm"));

  const step1 = (await tour.send("mfa login", { method: "POST", url: "/auth/login", ...json({ email: EMAIL, password: PASSWORD }) }, 200)).json();
  assert.equal(step1.mfa_required, true);
  const mfaToken = tour.secret("mfa_token 1", step1.mfa_token, "mfa login");
  await tour.send("mfa wrong code", { method: "POST", url: "/auth/mfa/verify", ...json({ mfa_token: mfaToken, code: "000000" }) });
  const mfaDone = (await tour.send("mfa verify", { method: "POST", url: "/auth/mfa/verify", ...json({ mfa_token: mfaToken, code: codeAt(totpSecret) }) }, 200)).json();
  const access3 = tour.secret("access token 3", mfaDone.access_token, "mfa verify");
  tour.secret("refresh token 3", mfaDone.refresh_token, "mfa verify");

  const step1b = (await tour.send("mfa login 2", { method: "POST", url: "/auth/login", ...json({ email: EMAIL, password: PASSWORD }) }, 200)).json();
  const mfaToken2 = tour.secret("mfa_token 2", step1b.mfa_token, "mfa login 2");
  const viaRecovery = (
    await tour.send("mfa recovery", { method: "POST", url: "/auth/mfa/verify", ...json({ mfa_token: mfaToken2, recovery_code: recovery[0] }) }, 200)
  ).json();
  tour.secret("access token 4", viaRecovery.access_token, "mfa recovery");
  tour.secret("refresh token 4", viaRecovery.refresh_token, "mfa recovery");
  const regenerated = (
    await tour.send("recovery regenerate", { method: "POST", url: "/auth/mfa/recovery-codes", headers: bearer(access3), ...json({ code: codeAt(totpSecret, 1) }) }, 200)
  ).json();
  for (const [i, code] of (regenerated.recovery_codes as string[]).entries()) tour.secret(`new recovery code ${i}`, code, "recovery regenerate");
  await tour.send("me with mfa", { method: "GET", url: "/auth/me", headers: bearer(access3) }, 200);

  // --- OAuth client credentials --------------------------------------------------------------------
  const adminLogin = (await tour.send("admin login", { method: "POST", url: "/auth/login", ...json({ email: ADMIN_EMAIL, password: ADMIN_PASSWORD }) }, 200)).json();
  const adminToken = tour.secret("admin access token", adminLogin.access_token, "admin login");
  tour.secret("admin refresh token", adminLogin.refresh_token, "admin login");
  const client = (
    await tour.send("client create", { method: "POST", url: "/admin/clients", headers: bearer(adminToken), ...json({ name: "billing", scopes: ["notes:read"] }) }, 201)
  ).json();
  const clientSecret = tour.secret("client secret", client.client_secret, "client create");
  const basic = tour.secret("Basic credentials", Buffer.from(`${encodeURIComponent(client.client_id)}:${encodeURIComponent(clientSecret)}`).toString("base64"));
  const form = { "content-type": "application/x-www-form-urlencoded" };
  await tour.send("client list", { method: "GET", url: "/admin/clients", headers: bearer(adminToken) }, 200);
  await tour.send("oauth wrong secret", {
    method: "POST",
    url: "/oauth/token",
    headers: { ...form, authorization: `Basic ${Buffer.from(`${client.client_id}:rmps_wrong`).toString("base64")}` },
    payload: "grant_type=client_credentials",
  }, 401);
  const issued = (await tour.send("oauth token", { method: "POST", url: "/oauth/token", headers: { ...form, authorization: `Basic ${basic}` }, payload: "grant_type=client_credentials&scope=notes:read" }, 200)).json();
  const clientAccess = tour.secret("client access token", issued.access_token, "oauth token");
  await tour.send("client token use", { method: "GET", url: "/api/notes", headers: bearer(clientAccess) }, 200);
  const post = `client_id=${encodeURIComponent(client.client_id)}&client_secret=${encodeURIComponent(clientSecret)}`;
  await tour.send("oauth introspect", { method: "POST", url: "/oauth/introspect", headers: form, payload: `${post}&token=${clientAccess}` }, 200);
  await tour.send("oauth revoke", { method: "POST", url: "/oauth/revoke", headers: form, payload: `${post}&token=${clientAccess}` }, 200);

  // --- password change and logout, then replays ----------------------------------------------------
  await tour.send("password change", { method: "POST", url: "/auth/password", headers: bearer(access3), ...json({ current_password: PASSWORD, new_password: NEW_PASSWORD }) }, 204);
  await tour.send("logout", { method: "POST", url: "/auth/logout", headers: bearer(access3), ...json({}) }, 204);
  await tour.send("replay access", { method: "GET", url: "/auth/me", headers: bearer(access3) }, 401);
  await tour.send("replay refresh", { method: "POST", url: "/auth/refresh", ...json({ refresh_token: refresh1 }) }, 401);
  await tour.send("replay refresh 2", { method: "POST", url: "/auth/refresh", ...json({ refresh_token: refresh2 }) }, 401);
  await tour.send("token delete", { method: "DELETE", url: `/auth/tokens/${created.id}`, headers: bearer(adminToken) });

  // --- what the server derived and stored: hashes ---------------------------------------------------
  for (const s of [...tour.secrets]) {
    if (/^(API token|mistyped)/.test(s.name)) tour.secret(`SHA-256 of ${s.name}`, hashApiToken(s.value));
    if (/refresh (token|cookie)/.test(s.name)) tour.secret(`SHA-256 of ${s.name}`, hashRefreshToken(s.value));
    if (s.name === "client secret") tour.secret("SHA-256 of the client secret", hashClientSecret(s.value));
    if (/recovery code/.test(s.name)) tour.secret(`SHA-256 of ${s.name}`, hashRecoveryCode(s.value));
  }
  const store = await openStore(t.dataDir);
  try {
    for (const user of await store.repos.users.list({ limit: 100 })) tour.secret(`argon2 hash of ${user.email}`, user.passwordHash);
    for (const key of await store.repos.signingKeys.list()) tour.secret(`private key ${key.kid}`, String(key.privateJwk.d));
    const db = store.database.db;
    for (const row of await db.selectFrom("api_tokens").select("secret_hash").execute()) tour.secret("stored API-token hash", row.secret_hash);
    for (const row of await db.selectFrom("recovery_codes").select("code_hash").execute()) tour.secret("stored recovery-code hash", row.code_hash);
  } finally {
    await store.close();
  }
  return tour;
}

describe("secrets hygiene: a tour of every credential flow", () => {
  let t: IdentityApp;
  let tour: Tour;
  before(async () => {
    t = await startIdentityApp({ captureLogs: "trace" });
    tour = await runTour(t);
  });
  after(() => t?.close());

  it("logged the tour (at trace level), including its security events", () => {
    assert.ok(t.logs.length > 50, `${t.logs.length} log lines`);
    for (const event of ["login.success", "login.failure"]) assert.ok(t.logs.some((l) => l.includes(event)), event);
    assert.ok(tour.secrets.length > 60, `${tour.secrets.length} secrets checked`);
  });

  it("no secret appears in any log line", () => {
    const leaks: string[] = [];
    for (const { name, value } of tour.secrets) {
      const line = t.logs.find((l) => l.includes(value));
      if (line) leaks.push(`${name} in: ${line.slice(0, 240)}`);
    }
    assert.deepEqual(leaks, []);
    const text = t.logs.join("");
    assert.doesNotMatch(text, /\$argon2/, "an argon2 hash");
    assert.doesNotMatch(text, /eyJ[\w-]{10,}\.eyJ[\w-]{10,}\./, "a JWT");
    assert.doesNotMatch(text, /rmps?_[0-9A-Za-z]{20,}/, "an API token or client secret");
  });

  it("each secret appears only in the response that hands it out, and there once", () => {
    const leaks: string[] = [];
    for (const { name, value, issuedBy } of tour.secrets) {
      const carriers = tour.exchanges.filter((e) => exposed(e.response).includes(value)).map((e) => e.label);
      const unexpected = carriers.filter((label) => !issuedBy.includes(label));
      if (unexpected.length > 0) leaks.push(`${name} in ${unexpected.join(", ")}`);
      for (const label of issuedBy) if (!carriers.includes(label)) leaks.push(`${name} was not in ${label} (test out of date?)`);
    }
    assert.deepEqual(leaks, []);
    for (const { label, response } of tour.exchanges) {
      assert.doesNotMatch(response.body, /\$argon2|password_?hash|secret_hash|code_hash/i, `${label}: ${response.body.slice(0, 200)}`);
    }
  });

  it("responses carrying a secret are not cacheable", () => {
    for (const { label, response } of tour.exchanges) {
      if (!tour.secrets.some((s) => s.issuedBy.includes(label))) continue;
      assert.match(String(response.headers["cache-control"]), /no-store/, `${label} without Cache-Control: no-store`);
    }
  });
});
