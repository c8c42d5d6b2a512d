/**
 * The console's "My account" page and passkey sign-in, in a real Chromium against a real `rampart serve`
 * process. The server runs on a port chosen up front so that its WebAuthn relying party (RP ID
 * `localhost`, origin `http://localhost:<port>`) matches the page the browser opens; passkeys come from
 * Chromium's virtual authenticator (DevTools protocol), so the whole ceremony — browser, authenticator,
 * server verification — is the real one. Every action is checked on the API afterwards, from Node:
 * the old password refused, TOTP asked for at login, the passkey counted, the session cookie HttpOnly.
 *
 * Screenshots (no secret or recovery code on them): account-desktop and account-phone, in the
 * artifacts directory (RAMPART_ARTIFACTS_DIR, default .tmp/artifacts) under console/, and with
 * RAMPART_UPDATE_SCREENSHOTS=1 also in docs/console/.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { after, before, describe, it } from "node:test";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { buildConsole, CONSOLE_OUT } from "../../scripts/build-console.js";
import { base32Decode, totp } from "../../src/core/mfa/index.ts";
import { browserSkip, launchBrowser } from "../support/browser.ts";
import { DESKTOP, jsonClient, newFindings, PHONE, screenshot, watchedPage } from "../support/console-browser.ts";
import { spawnCli } from "../support/cli.ts";
import { type ServerProcess, startServer } from "../support/server-process.ts";

const skip = browserSkip();
const PASSWORD = "correct horse battery staple";
const NEW_PASSWORD = "a quieter horse on a longer walk";
const ADMIN = "admin@account.test";
const PAT = "pat-password@account.test";
const TIA = "tia-totp@account.test";
const PIA = "pia-passkey@account.test";
const GUS = "gus-gated@account.test";

const STEP_MS = 30_000;

/** A port that was free a moment ago: the server must know it before it starts (WebAuthn origin). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  assert.ok(address && typeof address === "object");
  return address.port;
}

/**
 * Waits until at least 5 s are left in the current TOTP step, so a code computed now is still in the
 * server's window (±1 step) when it arrives. Bounded by the clock, not a guess at how long a page takes.
 */
async function freshStep(): Promise<void> {
  const left = STEP_MS - (Date.now() % STEP_MS);
  if (left < 5_000) await delay(left + 100);
}

describe("My account and passkeys in the console", { skip }, () => {
  const dataDir = mkdtempSync(join(tmpdir(), "rampart-console-account-"));
  let api: ServerProcess;
  let browser: Browser;
  /** http://localhost:<port>: the origin the WebAuthn settings name (api.url is the 127.0.0.1 one). */
  let origin = "";
  const findings = newFindings();
  const json = jsonClient(() => api.url);

  const login = (email: string, password = PASSWORD) => json("POST", "/auth/login", undefined, { email, password });

  async function loginToken(email: string, password = PASSWORD): Promise<string> {
    const answer = await login(email, password);
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.equal(typeof answer.body.access_token, "string", JSON.stringify(answer.body));
    return answer.body.access_token as string;
  }

  const newContext = (viewport = DESKTOP) => watchedPage(browser, findings, viewport);

  async function signInPage(page: Page): Promise<void> {
    await page.goto(`${origin}/console`);
    await page.getByRole("heading", { name: "Sign in to the Rampart console" }).waitFor();
  }

  /** Fills and submits the password step (the caller waits for what should follow). */
  async function submitPassword(page: Page, email: string, password = PASSWORD): Promise<void> {
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password", { exact: true }).fill(password);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
  }

  async function signIn(page: Page, email: string, password = PASSWORD): Promise<void> {
    await signInPage(page);
    await submitPassword(page, email, password);
    await page.getByRole("button", { name: "Sign out" }).waitFor();
  }

  async function signOut(page: Page): Promise<void> {
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("heading", { name: "Sign in to the Rampart console" }).waitFor();
  }

  async function openAccount(page: Page): Promise<void> {
    await page.getByRole("navigation", { name: "Console sections" }).getByRole("link", { name: "My account" }).click();
    await page.getByRole("heading", { level: 1, name: "My account" }).waitFor();
  }

  /** The first non-empty message of a live region of `role`. */
  async function message(page: Page, role: "alert" | "status"): Promise<string> {
    const region = page.getByRole(role).filter({ hasText: /./ }).first();
    await region.waitFor();
    return (await region.textContent()) ?? "";
  }

  async function hasSessionCookie(context: BrowserContext): Promise<boolean> {
    return (await context.cookies()).some((c) => c.name === "rampart_session");
  }

  before(async () => {
    await buildConsole(CONSOLE_OUT);
    const created = await spawnCli(dataDir, ["users", "create", "--email", ADMIN, "--role", "admin", "--password-stdin"], { input: `${PASSWORD}\n` });
    assert.equal(created.status, 0, created.stderr);
    const port = await freePort();
    origin = `http://localhost:${port}`;
    const config = join(dataDir, "rampart.json");
    writeFileSync(
      config,
      JSON.stringify({
        webauthn: { rpId: "localhost", origins: [origin] },
        // Every test signs in afresh from one address; the login limit is not what this suite tests.
        rateLimit: { login: ["1000/minute burst 1000"], register: ["1000/minute burst 1000"] },
      }),
    );
    api = await startServer({ RAMPART_DATA_DIR: dataDir, RAMPART_REGISTRATION: "open", RAMPART_CONFIG: config, PORT: String(port) });
    for (const email of [PAT, TIA, PIA, GUS]) {
      const answer = await json("POST", "/auth/register", undefined, { email, password: PASSWORD });
      assert.equal(answer.status, 201, `${email}: ${JSON.stringify(answer.body)}`);
    }
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await api?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("changes the password: the old one is refused, other sessions end, this one stays", async () => {
    const otherSession = await loginToken(PAT);
    const { context, page } = await newContext();
    try {
      await signIn(page, PAT);
      await openAccount(page);
      const current = page.getByLabel("Current password");
      const next = page.getByLabel("New password", { exact: true });
      const change = page.getByRole("button", { name: "Change password" });

      // A wrong current password: the API's detail, and nothing changes.
      await current.fill("not my password, not at all");
      await next.fill(NEW_PASSWORD);
      await change.click();
      assert.match(await message(page, "alert"), /email or password is incorrect/i);
      assert.equal((await json("GET", "/auth/me", otherSession)).status, 200, "the other session lives on");
      assert.equal((await login(PAT)).status, 200, "the old password still works");

      // A new password the policy refuses: the API's detail again.
      await current.fill(PASSWORD);
      await next.fill("too short");
      await change.click();
      await page.getByRole("alert").filter({ hasText: /at least 15 characters/ }).waitFor();

      await next.fill(NEW_PASSWORD);
      await change.click();
      assert.match(await message(page, "status"), /Password changed/);
      assert.equal(await current.inputValue(), "", "the fields are emptied");
      assert.equal(await page.getByRole("alert").filter({ hasText: /./ }).count(), 0, "the earlier error is gone");
      // The console session survived the change: it still reads the user's sessions.
      await page.getByRole("link", { name: "My sessions" }).click();
      await page.getByText("(this session)").first().waitFor();
    } finally {
      await context.close();
    }
    assert.equal((await login(PAT)).status, 401, "the old password is refused");
    await loginToken(PAT, NEW_PASSWORD);
    assert.equal((await json("GET", "/auth/me", otherSession)).status, 401, "every other session was revoked");
  });

  it("sets up an authenticator app: the code is then asked at sign-in, a recovery code works once", async () => {
    const { context, page } = await newContext();
    try {
      await signIn(page, TIA);
      await openAccount(page);
      await page.getByRole("button", { name: "Set up authenticator app" }).click();
      const region = page.getByRole("region", { name: "Authenticator secret" });
      await region.waitFor();
      const grouped = (await region.locator("code").first().textContent()) ?? "";
      assert.match(grouped, /^[A-Z2-7]{4}( [A-Z2-7]{1,4})+$/, "the key is shown in groups of four");
      const secret = base32Decode(grouped.replace(/\s/g, ""));
      assert.match((await region.textContent()) ?? "", /otpauth:\/\/totp\/[^ ]+secret=/, "the setup link is shown as text");
      assert.equal(await page.locator("main img, main canvas, main svg").count(), 0, "no QR code image");

      // A wrong code: the API's detail.
      const code = page.getByLabel("Code from the app");
      await freshStep();
      const inWindow = [-1, 0, 1].map((offset) => totp(secret, Date.now() + offset * STEP_MS));
      await code.fill(["000000", "111111", "222222"].find((c) => !inWindow.includes(c)) ?? "");
      await page.getByRole("button", { name: "Confirm", exact: true }).click();
      assert.match(await message(page, "alert"), /code is incorrect/i);

      // Confirmation spends the previous step (within the drift), so the current one is left for the sign-in.
      await freshStep();
      await code.fill(totp(secret, Date.now() - STEP_MS));
      await page.getByRole("button", { name: "Confirm", exact: true }).click();
      const codesRegion = page.getByRole("region", { name: "Recovery codes" });
      await codesRegion.waitFor();
      const codes = (await codesRegion.getByRole("listitem").allTextContents()).map((c) => c.trim());
      assert.equal(codes.length, 10, codes.join(" "));
      assert.equal(new Set(codes).size, 10);
      await codesRegion.getByRole("button", { name: "Copy recovery codes" }).waitFor();
      await codesRegion.getByRole("button", { name: "Done" }).click();
      await codesRegion.waitFor({ state: "detached" });
      await page.getByText("Recovery codes left: 10.").waitFor();
      assert.equal(await page.getByText(codes[0]!).count(), 0, "the codes are gone from the page");

      const challenge = await login(TIA);
      assert.equal(challenge.status, 200);
      assert.equal(challenge.body.mfa_required, true, JSON.stringify(challenge.body));
      assert.equal(challenge.body.access_token, undefined);

      // Signing in again takes the code (and comes back to the page the user signed out from).
      await signOut(page);
      await submitPassword(page, TIA);
      await page.getByLabel("Authentication code").waitFor();
      assert.equal(await hasSessionCookie(context), false, "no session before the second factor");
      await freshStep();
      await page.getByLabel("Authentication code").fill(totp(secret, Date.now()));
      await page.getByRole("button", { name: "Verify" }).click();
      await page.getByRole("heading", { level: 1, name: "My account" }).waitFor();

      // A recovery code signs in once; the second time it is refused.
      async function withRecoveryCode(recoveryCode: string): Promise<"signed in" | "refused"> {
        await submitPassword(page, TIA);
        await page.getByRole("button", { name: "Use a recovery code" }).click();
        await page.getByLabel("Recovery code").fill(recoveryCode);
        await page.getByRole("button", { name: "Verify" }).click();
        const landed = page.getByRole("heading", { level: 1, name: "My account" });
        await landed.or(page.getByRole("alert").filter({ hasText: /./ })).first().waitFor();
        return (await landed.count()) > 0 ? "signed in" : "refused";
      }
      await signOut(page);
      assert.equal(await withRecoveryCode(codes[0]!), "signed in");
      await signOut(page);
      assert.equal(await withRecoveryCode(codes[0]!), "refused", "a spent recovery code");
      assert.match(await message(page, "alert"), /code is incorrect, expired or already used/i);
      assert.equal(await hasSessionCookie(context), false);
      await page.getByRole("button", { name: "Start over" }).click();
      assert.equal(await withRecoveryCode(codes[1]!), "signed in");
      await openAccount(page);
      await page.getByText("Recovery codes left: 8.").waitFor();
      await screenshot(page, "account-desktop");

      // Turning it off takes the password (or a code), after a confirmation.
      await page.getByLabel("Code or password").fill(PASSWORD);
      await page.getByRole("button", { name: "Turn off authenticator app" }).click();
      const dialog = page.getByRole("dialog");
      await dialog.getByRole("button", { name: "Confirm" }).click();
      await page.getByRole("button", { name: "Set up authenticator app" }).waitFor();
    } finally {
      await context.close();
    }
    const token = await loginToken(TIA);
    const me = await json("GET", "/auth/me", token);
    assert.deepEqual(me.body.mfa, { totp: false, recovery_codes_remaining: 0 });
  });

  it("adds a passkey, then signs in with it (no password); a cancelled prompt gets a calm message", async () => {
    const { context, page } = await newContext();
    try {
      // The virtual authenticator lives in this page's target: register, sign out and sign in on the same page.
      const cdp = await context.newCDPSession(page);
      await cdp.send("WebAuthn.enable");
      const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
        options: { protocol: "ctap2", transport: "internal", hasResidentKey: true, hasUserVerification: true, isUserVerified: true },
      });
      await signIn(page, PIA);
      await openAccount(page);
      await page.getByText("You have no passkeys yet.").waitFor();
      await page.getByRole("button", { name: "Add a passkey" }).click();
      assert.match(await message(page, "status"), /Passkey added/);
      await page.getByText("You have 1 passkey.").waitFor();
      const me = await json("GET", "/auth/me", await loginToken(PIA));
      assert.equal(me.body.passkeys, 1);
      const { credentials } = await cdp.send("WebAuthn.getCredentials", { authenticatorId });
      assert.equal(credentials.length, 1);
      assert.equal(credentials[0]?.isResidentCredential, true, "a discoverable credential");

      // The same authenticator cannot hold a second passkey for the same account: said, not crashed.
      await page.getByRole("button", { name: "Add a passkey" }).click();
      assert.match(await message(page, "alert"), /already holds a passkey/);

      // Without an email: the browser offers its discoverable passkeys.
      await signOut(page);
      await page.getByRole("button", { name: "Use a passkey" }).click();
      await page.getByRole("heading", { level: 1, name: "My account" }).waitFor();
      await page.getByText(PIA, { exact: true }).first().waitFor();
      const session = (await context.cookies()).find((c) => c.name === "rampart_session");
      assert.ok(session?.httpOnly, "the session cookie is HttpOnly");
      assert.equal(await page.evaluate(() => document.cookie.includes("rampart_session")), false);

      // With the email: that user's passkeys only.
      await signOut(page);
      await page.getByLabel("Email").fill(PIA);
      await page.getByRole("button", { name: "Use a passkey" }).click();
      await page.getByRole("heading", { level: 1, name: "My account" }).waitFor();

      // The user refuses the prompt (the authenticator cannot verify them): a calm status, no alert, no session.
      await signOut(page);
      await cdp.send("WebAuthn.setUserVerified", { authenticatorId, isUserVerified: false });
      await page.getByRole("button", { name: "Use a passkey" }).click();
      // The sign-in page still shows "You signed out." in the same region until the prompt settles.
      await page.getByRole("status").filter({ hasText: /cancelled or timed out/ }).waitFor();
      assert.equal(await page.getByRole("alert").filter({ hasText: /./ }).count(), 0);
      assert.equal(await hasSessionCookie(context), false);

      // A role that requires a second factor, for a user whose factor is this passkey: the password alone
      // is refused and the page points at the passkey, which then signs in.
      await cdp.send("WebAuthn.setUserVerified", { authenticatorId, isUserVerified: true });
      const admin = await loginToken(ADMIN);
      assert.equal((await json("PUT", "/admin/roles/vault-pk", admin, { permissions: ["notes:read"], mfa: "required" })).status, 200);
      const users = await json("GET", `/admin/users?q=${encodeURIComponent(PIA)}`, admin);
      const pia = (users.body.items as { id: string; email: string }[]).find((u) => u.email === PIA);
      assert.ok(pia);
      assert.equal((await json("PATCH", `/admin/users/${pia.id}`, admin, { roles: ["user", "vault-pk"] })).status, 200);
      await submitPassword(page, PIA);
      await page.getByText("Your account signs in with its passkey").waitFor();
      assert.equal(await hasSessionCookie(context), false, "no session from the password alone");
      await page.getByRole("button", { name: "Use a passkey" }).click();
      await page.getByRole("heading", { level: 1, name: "My account" }).waitFor();
      assert.equal(await hasSessionCookie(context), true);
    } finally {
      await context.close();
    }
  });

  it("a role that requires a second factor: the sign-in says so and opens no session", async () => {
    const admin = await loginToken(ADMIN);
    const role = await json("PUT", "/admin/roles/vault", admin, { permissions: ["notes:read"], mfa: "required" });
    assert.equal(role.status, 200, JSON.stringify(role.body));
    const users = await json("GET", `/admin/users?q=${encodeURIComponent("gus-gated")}`, admin);
    const gus = (users.body.items as { id: string; email: string }[]).find((u) => u.email === GUS);
    assert.ok(gus);
    assert.equal((await json("PATCH", `/admin/users/${gus.id}`, admin, { roles: ["user", "vault"] })).status, 200);
    const refused = await login(GUS);
    assert.equal(refused.status, 403);
    assert.equal(refused.body.enrolment_required, true);

    const { context, page } = await newContext();
    try {
      await signInPage(page);
      await submitPassword(page, GUS);
      assert.match(await message(page, "alert"), /requires a second factor/);
      await page.getByText("Your account needs a second factor before it can sign in with a password.").waitFor();
      assert.equal(await hasSessionCookie(context), false, "no session");
      assert.equal(await page.getByRole("button", { name: "Sign out" }).count(), 0);
    } finally {
      await context.close();
    }
  });

  it("at 360 px the account page fits, the setup key and link included", async () => {
    const { context, page } = await newContext(PHONE);
    try {
      await signIn(page, ADMIN);
      await openAccount(page);
      await page.getByRole("button", { name: "Set up authenticator app" }).waitFor();
      let width = await page.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(width <= PHONE.width, `the page is ${width} px wide`);
      await screenshot(page, "account-phone");
      // The longest content (not photographed: it is a secret): the key and the otpauth link wrap.
      await page.getByRole("button", { name: "Set up authenticator app" }).click();
      await page.getByRole("region", { name: "Authenticator secret" }).waitFor();
      width = await page.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(width <= PHONE.width, `with the key shown, the page is ${width} px wide`);
      await page.getByRole("button", { name: "Cancel" }).click();
      await page.getByRole("button", { name: "Set up authenticator app" }).waitFor();
    } finally {
      await context.close();
    }
  });

  it("no console response lacked the console CSP, no page reported a CSP violation, no dialog opened", () => {
    assert.deepEqual(findings.cspProblems, []);
    assert.deepEqual(findings.dialogs, []);
  });
});
