/**
 * Browser sessions: `POST /auth/login?session=cookie` puts the access token in an HttpOnly cookie
 * (`__Host-` and Secure over HTTPS), and every state-changing request authenticated by that cookie must
 * pass the origin check and echo the session's CSRF token, or get 403 with nothing done.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { LightMyRequestResponse } from "fastify";
import { assertInvalidToken, assertProblem, type IdentityApp, PASSWORD, signUp, startIdentityApp } from "../../support/identity.ts";

const IP = "10.15.0.1";
const HOST = "api.test";
const EMAIL = "browser@example.com";

function setCookies(response: LightMyRequestResponse): string[] {
  const raw = response.headers["set-cookie"];
  return raw === undefined ? [] : Array.isArray(raw) ? raw : [String(raw)];
}

function cookieNamed(response: LightMyRequestResponse, name: string): { value: string; attributes: string[] } | undefined {
  for (const line of setCookies(response)) {
    const [pair, ...attributes] = line.split(";").map((s) => s.trim());
    const eq = pair!.indexOf("=");
    if (pair!.slice(0, eq) === name) return { value: decodeURIComponent(pair!.slice(eq + 1)), attributes: attributes.map((a) => a.toLowerCase()) };
  }
  return undefined;
}

describe("cookie sessions over plain HTTP (development)", () => {
  let t: IdentityApp;
  let session: string;
  let csrf: string;

  const cookieRequest = (method: "GET" | "POST" | "DELETE", url: string, headers: Record<string, string> = {}, payload?: object) =>
    t.app.inject({
      method,
      url,
      remoteAddress: IP,
      headers: { host: HOST, cookie: `rampart_session=${encodeURIComponent(session)}`, ...headers },
      ...(payload ? { payload } : {}),
    });
  const tokenCount = async () =>
    (await cookieRequest("GET", "/auth/tokens")).json().length as number;

  before(async () => {
    t = await startIdentityApp();
    await signUp(t.app, EMAIL, IP);
    const response = await t.app.inject({
      method: "POST",
      url: "/auth/login?session=cookie",
      remoteAddress: IP,
      headers: { host: HOST },
      payload: { email: EMAIL, password: PASSWORD },
    });
    assert.equal(response.statusCode, 200, response.body);
    const cookie = cookieNamed(response, "rampart_session");
    assert.ok(cookie, `session cookie set: ${setCookies(response).join(" | ")}`);
    session = cookie.value;
    csrf = response.json().csrf_token;
  });
  after(async () => {
    await t.close();
  });

  it("login sets an HttpOnly SameSite=Strict session cookie, and the body has csrf_token but no access token", async () => {
    const response = await t.app.inject({
      method: "POST",
      url: "/auth/login?session=cookie",
      remoteAddress: IP,
      headers: { host: HOST },
      payload: { email: EMAIL, password: PASSWORD },
    });
    assert.equal(response.statusCode, 200, response.body);
    const cookie = cookieNamed(response, "rampart_session");
    assert.ok(cookie);
    assert.ok(cookie.attributes.includes("httponly"), cookie.attributes.join("; "));
    assert.ok(cookie.attributes.includes("samesite=strict"), cookie.attributes.join("; "));
    assert.ok(cookie.attributes.includes("path=/"), cookie.attributes.join("; "));
    assert.ok(!cookie.attributes.some((a) => a.startsWith("domain=")), "host-only");
    const body = response.json();
    assert.equal(typeof body.csrf_token, "string");
    assert.ok(body.csrf_token.length > 20);
    assert.equal(body.access_token, undefined, "the access token travels only in the HttpOnly cookie");
    assert.ok(!response.body.includes(cookie.value), "nor anywhere else in the body");
    const csrfCookie = cookieNamed(response, "rampart_csrf");
    assert.ok(csrfCookie, "the CSRF cookie is set for the page to read");
    assert.ok(!csrfCookie.attributes.includes("httponly"));
  });

  it("with only the cookie, GET /auth/me works", async () => {
    const response = await cookieRequest("GET", "/auth/me");
    assert.equal(response.statusCode, 200, response.body);
    assert.equal(response.json().email, EMAIL);
  });

  it("POST without X-CSRF-Token: 403 and no token created", async () => {
    const before = await tokenCount();
    const response = await cookieRequest("POST", "/auth/tokens", { origin: `http://${HOST}` }, { name: "x", scopes: ["notes:read"] });
    assertProblem(response, 403);
    assert.doesNotMatch(response.body, /rmp_/);
    assert.equal(await tokenCount(), before);
  });

  it("POST from a foreign Origin with a valid CSRF token: 403 and nothing created", async () => {
    const before = await tokenCount();
    for (const origin of ["https://evil.test", "null", `https://${HOST}`, `http://${HOST}.evil.test`]) {
      const response = await cookieRequest("POST", "/auth/tokens", { origin, "x-csrf-token": csrf }, { name: "x", scopes: ["notes:read"] });
      assertProblem(response, 403, origin);
    }
    assert.equal(await tokenCount(), before);
  });

  it("POST with Sec-Fetch-Site: cross-site (or same-site) and no Origin, valid CSRF token: 403", async () => {
    const before = await tokenCount();
    for (const site of ["cross-site", "same-site"]) {
      const response = await cookieRequest("POST", "/auth/tokens", { "sec-fetch-site": site, "x-csrf-token": csrf }, { name: "x", scopes: ["notes:read"] });
      assertProblem(response, 403, site);
    }
    assert.equal(await tokenCount(), before);
  });

  it("POST/DELETE with a valid CSRF token but no Origin, Referer or Sec-Fetch-Site: 403 and nothing done (OWASP)", async () => {
    // A request stripped of every provenance header (an old plugin, a proxy that drops them, a
    // `Referrer-Policy: no-referrer` page in a browser without Fetch Metadata) cannot be shown to come
    // from us: with the token alone, a leaked token would be enough. Refused, fail closed.
    const before = await tokenCount();
    const response = await cookieRequest("POST", "/auth/tokens", { "x-csrf-token": csrf }, { name: "x", scopes: ["notes:read"] });
    assertProblem(response, 403);
    assert.equal(await tokenCount(), before);
    const created = await cookieRequest("POST", "/auth/tokens", { origin: `http://${HOST}`, "x-csrf-token": csrf }, { name: "to-delete", scopes: ["notes:read"] });
    assert.equal(created.statusCode, 201, created.body);
    assertProblem(await cookieRequest("DELETE", `/auth/tokens/${created.json().id}`, { "x-csrf-token": csrf }), 403);
    assert.equal(await tokenCount(), before + 1, "the refused DELETE removed nothing");
  });

  it("only a Referer: its origin is checked like Origin", async () => {
    const before = await tokenCount();
    for (const referer of ["https://evil.test/page", `http://${HOST}.evil.test/`, `https://${HOST}/page`, "not a url", "null"]) {
      const response = await cookieRequest("POST", "/auth/tokens", { referer, "x-csrf-token": csrf }, { name: "x", scopes: ["notes:read"] });
      assertProblem(response, 403, referer);
    }
    assert.equal(await tokenCount(), before);
    const same = await cookieRequest("POST", "/auth/tokens", { referer: `http://${HOST}/app/settings?tab=tokens`, "x-csrf-token": csrf }, { name: "via-referer", scopes: ["notes:read"] });
    assert.equal(same.statusCode, 201, same.body);
  });

  it("POST with a CSRF token that is forged, or issued to another session: 403", async () => {
    const other = await t.app.inject({
      method: "POST",
      url: "/auth/login?session=cookie",
      remoteAddress: IP,
      headers: { host: HOST },
      payload: { email: EMAIL, password: PASSWORD },
    });
    const otherCsrf = other.json().csrf_token as string;
    const [nonce] = csrf.split(".");
    for (const token of [otherCsrf, `${nonce}.AAAA`, `${csrf}x`, "", csrf.split(".").reverse().join(".")]) {
      const response = await cookieRequest("POST", "/auth/tokens", { origin: `http://${HOST}`, "x-csrf-token": token }, { name: "x", scopes: ["notes:read"] });
      assertProblem(response, 403, token);
    }
  });

  it("POST with the right token from the same origin: 201", async () => {
    const response = await cookieRequest("POST", "/auth/tokens", { origin: `http://${HOST}`, "x-csrf-token": csrf }, { name: "from-page", scopes: ["notes:read"] });
    assert.equal(response.statusCode, 201, response.body);
    const noOrigin = await cookieRequest("POST", "/auth/tokens", { "sec-fetch-site": "same-origin", "x-csrf-token": csrf }, { name: "from-page-2", scopes: ["notes:read"] });
    assert.equal(noOrigin.statusCode, 201, noOrigin.body);
  });

  it("a bearer request needs no CSRF token, whatever its Origin", async () => {
    const login = await t.app.inject({ method: "POST", url: "/auth/login", remoteAddress: IP, payload: { email: EMAIL, password: PASSWORD } });
    const response = await t.app.inject({
      method: "POST",
      url: "/auth/tokens",
      remoteAddress: IP,
      headers: { host: HOST, authorization: `Bearer ${login.json().access_token}` },
      payload: { name: "cli", scopes: ["notes:read"] },
    });
    assert.equal(response.statusCode, 201, response.body);
  });

  it("logout by cookie needs CSRF too; then the cookie is refused and cleared", async () => {
    const login = await t.app.inject({
      method: "POST",
      url: "/auth/login?session=cookie",
      remoteAddress: IP,
      headers: { host: HOST },
      payload: { email: EMAIL, password: PASSWORD },
    });
    const mySession = cookieNamed(login, "rampart_session")!.value;
    const myCsrf = login.json().csrf_token as string;
    const headers = { host: HOST, cookie: `rampart_session=${encodeURIComponent(mySession)}`, origin: `http://${HOST}` };
    assertProblem(await t.app.inject({ method: "POST", url: "/auth/logout", remoteAddress: IP, headers, payload: {} }), 403);
    const me = () => t.app.inject({ method: "GET", url: "/auth/me", remoteAddress: IP, headers: { host: HOST, cookie: headers.cookie } });
    assert.equal((await me()).statusCode, 200, "the refused logout did nothing");

    const response = await t.app.inject({
      method: "POST",
      url: "/auth/logout",
      remoteAddress: IP,
      headers: { ...headers, "x-csrf-token": myCsrf },
      payload: {},
    });
    assert.equal(response.statusCode, 204, response.body);
    const cleared = cookieNamed(response, "rampart_session");
    assert.ok(cleared, "the session cookie is cleared");
    assert.ok(cleared.value === "" || cleared.attributes.some((a) => a.startsWith("max-age=0") || a.startsWith("expires=thu, 01 jan 1970")));
    assertInvalidToken(await me());
  });
});

describe("a stale session cookie", () => {
  it(
    "does not stop the browser from logging in again after its session was ended elsewhere",
    async () => {
      const t = await startIdentityApp();
      try {
        await signUp(t.app, "stale@example.com", IP);
        const browser = await t.app.inject({
          method: "POST",
          url: "/auth/login?session=cookie",
          remoteAddress: IP,
          headers: { host: HOST },
          payload: { email: "stale@example.com", password: PASSWORD },
        });
        const cookie = `rampart_session=${encodeURIComponent(cookieNamed(browser, "rampart_session")!.value)}`;
        // The password is changed from another device: every other session, the browser's included, ends.
        const phone = await t.app.inject({ method: "POST", url: "/auth/login", remoteAddress: IP, payload: { email: "stale@example.com", password: PASSWORD } });
        const newPassword = "changed on the phone just now";
        const changed = await t.app.inject({
          method: "POST",
          url: "/auth/password",
          remoteAddress: IP,
          headers: { authorization: `Bearer ${phone.json().access_token}` },
          payload: { current_password: PASSWORD, new_password: newPassword },
        });
        assert.equal(changed.statusCode, 204, changed.body);
        assertInvalidToken(await t.app.inject({ method: "GET", url: "/auth/me", remoteAddress: IP, headers: { host: HOST, cookie } }));

        // The browser still sends its (HttpOnly, so unremovable by the page) cookie when logging in again.
        const again = await t.app.inject({
          method: "POST",
          url: "/auth/login?session=cookie",
          remoteAddress: IP,
          headers: { host: HOST, origin: `http://${HOST}`, cookie },
          payload: { email: "stale@example.com", password: newPassword },
        });
        assert.equal(again.statusCode, 200, again.body);
      } finally {
        await t.close();
      }
    },
  );
});

describe("cookie sessions behind a trusted HTTPS proxy", () => {
  let t: IdentityApp;
  const PROXY = "127.0.0.1";
  before(async () => {
    t = await startIdentityApp({ env: { RAMPART_TRUSTED_PROXIES: PROXY } });
    await signUp(t.app, EMAIL, PROXY);
  });
  after(async () => {
    await t.close();
  });

  it("the session cookie is __Host-rampart_session; Secure; HttpOnly; SameSite=Strict; Path=/ and no Domain", async () => {
    const response = await t.app.inject({
      method: "POST",
      url: "/auth/login?session=cookie",
      remoteAddress: PROXY,
      headers: { host: HOST, "x-forwarded-proto": "https", "x-forwarded-for": "203.0.113.9" },
      payload: { email: EMAIL, password: PASSWORD },
    });
    assert.equal(response.statusCode, 200, response.body);
    assert.equal(cookieNamed(response, "rampart_session"), undefined, "no unprefixed cookie over HTTPS");
    const cookie = cookieNamed(response, "__Host-rampart_session");
    assert.ok(cookie, setCookies(response).join(" | "));
    for (const attribute of ["secure", "httponly", "samesite=strict", "path=/"]) {
      assert.ok(cookie.attributes.includes(attribute), `${attribute} in ${cookie.attributes.join("; ")}`);
    }
    assert.ok(!cookie.attributes.some((a) => a.startsWith("domain=")));
    const csrfCookie = cookieNamed(response, "__Host-rampart_csrf");
    assert.ok(csrfCookie);
    assert.ok(csrfCookie.attributes.includes("secure"));

    // The cookie authenticates over HTTPS; CSRF uses the https origin.
    const csrf = response.json().csrf_token as string;
    const headers = {
      host: HOST,
      "x-forwarded-proto": "https",
      cookie: `__Host-rampart_session=${encodeURIComponent(cookie.value)}`,
    };
    assert.equal((await t.app.inject({ method: "GET", url: "/auth/me", remoteAddress: PROXY, headers })).statusCode, 200);
    const created = await t.app.inject({
      method: "POST",
      url: "/auth/tokens",
      remoteAddress: PROXY,
      headers: { ...headers, origin: `https://${HOST}`, "x-csrf-token": csrf },
      payload: { name: "https-page", scopes: ["notes:read"] },
    });
    assert.equal(created.statusCode, 201, created.body);
    const downgraded = await t.app.inject({
      method: "POST",
      url: "/auth/tokens",
      remoteAddress: PROXY,
      headers: { ...headers, origin: `http://${HOST}`, "x-csrf-token": csrf },
      payload: { name: "http-page", scopes: ["notes:read"] },
    });
    assertProblem(downgraded, 403);
  });

  it(
    "over HTTPS only the __Host- cookie authenticates: an unprefixed rampart_session cookie is ignored",
    async () => {
      // The attacker's own valid session, planted in the victim's browser under the unprefixed name.
      const planted = await t.app.inject({ method: "POST", url: "/auth/login", remoteAddress: PROXY, payload: { email: EMAIL, password: PASSWORD } });
      const response = await t.app.inject({
        method: "GET",
        url: "/auth/me",
        remoteAddress: PROXY,
        headers: { host: HOST, "x-forwarded-proto": "https", cookie: `rampart_session=${planted.json().access_token}` },
      });
      assert.equal(response.statusCode, 401, `the unprefixed cookie authenticated: ${response.body}`);
    },
  );

  it("X-Forwarded-Proto from an untrusted address is ignored: no __Host- cookie", async () => {
    const response = await t.app.inject({
      method: "POST",
      url: "/auth/login?session=cookie",
      remoteAddress: "198.51.100.7",
      headers: { host: HOST, "x-forwarded-proto": "https" },
      payload: { email: EMAIL, password: PASSWORD },
    });
    assert.equal(response.statusCode, 200, response.body);
    assert.equal(cookieNamed(response, "__Host-rampart_session"), undefined);
    assert.ok(cookieNamed(response, "rampart_session"));
  });
});

describe("browser sessions renew through the refresh cookie", () => {
  let t: IdentityApp;
  before(async () => {
    t = await startIdentityApp();
    await signUp(t.app, "renew@example.com", "10.15.0.9");
  });
  after(async () => {
    await t.close();
  });

  async function cookieLogin() {
    const response = await t.app.inject({
      method: "POST",
      url: "/auth/login?session=cookie",
      remoteAddress: "10.15.0.9",
      headers: { host: HOST },
      payload: { email: "renew@example.com", password: PASSWORD },
    });
    assert.equal(response.statusCode, 200, response.body);
    return response;
  }

  it("keeps the refresh token out of the page: HttpOnly cookie, not the body", async () => {
    const response = await cookieLogin();
    assert.equal(response.json().refresh_token, undefined);
    const refresh = cookieNamed(response, "rampart_refresh");
    assert.ok(refresh?.attributes.includes("httponly"));
  });

  it("refreshes from the cookie with the page's CSRF token, and refuses without it", async () => {
    const login = await cookieLogin();
    const refreshCookie = `rampart_refresh=${encodeURIComponent(cookieNamed(login, "rampart_refresh")!.value)}`;
    const post = (headers: Record<string, string>) =>
      t.app.inject({ method: "POST", url: "/auth/refresh", remoteAddress: "10.15.0.9", headers: { host: HOST, origin: `http://${HOST}`, cookie: refreshCookie, ...headers } });
    // A cross-site form or script cannot read the CSRF token, so it cannot renew the session.
    assertProblem(await post({}), 403);
    // Nor can a request from another origin, or one stripped of every provenance header, even with the token.
    assertProblem(await post({ origin: "https://evil.example", "x-csrf-token": login.json().csrf_token }), 403);
    const stripped = await t.app.inject({
      method: "POST",
      url: "/auth/refresh",
      remoteAddress: "10.15.0.9",
      headers: { host: HOST, cookie: refreshCookie, "x-csrf-token": login.json().csrf_token },
    });
    assertProblem(stripped, 403);
    assertProblem(await post({ "x-csrf-token": "forged.token" }), 403);
    const renewed = await post({ "x-csrf-token": login.json().csrf_token });
    assert.equal(renewed.statusCode, 200, renewed.body);
    assert.equal(renewed.json().token_type, "Cookie");
    assert.ok(cookieNamed(renewed, "rampart_session")?.value);
    // The spent refresh cookie is dead, and replaying it is theft: the family is revoked.
    assertInvalidToken(await post({ "x-csrf-token": renewed.json().csrf_token }));
  });
});
