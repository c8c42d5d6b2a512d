/**
 * Secrets never leak: a full tour of the identity routes through the real logger (redaction and all)
 * writing to a captured stream, then no password, access token, refresh token, API token, CSRF token,
 * private key or argon2 hash may appear in any log line, and no response body anywhere may carry a
 * password hash.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { InjectOptions, LightMyRequestResponse } from "fastify";
import { bearer, type IdentityApp, openStore, PASSWORD, startIdentityApp } from "../../support/identity.ts";

const IP = "10.17.0.1";
const EMAIL = "logged@example.com";
const NEW_PASSWORD = "a brand new passphrase for logs";
const WRONG_PASSWORD = "a wrong passphrase for the logs";

async function tour(t: IdentityApp) {
  const responses: LightMyRequestResponse[] = [];
  const secrets = new Map<string, string>([
    ["password", PASSWORD],
    ["new password", NEW_PASSWORD],
    ["wrong password", WRONG_PASSWORD],
  ]);
  const send = async (options: InjectOptions) => {
    const response = await t.app.inject({ remoteAddress: IP, ...options });
    responses.push(response);
    return response;
  };

  assert.equal((await send({ method: "POST", url: "/auth/register", payload: { email: EMAIL, password: PASSWORD } })).statusCode, 201);
  // A failed registration echoes nothing either (weak password equal to a guessable phrase).
  await send({ method: "POST", url: "/auth/register", payload: { email: "weak@example.com", password: "1qaz2wsx3edc4rfv" } });
  secrets.set("weak password", "1qaz2wsx3edc4rfv");
  await send({ method: "POST", url: "/auth/login", payload: { email: EMAIL, password: WRONG_PASSWORD } });

  const login = await send({ method: "POST", url: "/auth/login", payload: { email: EMAIL, password: PASSWORD } });
  assert.equal(login.statusCode, 200, login.body);
  const first = login.json();
  secrets.set("access token 1", first.access_token).set("refresh token 1", first.refresh_token);

  assert.equal((await send({ method: "GET", url: "/auth/me", headers: bearer(first.access_token) })).statusCode, 200);
  // A client that puts its token in the query string: still not logged.
  await send({ method: "GET", url: `/auth/me?access_token=${first.access_token}` });

  const refreshed = await send({ method: "POST", url: "/auth/refresh", payload: { refresh_token: first.refresh_token } });
  assert.equal(refreshed.statusCode, 200, refreshed.body);
  const second = refreshed.json();
  secrets.set("access token 2", second.access_token).set("refresh token 2", second.refresh_token);

  const created = await send({
    method: "POST",
    url: "/auth/tokens",
    headers: bearer(second.access_token),
    payload: { name: "logged", scopes: ["notes:read"] },
  });
  assert.equal(created.statusCode, 201, created.body);
  const apiToken = created.json().token as string;
  secrets.set("API token", apiToken);
  assert.equal((await send({ method: "GET", url: "/auth/me", headers: { authorization: `Token ${apiToken}` } })).statusCode, 200);
  assert.equal((await send({ method: "GET", url: "/auth/tokens", headers: bearer(second.access_token) })).statusCode, 200);
  // A mistyped API token (bad checksum) and a forged JWT are refused without being echoed to the log.
  const typo = `${apiToken.slice(0, -1)}${apiToken.at(-1) === "a" ? "b" : "a"}`;
  secrets.set("mistyped API token", typo);
  await send({ method: "GET", url: "/auth/me", headers: bearer(typo) });

  const cookieLogin = await send({
    method: "POST",
    url: "/auth/login?session=cookie",
    headers: { host: "api.test" },
    payload: { email: EMAIL, password: PASSWORD },
  });
  assert.equal(cookieLogin.statusCode, 200, cookieLogin.body);
  const sessionCookie = cookieLogin.cookies.find((c) => c.name === "rampart_session")?.value;
  assert.ok(sessionCookie);
  const csrf = cookieLogin.json().csrf_token as string;
  const refreshCookie = cookieLogin.cookies.find((c) => c.name === "rampart_refresh")?.value;
  assert.ok(refreshCookie);
  secrets.set("session cookie", sessionCookie).set("csrf token", csrf).set("refresh token 3", refreshCookie);
  await send({
    method: "POST",
    url: "/auth/tokens",
    headers: { host: "api.test", origin: "http://api.test", cookie: `rampart_session=${sessionCookie}`, "x-csrf-token": csrf },
    payload: { name: "from-cookie", scopes: ["notes:read"] },
  });

  assert.equal(
    (
      await send({
        method: "POST",
        url: "/auth/password",
        headers: bearer(second.access_token),
        payload: { current_password: PASSWORD, new_password: NEW_PASSWORD },
      })
    ).statusCode,
    204,
  );
  const logout = await send({ method: "POST", url: "/auth/logout", headers: bearer(second.access_token), payload: { refresh_token: second.refresh_token } });
  assert.equal(logout.statusCode, 204, logout.body);
  // Replays after logout: refused, and still not logged.
  await send({ method: "GET", url: "/auth/me", headers: bearer(second.access_token) });
  await send({ method: "POST", url: "/auth/refresh", payload: { refresh_token: second.refresh_token } });
  await send({ method: "POST", url: "/auth/refresh", payload: { refresh_token: first.refresh_token } });

  // The server's own secrets: every password hash and every private signing key.
  const store = await openStore(t.dataDir);
  try {
    for (const user of await store.repos.users.list({ limit: 500 })) secrets.set(`hash of ${user.email}`, user.passwordHash);
    for (const key of await store.repos.signingKeys.list()) secrets.set(`private key ${key.kid}`, String(key.privateJwk.d));
  } finally {
    await store.close();
  }
  return { responses, secrets };
}

function assertNoSecrets(logs: string[], secrets: Map<string, string>) {
  assert.ok(logs.length > 10, `the tour was logged (${logs.length} lines)`);
  const text = logs.join("");
  for (const [name, secret] of secrets) {
    assert.ok(secret.length >= 15, `${name} is a real secret`);
    const line = logs.find((l) => l.includes(secret));
    assert.equal(line, undefined, `${name} appears in a log line: ${line?.slice(0, 300)}`);
  }
  assert.doesNotMatch(text, /\$argon2/, "an argon2 hash in the logs");
  // The JWT and API-token shapes in general, whoever they belong to.
  assert.doesNotMatch(text, /eyJ[\w-]{10,}\.eyJ[\w-]{10,}\./, "a JWT in the logs");
  assert.doesNotMatch(text, /rmp_[0-9A-Za-z]{20,}/, "an API token in the logs");
}

function assertNoHashInBodies(responses: LightMyRequestResponse[]) {
  for (const response of responses) {
    assert.doesNotMatch(response.body, /\$argon2/, `argon2 hash in a response body: ${response.body.slice(0, 200)}`);
    assert.doesNotMatch(response.body, /password_?hash/i, `passwordHash in a response body: ${response.body.slice(0, 200)}`);
  }
}

describe("no secret in logs or response bodies", () => {
  for (const level of ["info", "trace"] as const) {
    it(`after register, login, refresh, token create and use, cookie session, password change and logout (log level ${level})`, async () => {
      const t = await startIdentityApp({ captureLogs: level });
      try {
        const { responses, secrets } = await tour(t);
        assertNoSecrets(t.logs, secrets);
        assertNoHashInBodies(responses);
        // Security events were logged (the point of logging), just without secrets.
        assert.ok(t.logs.some((l) => l.includes("login.success")));
        assert.ok(t.logs.some((l) => l.includes("login.failure")));
      } finally {
        await t.close();
      }
    });
  }
});
