/**
 * A user's own sessions (`GET /auth/sessions`, `DELETE /auth/sessions/{id}`), as the console's "My
 * sessions" page uses them: each login is listed once, the calling one marked current; ending one kills
 * its access and refresh tokens at once and leaves the others working; another user's session is 404
 * and untouched; API tokens may not list or end sessions; a cookie session ending itself loses its cookies.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { LightMyRequestResponse } from "fastify";
import { assertInvalidToken, assertProblem, bearer, type IdentityApp, loginOk, PASSWORD, refresh, signUp, startIdentityApp, type TokenPair } from "../../support/identity.ts";

const IP = "10.16.0.1";
const HOST = "api.test";

interface SessionOut {
  id: string;
  created_at: string;
  last_active_at: string;
  expires_at: string;
  current: boolean;
}

let t: IdentityApp;
before(async () => {
  t = await startIdentityApp();
});
after(async () => {
  await t.close();
});

const call = (token: string, method: "GET" | "DELETE", url: string) => t.app.inject({ method, url, remoteAddress: IP, headers: bearer(token) });

async function sessions(token: string): Promise<SessionOut[]> {
  const response = await call(token, "GET", "/auth/sessions");
  assert.equal(response.statusCode, 200, response.body);
  return response.json() as SessionOut[];
}

describe("GET /auth/sessions and DELETE /auth/sessions/{id}", () => {
  let laptop: TokenPair;
  let phone: TokenPair;
  let eve: TokenPair;

  before(async () => {
    laptop = (await signUp(t.app, "sessions@example.com", IP)).tokens;
    phone = await loginOk(t.app, "sessions@example.com", IP);
    eve = (await signUp(t.app, "eve-sessions@example.com", IP)).tokens;
  });

  it("lists each login once, the caller's marked current, and never a token", async () => {
    const listed = await sessions(laptop.access_token);
    assert.equal(listed.length, 2, JSON.stringify(listed));
    assert.equal(listed.filter((s) => s.current).length, 1);
    const text = JSON.stringify(listed);
    for (const secret of [laptop.access_token, laptop.refresh_token, phone.refresh_token]) assert.ok(!text.includes(secret));
    for (const s of listed) assert.ok(Date.parse(s.expires_at) > Date.now() && Date.parse(s.created_at) <= Date.parse(s.last_active_at));
  });

  it("a refresh keeps the session (same id, later activity) instead of adding one", async () => {
    const before = await sessions(phone.access_token);
    const rotated = await refresh(t.app, phone.refresh_token, IP);
    assert.equal(rotated.statusCode, 200, rotated.body);
    phone = rotated.json() as TokenPair;
    const after = await sessions(phone.access_token);
    assert.deepEqual(after.map((s) => s.id).sort(), before.map((s) => s.id).sort());
    const current = after.find((s) => s.current);
    assert.ok(current && current.last_active_at >= (before.find((s) => s.id === current.id)?.last_active_at ?? ""));
  });

  it("another user's session id is 404, and that session keeps working", async () => {
    const evesSession = (await sessions(eve.access_token))[0]!;
    assertProblem(await call(laptop.access_token, "DELETE", `/auth/sessions/${evesSession.id}`), 404);
    assert.equal((await call(eve.access_token, "GET", "/auth/me")).statusCode, 200);
    assertProblem(await call(laptop.access_token, "DELETE", "/auth/sessions/not-a-session"), 404);
  });

  it("an API token can neither list nor end sessions", async () => {
    const minted = await t.app.inject({
      method: "POST",
      url: "/auth/tokens",
      remoteAddress: IP,
      headers: bearer(laptop.access_token),
      payload: { name: "ci", scopes: ["*"] },
    });
    assert.equal(minted.statusCode, 201, minted.body);
    const apiToken = (minted.json() as { token: string }).token;
    const target = (await sessions(laptop.access_token)).find((s) => !s.current)!;
    for (const response of [await call(apiToken, "GET", "/auth/sessions"), await call(apiToken, "DELETE", `/auth/sessions/${target.id}`)]) {
      assert.ok([401, 403].includes(response.statusCode), `${response.statusCode} ${response.body}`);
    }
    assert.equal((await sessions(laptop.access_token)).length, 2, "nothing ended");
  });

  it("ending the phone's session from the laptop kills the phone's access and refresh tokens at once; the laptop's stays", async () => {
    const phoneSession = (await sessions(phone.access_token)).find((s) => s.current)!;
    const ended = await call(laptop.access_token, "DELETE", `/auth/sessions/${phoneSession.id}`);
    assert.equal(ended.statusCode, 204, ended.body);
    assertInvalidToken(await call(phone.access_token, "GET", "/auth/me"));
    const spent = await refresh(t.app, phone.refresh_token, IP);
    assert.equal(spent.statusCode, 401, spent.body);
    assert.equal((await call(laptop.access_token, "GET", "/auth/me")).statusCode, 200);
    assert.deepEqual(
      (await sessions(laptop.access_token)).map((s) => s.current),
      [true],
    );
  });
});

describe("a cookie session ending itself", () => {
  const setCookies = (response: LightMyRequestResponse) => [response.headers["set-cookie"] ?? []].flat().map(String);

  it("is refused without the CSRF token, and with it answers 204, clears its cookies and is dead", async () => {
    await signUp(t.app, "cookie-sessions@example.com", IP);
    const signedIn = await t.app.inject({
      method: "POST",
      url: "/auth/login?session=cookie",
      remoteAddress: IP,
      headers: { host: HOST },
      payload: { email: "cookie-sessions@example.com", password: PASSWORD },
    });
    assert.equal(signedIn.statusCode, 200, signedIn.body);
    const cookie = setCookies(signedIn)
      .map((c) => c.split(";")[0]!)
      .join("; ");
    const csrf = (signedIn.json() as { csrf_token: string }).csrf_token;
    const asBrowser = (method: "GET" | "DELETE", url: string, extra: Record<string, string> = {}) =>
      t.app.inject({ method, url, remoteAddress: IP, headers: { host: HOST, cookie, ...extra } });
    const listed = await asBrowser("GET", "/auth/sessions");
    assert.equal(listed.statusCode, 200, listed.body);
    const mine = (listed.json() as SessionOut[]).find((s) => s.current)!;

    const forged = await asBrowser("DELETE", `/auth/sessions/${mine.id}`, { origin: `http://${HOST}` });
    assertProblem(forged, 403, "no X-CSRF-Token");
    assert.equal((await asBrowser("GET", "/auth/me")).statusCode, 200, "still signed in");

    const ended = await asBrowser("DELETE", `/auth/sessions/${mine.id}`, { origin: `http://${HOST}`, "x-csrf-token": csrf });
    assert.equal(ended.statusCode, 204, ended.body);
    const cleared = setCookies(ended);
    for (const name of ["rampart_session", "rampart_refresh", "rampart_csrf"]) {
      assert.ok(cleared.some((c) => c.startsWith(`${name}=;`)), `${name} cleared: ${cleared.join(" | ")}`);
    }
    assertInvalidToken(await asBrowser("GET", "/auth/me"));
  });
});
