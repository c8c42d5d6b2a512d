/**
 * CORS and CSRF as a real browser enforces them, against a real `rampart serve` process (development
 * mode, plain http, so the session cookies are the unprefixed `rampart_session` / `rampart_csrf`,
 * HttpOnly + SameSite=Strict for the session).
 *
 * Who is who (Chromium maps every *.test name to 127.0.0.1; ports differ, sites are by name):
 * - http://api.rampart.test:P        the API; RAMPART_CORS_ORIGINS lists only the app origin, cors.credentials on
 * - http://app.rampart.test:P1       the allowed page origin: cross-origin, same-site with the API
 * - http://site.rampart.test:P2      "same-origin": a page server that forwards every non-page path to the API
 *                                    with Host and Origin untouched (a path-routing reverse proxy), so page and
 *                                    API are one origin for the browser and for the API's own-origin check
 * - http://evil.test:P3              an unlisted origin on another site: SameSite=Strict withholds the cookie
 * - http://evil.rampart.test:P3      an unlisted origin on the same site (a sibling subdomain): the browser
 *                                    does send the session cookie, so only the CSRF stage stands in the way
 * Every test checks the API's stored notes afterwards, not only what the page saw.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Browser, BrowserContext } from "playwright-core";
import { browserSkip, launchBrowser, type PageServer, scenarioPage, startPageServer } from "../support/browser.ts";
import { type ServerProcess, startServer } from "../support/server-process.ts";

const skip = browserSkip();
const PASSWORD = "correct horse battery staple";
const ALICE = "alice@example.com";
const DORA = "dora@example.com";

describe("in a real browser: CORS allowlist and CSRF for cookie sessions", { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), "rampart-browser-"));
  let api: ServerProcess;
  let apiPort = "";
  let app: PageServer;
  let site: PageServer;
  let evil: PageServer;
  let browser: Browser;
  let context: BrowserContext;
  const tokens = new Map<string, string>();

  const apiOrigin = () => `http://api.rampart.test:${apiPort}`;
  const appOrigin = () => `http://app.rampart.test:${app.port}`;
  const siteOrigin = () => `http://site.rampart.test:${site.port}`;
  const evilOrigin = (host: string) => `http://${host}:${evil.port}`;
  const credentials = JSON.stringify({ email: ALICE, password: PASSWORD });

  /** The API's view, over plain HTTP from Node with a bearer token: the titles of the user's notes. */
  async function storedTitles(email: string): Promise<string[]> {
    let token = tokens.get(email);
    if (!token) {
      const login = await fetch(`${api.url}/auth/login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email, password: PASSWORD }),
      });
      assert.equal(login.status, 200, await login.clone().text());
      token = ((await login.json()) as { access_token: string }).access_token;
      tokens.set(email, token);
    }
    const response = await fetch(`${api.url}/api/notes?limit=100`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(response.status, 200);
    return ((await response.json()) as { items: { title: string }[] }).items.map((n) => n.title).sort();
  }

  /** Opens a page and returns what its scenario script published. */
  async function run(url: string): Promise<Record<string, unknown>> {
    const page = await context.newPage();
    try {
      await page.goto(url);
      await page.waitForFunction(() => "__result" in window, undefined, { timeout: 20_000 });
      return (await page.evaluate(() => (window as unknown as { __result: Record<string, unknown> }).__result)) ?? {};
    } finally {
      await page.close();
    }
  }

  /** Opens an auto-submitting form page and returns the API's answer the browser navigated to. */
  async function submitForm(url: string): Promise<{ status: number; body: string }> {
    const page = await context.newPage();
    try {
      const answer = page.waitForResponse((r) => r.url().startsWith(`${apiOrigin()}/api/notes`), { timeout: 20_000 });
      await page.goto(url);
      const response = await answer;
      return { status: response.status(), body: await response.text() };
    } finally {
      await page.close();
    }
  }

  before(async () => {
    const pageApi = () => apiOrigin();
    app = await startPageServer(() => ({
      "/login.html": scenarioPage(
        pageApi(),
        `const r = await fetch(API + "/auth/login?session=cookie", { method: "POST", credentials: "include",
           headers: { "content-type": "application/json" }, body: ${JSON.stringify(credentials)} });
         return { status: r.status };`,
      ),
      "/read.html": scenarioPage(
        pageApi(),
        `const out = {};
         // Bearer: the page holds the access token itself.
         let r = await fetch(API + "/auth/login", { method: "POST", headers: { "content-type": "application/json" }, body: ${JSON.stringify(credentials)} });
         const { access_token } = await r.json();
         const bearer = { authorization: "Bearer " + access_token, "content-type": "application/json" };
         r = await fetch(API + "/api/notes", { method: "POST", headers: bearer, body: JSON.stringify({ title: "app bearer" }) });
         out.bearerCreate = r.status;
         r = await fetch(API + "/api/notes?limit=100", { headers: bearer });
         out.bearerList = (await r.json()).items.map((n) => n.title);
         // Cookie session, cross-origin: credentials "include" and the CSRF token from the login answer.
         r = await fetch(API + "/auth/login?session=cookie", { method: "POST", credentials: "include",
           headers: { "content-type": "application/json" }, body: ${JSON.stringify(credentials)} });
         out.cookieLogin = r.status;
         const { csrf_token, access_token: leaked } = await r.json();
         out.leakedAccessToken = leaked !== undefined;
         r = await fetch(API + "/auth/me", { credentials: "include" });
         out.me = (await r.json()).email;
         r = await fetch(API + "/api/notes", { method: "POST", credentials: "include",
           headers: { "content-type": "application/json", "x-csrf-token": csrf_token }, body: JSON.stringify({ title: "app cookie" }) });
         out.cookieCreate = r.status;
         r = await fetch(API + "/api/notes", { method: "POST", credentials: "include",
           headers: { "content-type": "application/json" }, body: JSON.stringify({ title: "app cookie without token" }) });
         out.cookieCreateWithoutToken = r.status;
         return out;`,
      ),
    }));
    site = await startPageServer(
      () => ({
        "/": scenarioPage(
          "",
          `const out = {};
           const json = { "content-type": "application/json" };
           let r = await fetch("/auth/login?session=cookie", { method: "POST", headers: json,
             body: JSON.stringify({ email: ${JSON.stringify(DORA)}, password: ${JSON.stringify(PASSWORD)} }) });
           out.login = r.status;
           const { csrf_token } = await r.json();
           out.csrfToken = typeof csrf_token === "string" && csrf_token.length > 20;
           out.cookieNames = document.cookie.split(";").map((c) => c.trim().split("=")[0]).filter(Boolean).sort();
           r = await fetch("/api/notes", { method: "POST", headers: json, body: JSON.stringify({ title: "same-origin without token" }) });
           out.withoutToken = r.status;
           r = await fetch("/api/notes", { method: "POST", headers: { ...json, "x-csrf-token": csrf_token }, body: JSON.stringify({ title: "same-origin note" }) });
           out.withToken = r.status;
           r = await fetch("/api/notes?limit=100");
           out.list = (await r.json()).items.map((n) => n.title);
           return out;`,
        ),
      }),
      () => api.url,
    );
    const form = (enctype: string, fields: string) =>
      `<!doctype html><meta charset="utf-8"><title>win a prize</title>
<form method="POST" action="${pageApi()}/api/notes" enctype="${enctype}">${fields}</form>
<script>document.forms[0].submit();</script>`;
    evil = await startPageServer(() => ({
      "/text.html": form("text/plain", `<input type="hidden" name='{"title":"csrf text","x":"' value='"}'>`),
      "/urlencoded.html": form("application/x-www-form-urlencoded", `<input type="hidden" name="title" value="csrf urlencoded">`),
      "/read.html": scenarioPage(
        pageApi(),
        `return {
           healthz: await attempt(fetch(API + "/healthz")),
           notes: await attempt(fetch(API + "/api/notes", { credentials: "include" })),
           me: await attempt(fetch(API + "/auth/me", { credentials: "include" })),
           opaque: await attempt(fetch(API + "/api/notes", { mode: "no-cors", credentials: "include" })),
           write: await attempt(fetch(API + "/api/notes", { method: "POST", credentials: "include",
             headers: { "content-type": "application/json" }, body: JSON.stringify({ title: "evil fetch" }) })),
         };`,
      ),
    }));

    const config = join(dir, "rampart.json");
    writeFileSync(config, JSON.stringify({ cors: { credentials: true } }));
    api = await startServer({ RAMPART_CONFIG: config, RAMPART_CORS_ORIGINS: appOrigin(), RAMPART_DATA_DIR: join(dir, "data") }, 30_000);
    apiPort = new URL(api.url).port;
    for (const email of [ALICE, DORA]) {
      const registered = await fetch(`${api.url}/auth/register`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email, password: PASSWORD }),
      });
      assert.equal(registered.status, 201, await registered.text());
    }

    browser = await launchBrowser();
    context = await browser.newContext();
    // Alice logs in from the app, so the browser holds her API session cookie for everything below.
    assert.deepEqual(await run(`${appOrigin()}/login.html`), { status: 200 });
    const cookies = await context.cookies(apiOrigin());
    const session = cookies.find((c) => c.name === "rampart_session");
    assert.ok(session, `the browser holds the API session cookie: ${cookies.map((c) => c.name).join(", ")}`);
    assert.equal(session.httpOnly, true);
    assert.equal(session.sameSite, "Strict");
  });

  after(async () => {
    await browser?.close();
    await api?.stop();
    await Promise.all([app?.close(), site?.close(), evil?.close()]);
    rmSync(dir, { recursive: true, force: true });
  });

  it("(a) a page on the allowed origin reads and writes through the API, with a bearer token and with the session cookie", async () => {
    const result = await run(`${appOrigin()}/read.html`);
    assert.equal(result.bearerCreate, 201, JSON.stringify(result));
    assert.deepEqual(result.bearerList, ["app bearer"]);
    assert.equal(result.cookieLogin, 200);
    assert.equal(result.leakedAccessToken, false, "a cookie login hands the page no access token");
    assert.equal(result.me, ALICE);
    assert.equal(result.cookieCreate, 201, "allowed origin + X-CSRF-Token");
    assert.equal(result.cookieCreateWithoutToken, 403, "the allowed origin still needs the CSRF token");
    assert.deepEqual(await storedTitles(ALICE), ["app bearer", "app cookie"]);
  });

  it("(b) a page on an unlisted origin cannot read the API (every fetch rejects, no-cors too) nor write", async () => {
    const before = await storedTitles(ALICE);
    for (const host of ["evil.test", "evil.rampart.test"]) {
      const result = (await run(`${evilOrigin(host)}/read.html`)) as Record<string, { ok: boolean; type?: string; status?: number }>;
      // No Access-Control-Allow-Origin for an unlisted origin; and a no-cors fetch, which would give an
      // opaque answer, is a network error too: Cross-Origin-Resource-Policy: same-origin.
      for (const name of ["healthz", "notes", "me", "opaque", "write"]) {
        assert.equal(result[name]?.ok, false, `${host} ${name}: ${JSON.stringify(result[name])}`);
        assert.match(String((result[name] as { error?: string }).error), /TypeError/);
      }
    }
    assert.deepEqual(await storedTitles(ALICE), before, "the preflighted write never reached the handler");
  });

  it("(c) an auto-submitting cross-site form POST with the session cookie is refused and stores nothing", async () => {
    const before = await storedTitles(ALICE);
    for (const page of ["text.html", "urlencoded.html"]) {
      // Another site: SameSite=Strict keeps the cookie home, so the API sees an anonymous request.
      const crossSite = await submitForm(`${evilOrigin("evil.test")}/${page}`);
      assert.equal(crossSite.status, 401, `evil.test ${page}: ${crossSite.body}`);
      // A sibling subdomain is the same site: the cookie does travel, and the CSRF stage refuses it.
      const sameSite = await submitForm(`${evilOrigin("evil.rampart.test")}/${page}`);
      assert.equal(sameSite.status, 403, `evil.rampart.test ${page}: ${sameSite.body}`);
      assert.match(sameSite.body, /csrf/i);
    }
    assert.deepEqual(await storedTitles(ALICE), before);
  });

  it("(d) a same-origin page logs in with ?session=cookie, reads csrf_token and writes a note with X-CSRF-Token", async () => {
    const result = await run(`${siteOrigin()}/`);
    assert.equal(result.login, 200, JSON.stringify(result));
    assert.equal(result.csrfToken, true);
    assert.deepEqual(result.cookieNames, ["rampart_csrf"], "the page sees the CSRF cookie, never the HttpOnly session");
    assert.equal(result.withoutToken, 403);
    assert.equal(result.withToken, 201);
    assert.deepEqual(result.list, ["same-origin note"]);
    assert.deepEqual(await storedTitles(DORA), ["same-origin note"]);
  });
});
