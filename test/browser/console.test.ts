/**
 * The admin console in a real Chromium against a real `rampart serve` process (development mode, plain
 * http, so the session cookies are the unprefixed ones). Every action is checked on the API afterwards,
 * from Node with a bearer token, not only on the page: a disabled user's token is refused, a granted role
 * is stored, a revoked token is dead. Along the way: no CSP violation and the console CSP on every console
 * response, stored XSS payloads rendered as text, a plain `user` limited to their own tokens and
 * sessions, keyboard-only sign-in, and no horizontal scrolling at 360 px.
 *
 * Screenshots of the main pages (desktop 1280 px, phone 360 px) go to the artifacts directory
 * (RAMPART_ARTIFACTS_DIR, default .tmp/artifacts) under console/; with RAMPART_UPDATE_SCREENSHOTS=1 also to
 * docs/console/, which the README shows.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Browser, Page } from "playwright-core";
import { buildConsole, CONSOLE_OUT } from "../../scripts/build-console.js";
import { CONSOLE_CSP } from "../../src/console/routes.ts";
import { base32Decode, totp } from "../../src/core/mfa/index.ts";
import { browserSkip, launchBrowser } from "../support/browser.ts";
import { DESKTOP, jsonClient, newFindings, PHONE, screenshot, watchedPage } from "../support/console-browser.ts";
import { spawnCli } from "../support/cli.ts";
import { type ServerProcess, startServer } from "../support/server-process.ts";

const skip = browserSkip();
const PASSWORD = "correct horse battery staple";
const ADMIN = "admin@console.test";
const BOB = "bob@console.test";
const CAROL = "carol@console.test";
const DAVE = "dave-totp@console.test";
/** Stored XSS attempts: each must come back on screen as exactly this text. */
const XSS_EMAIL = "<img/src=x/onerror=alert(1)>@console.test";
const XSS_TOKEN_NAME = '<script>alert("token")</script><b onmouseover=alert(2)>x</b>';


describe("the admin console in a real browser", { skip }, () => {
  const dataDir = mkdtempSync(join(tmpdir(), "rampart-console-"));
  let api: ServerProcess;
  let browser: Browser;
  const findings = newFindings();
  const json = jsonClient(() => api.url);

  async function loginToken(email: string): Promise<string> {
    const answer = await json("POST", "/auth/login", undefined, { email, password: PASSWORD });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    return (answer.body as { access_token: string }).access_token;
  }

  const newContext = (viewport = DESKTOP) => watchedPage(browser, findings, viewport);

  async function signIn(page: Page, email: string): Promise<void> {
    await page.goto(`${api.url}/console`);
    await page.getByRole("heading", { name: "Sign in to the Rampart console" }).waitFor();
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("button", { name: "Sign out" }).waitFor();
  }

  async function open(page: Page, hash: string, heading: string): Promise<void> {
    await page.goto(`${api.url}/console#/${hash}`);
    await page.getByRole("heading", { level: 1, name: heading }).waitFor();
  }

  async function confirm(page: Page): Promise<void> {
    const dialog = page.getByRole("dialog");
    await dialog.waitFor();
    await dialog.getByRole("button", { name: "Confirm" }).click();
    await dialog.waitFor({ state: "hidden" });
  }

  before(async () => {
    await buildConsole(CONSOLE_OUT);
    const created = await spawnCli(dataDir, ["users", "create", "--email", ADMIN, "--role", "admin", "--password-stdin"], { input: `${PASSWORD}\n` });
    assert.equal(created.status, 0, created.stderr);
    // Every test signs in afresh from one address; the login limit (10/minute) is not what this suite tests.
    const config = join(dataDir, "rampart.json");
    writeFileSync(config, JSON.stringify({ rateLimit: { login: ["1000/minute burst 1000"] } }));
    api = await startServer({ RAMPART_DATA_DIR: dataDir, RAMPART_REGISTRATION: "open", RAMPART_CONFIG: config });
    for (const email of [BOB, CAROL, DAVE, XSS_EMAIL]) {
      const answer = await json("POST", "/auth/register", undefined, { email, password: PASSWORD });
      assert.equal(answer.status, 201, `${email}: ${JSON.stringify(answer.body)}`);
    }
    // Something for the audit log and the live view to show: failed logins.
    for (let i = 0; i < 3; i++) assert.equal((await json("POST", "/auth/login", undefined, { email: CAROL, password: "wrong password, wrong" })).status, 401);
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await api?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("the bundle has no HTML-injection sinks and no eval", () => {
    const bundle = readFileSync(join(CONSOLE_OUT, "assets", "console.js"), "utf8");
    for (const sink of ["innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"]) {
      assert.ok(!bundle.includes(sink), `the console bundle uses ${sink}`);
    }
    const html = readFileSync(join(CONSOLE_OUT, "index.html"), "utf8");
    assert.ok(!/<script(?![^>]*\bsrc=)/i.test(html), "no inline script");
    assert.ok(!/<style|\sstyle=/i.test(html), "no inline style");
    assert.ok(!/https?:\/\//i.test(html), "nothing from another origin");
  });

  it("signs in with the keyboard alone and lands on Users; the session is an HttpOnly cookie", async () => {
    const { context, page } = await newContext();
    try {
      await page.goto(`${api.url}/console`);
      await page.getByRole("heading", { name: "Sign in to the Rampart console" }).waitFor();
      await screenshot(page, "sign-in-desktop");
      await page.getByLabel("Email").focus();
      await page.keyboard.type(ADMIN);
      await page.keyboard.press("Tab");
      await page.keyboard.type(PASSWORD);
      await page.keyboard.press("Enter");
      await page.getByRole("heading", { level: 1, name: "Users" }).waitFor();
      const cookies = await context.cookies();
      const session = cookies.find((c) => c.name === "rampart_session");
      assert.ok(session?.httpOnly, "the session cookie is HttpOnly");
      assert.equal(await page.evaluate(() => document.cookie.includes("rampart_session")), false, "script cannot read the session");
    } finally {
      await context.close();
    }
  });

  it("a user with TOTP signs in with the password, then the authentication code", async () => {
    const daveToken = await loginToken(DAVE);
    const started = await json("POST", "/auth/mfa/totp", daveToken);
    assert.equal(started.status, 201, JSON.stringify(started.body));
    const secret = base32Decode((started.body as { secret: string }).secret);
    // Confirmation spends the previous step, so the current one is left for the sign-in.
    const confirmed = await json("POST", "/auth/mfa/totp/confirm", daveToken, { code: totp(secret, Date.now() - 30_000) });
    assert.equal(confirmed.status, 200, JSON.stringify(confirmed.body));
    const { context, page } = await newContext();
    try {
      await page.goto(`${api.url}/console`);
      await page.getByLabel("Email").fill(DAVE);
      await page.getByLabel("Password").fill(PASSWORD);
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.getByLabel("Authentication code").waitFor();
      assert.ok(!(await context.cookies()).some((c) => c.name === "rampart_session"), "no session before the second factor");
      await page.getByLabel("Authentication code").fill("000000" === totp(secret, Date.now()) ? "111111" : "000000");
      await page.getByRole("button", { name: "Verify" }).click();
      await page.getByRole("alert").filter({ hasText: /./ }).first().waitFor();
      await page.getByLabel("Authentication code").fill(totp(secret, Date.now()));
      await page.getByRole("button", { name: "Verify" }).click();
      await page.getByRole("heading", { level: 1, name: "My tokens" }).waitFor();
      assert.ok((await context.cookies()).some((c) => c.name === "rampart_session" && c.httpOnly));
    } finally {
      await context.close();
    }
  });

  it("a wrong password shows the API's problem detail and no session", async () => {
    const { context, page } = await newContext();
    try {
      await page.goto(`${api.url}/console`);
      await page.getByLabel("Email").fill(ADMIN);
      await page.getByLabel("Password").fill("not the password at all");
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.getByRole("alert").filter({ hasText: /./ }).first().waitFor();
      const alert = await page.getByRole("alert").filter({ hasText: /./ }).first().textContent();
      assert.match(alert ?? "", /email or password/i);
      assert.ok(!(await context.cookies()).some((c) => c.name === "rampart_session"));
    } finally {
      await context.close();
    }
  });

  it("disabling a user in the console ends that user's API token at once", async () => {
    const bobToken = await loginToken(BOB);
    const minted = await json("POST", "/auth/tokens", bobToken, { name: "bob's script", scopes: ["notes:read"] });
    assert.equal(minted.status, 201);
    const apiToken = (minted.body as { token: string }).token;
    assert.equal((await json("GET", "/api/notes", apiToken)).status, 200, "the token works before");

    const { context, page } = await newContext();
    try {
      await signIn(page, ADMIN);
      await open(page, "users", "Users");
      await page.getByLabel("Search users").fill("bob@");
      await page.getByRole("button", { name: "Search" }).click();
      await page.getByRole("button", { name: `Disable ${BOB}` }).click();
      await confirm(page);
      await page.getByRole("button", { name: `Enable ${BOB}` }).waitFor();
      await screenshot(page, "users-desktop");
    } finally {
      await context.close();
    }
    assert.equal((await json("GET", "/api/notes", apiToken)).status, 401, "the disabled user's API token is refused");
    assert.equal((await json("GET", "/auth/me", bobToken)).status, 401, "and their access token");
  });

  it("granting a role in the console stores it", async () => {
    const adminToken = await loginToken(ADMIN);
    assert.equal((await json("PUT", "/admin/roles/support", adminToken, { permissions: ["notes:read:any"] })).status, 200);
    const { context, page } = await newContext();
    try {
      await signIn(page, ADMIN);
      await open(page, "users", "Users");
      await page.getByLabel("Search users").fill("carol");
      await page.getByRole("button", { name: "Search" }).click();
      await page.getByRole("button", { name: `Edit roles of ${CAROL}` }).click();
      await page.getByRole("checkbox", { name: "support" }).check();
      await page.getByRole("button", { name: "Save roles" }).click();
      await page.getByRole("status").filter({ hasText: /./ }).first().waitFor();
    } finally {
      await context.close();
    }
    const users = await json("GET", "/admin/users?q=carol", adminToken);
    const carol = (users.body as { items: { email: string; roles: string[] }[] }).items.find((u) => u.email === CAROL);
    assert.deepEqual(carol?.roles.sort(), ["support", "user"]);
  });

  it("a token created and then revoked in the console works, then is refused", async () => {
    const { context, page } = await newContext();
    try {
      await signIn(page, ADMIN);
      await open(page, "tokens", "My tokens");
      await page.getByLabel("Token name").fill(XSS_TOKEN_NAME);
      await page.getByLabel("Scopes").fill("notes:read");
      await page.getByRole("button", { name: "Create token" }).click();
      const shown = page.getByRole("region", { name: "New token" });
      await shown.waitFor();
      const secret = /rmp_[A-Za-z0-9_]+/.exec((await shown.textContent()) ?? "")?.[0];
      assert.ok(secret, "the new token is shown once");
      assert.equal((await json("GET", "/api/notes", secret)).status, 200, "the new token works");
      // The name, a stored XSS attempt, is listed as text.
      await page.getByText(XSS_TOKEN_NAME, { exact: true }).first().waitFor();
      // Dismissed, the secret is gone from the page (and from the screenshot).
      await shown.getByRole("button", { name: "Done" }).click();
      await shown.waitFor({ state: "detached" });
      assert.equal(await page.getByText(secret).count(), 0);
      await screenshot(page, "tokens-desktop");
      await page.getByRole("button", { name: `Revoke token ${XSS_TOKEN_NAME}` }).click();
      await confirm(page);
      await page.getByRole("button", { name: `Revoke token ${XSS_TOKEN_NAME}` }).waitFor({ state: "detached" });
      assert.equal((await json("GET", "/api/notes", secret)).status, 401, "the revoked token is refused");
    } finally {
      await context.close();
    }
  });

  it("a user email that is an XSS payload is shown as text and runs nothing", async () => {
    const { context, page } = await newContext();
    try {
      await signIn(page, ADMIN);
      await open(page, "users", "Users");
      await page.getByText(XSS_EMAIL, { exact: true }).first().waitFor();
      assert.equal(await page.locator("main img").count(), 0, "no element was created from the payload");
      assert.equal(await page.locator("main script").count(), 0);
    } finally {
      await context.close();
    }
    assert.deepEqual(findings.dialogs, [], "no alert() ran");
  });

  it("the audit log filters by type, newest first", async () => {
    const { context, page } = await newContext();
    try {
      await signIn(page, ADMIN);
      await open(page, "audit", "Audit log");
      await page.getByLabel("Event type").fill("admin.user.updated");
      await page.getByRole("button", { name: "Apply filter" }).click();
      const table = page.getByRole("table");
      await table.getByText("admin.user.updated").first().waitFor();
      const text = (await table.textContent()) ?? "";
      assert.ok(!text.includes("login.failure"), "other types are filtered out");
      await screenshot(page, "audit-desktop");
    } finally {
      await context.close();
    }
  });

  it("the live view shows login failures from the metrics counters", async () => {
    const { context, page } = await newContext();
    try {
      await signIn(page, ADMIN);
      await open(page, "live", "Live limits");
      await page.getByText("bad_credentials").first().waitFor();
      await screenshot(page, "live-desktop");
    } finally {
      await context.close();
    }
  });

  it("roles and service clients pages render for the admin", async () => {
    const { context, page } = await newContext();
    try {
      await signIn(page, ADMIN);
      await open(page, "roles", "Roles");
      await page.getByText("support").first().waitFor();
      await screenshot(page, "roles-desktop");
      await open(page, "clients", "Service clients");
      await open(page, "sessions", "My sessions");
      await page.getByText("(this session)").first().waitFor();
    } finally {
      await context.close();
    }
  });

  it("a plain user sees only their own tokens and sessions, and no admin page", async () => {
    const adminToken = await loginToken(ADMIN);
    assert.equal((await json("POST", "/auth/tokens", adminToken, { name: "admin-only token", scopes: ["notes:read"] })).status, 201);
    const xssToken = await loginToken(XSS_EMAIL);
    assert.equal((await json("POST", "/auth/tokens", xssToken, { name: "user's own token", scopes: ["notes:read"] })).status, 201);
    const { context, page } = await newContext();
    try {
      await signIn(page, XSS_EMAIL);
      await page.getByRole("heading", { level: 1, name: "My tokens" }).waitFor();
      await page.getByText("user's own token").first().waitFor();
      assert.equal(await page.getByText("admin-only token").count(), 0, "another user's token is not listed");
      const nav = page.getByRole("navigation", { name: "Console sections" });
      for (const section of ["Users", "Roles", "Audit log", "Service clients", "Live limits"]) {
        assert.equal(await nav.getByRole("link", { name: section }).count(), 0, `no ${section} link`);
      }
      await page.goto(`${api.url}/console#/users`);
      await page.getByText("You do not have access to this page.").waitFor();
      assert.equal(await page.getByText(BOB).count(), 0, "no user list leaked");
    } finally {
      await context.close();
    }
  });

  it("at 360 px every main page fits without horizontal scrolling", async () => {
    const { context, page } = await newContext(PHONE);
    try {
      await page.goto(`${api.url}/console`);
      await page.getByRole("heading", { name: "Sign in to the Rampart console" }).waitFor();
      await screenshot(page, "sign-in-phone");
      await signIn(page, ADMIN);
      for (const [hash, heading, shot] of [
        ["users", "Users", "users-phone"],
        ["tokens", "My tokens", "tokens-phone"],
        ["audit", "Audit log", "audit-phone"],
        ["live", "Live limits", "live-phone"],
      ] as const) {
        await open(page, hash, heading);
        const width = await page.evaluate(() => document.documentElement.scrollWidth);
        assert.ok(width <= PHONE.width, `${hash}: the page is ${width} px wide`);
        await screenshot(page, shot);
      }
    } finally {
      await context.close();
    }
  });

  it("no console response lacked the console CSP and no page reported a CSP violation", () => {
    assert.deepEqual(findings.cspProblems, []);
  });
});

describe("the admin console of a gateway with gateway.prefix", { skip }, () => {
  const dataDir = mkdtempSync(join(tmpdir(), "rampart-console-gateway-"));
  let gateway: ServerProcess;
  let browser: Browser;
  const requested: string[] = [];

  before(async () => {
    await buildConsole(CONSOLE_OUT);
    const created = await spawnCli(dataDir, ["users", "create", "--email", ADMIN, "--role", "admin", "--password-stdin"], { input: `${PASSWORD}\n` });
    assert.equal(created.status, 0, created.stderr);
    const policy = join(dataDir, "policy.yaml");
    writeFileSync(policy, "routes:\n  - match: GET /api/health\n    auth: public\n");
    const config = join(dataDir, "rampart.json");
    writeFileSync(config, JSON.stringify({ gateway: { prefix: "/_rampart" } }));
    // The upstream is never reached by this suite: the console only talks to the gateway's own routes.
    gateway = await startServer(
      { RAMPART_DATA_DIR: dataDir, RAMPART_CONFIG: config, RAMPART_POLICY: policy, RAMPART_UPSTREAM: "http://127.0.0.1:9" },
      20_000,
      "gateway",
    );
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await gateway?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("is served under the prefix only, and every call it makes stays under the prefix", async () => {
    assert.equal((await fetch(`${gateway.url}/console`)).status, 404, "no rule admits /console: it never reaches the upstream either");
    const context = await browser.newContext({ viewport: DESKTOP });
    const page = await context.newPage();
    page.on("request", (request) => requested.push(new URL(request.url()).pathname));
    try {
      const response = await page.goto(`${gateway.url}/_rampart/console`);
      assert.equal(response?.headers()["content-security-policy"], CONSOLE_CSP);
      await page.getByLabel("Email").fill(ADMIN);
      await page.getByLabel("Password").fill(PASSWORD);
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.getByRole("heading", { level: 1, name: "Users" }).waitFor();
      await page.getByText(ADMIN).first().waitFor();
      // The gateway serves no client-credentials admin: the page says so instead of failing.
      await page.goto(`${gateway.url}/_rampart/console#/clients`);
      await page.getByText("Service clients are not available here.").waitFor();
    } finally {
      await context.close();
    }
    const outside = requested.filter((path) => !path.startsWith("/_rampart/") && path !== "/favicon.ico");
    assert.deepEqual(outside, [], "requests outside the prefix");
    assert.ok(requested.includes("/_rampart/auth/login"), requested.join(" "));
  });
});
