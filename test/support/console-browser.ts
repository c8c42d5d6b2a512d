/**
 * What the console's browser suites share: pages that record every console response whose CSP is not
 * the console's, every CSP violation the page reports and every dialog (an `alert()` from an XSS payload
 * would be one); screenshots into the CI artifacts (and docs/console/ on request); a small JSON client
 * for checking the API's side from Node.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { CONSOLE_CSP } from "../../src/console/routes.ts";
import { ROOT } from "./cli.ts";

export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 360, height: 740 };

const ARTIFACTS = join(process.env.RAMPART_ARTIFACTS_DIR ?? join(ROOT, ".tmp", "artifacts"), "console");
const DOCS_SHOTS = process.env.RAMPART_UPDATE_SCREENSHOTS ? join(ROOT, "docs", "console") : undefined;

/** What the pages of one suite reported; both lists must end empty. */
export interface PageFindings {
  cspProblems: string[];
  dialogs: string[];
}

export function newFindings(): PageFindings {
  return { cspProblems: [], dialogs: [] };
}

/** A fresh context (no cookies) and page whose CSP problems and dialogs land in `findings`. */
export async function watchedPage(browser: Browser, findings: PageFindings, viewport = DESKTOP): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.on("response", (response) => {
    const path = new URL(response.url()).pathname;
    if (!path.includes("/console")) return;
    const csp = response.headers()["content-security-policy"];
    if (csp !== CONSOLE_CSP) findings.cspProblems.push(`${path}: ${csp}`);
  });
  page.on("console", (message) => {
    if (/Content Security Policy|Refused to/i.test(message.text())) findings.cspProblems.push(message.text());
  });
  page.on("dialog", (dialog) => {
    findings.dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  await page.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (event) => {
      console.error(`Refused to load: CSP violation of ${event.violatedDirective} by ${event.blockedURI}`);
    });
  });
  return { context, page };
}

/** The viewport as the user sees it on arrival, into the artifacts (and docs/console/ with RAMPART_UPDATE_SCREENSHOTS). */
export async function screenshot(page: Page, name: string): Promise<void> {
  const shot = await page.screenshot();
  for (const dir of [ARTIFACTS, DOCS_SHOTS]) {
    if (!dir) continue;
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `${name}.png`), shot);
  }
}

export interface JsonAnswer {
  status: number;
  body: Record<string, unknown>;
}

/** `json(method, path, bearer?, body?)` against `base()`: the API as a script would call it. */
export function jsonClient(base: () => string) {
  return async function json(method: string, path: string, token?: string, body?: unknown): Promise<JsonAnswer> {
    const response = await fetch(`${base()}${path}`, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body ? { "content-type": "application/json" } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const text = await response.text();
    return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  };
}
