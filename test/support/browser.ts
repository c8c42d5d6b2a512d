/**
 * A real Chromium (Debian's /usr/bin/chromium, driven by playwright-core) for browser end-to-end tests,
 * and the small node:http servers that give it pages. Locally a missing Chromium skips the suite with a
 * reason; in CI (`CI` or `RAMPART_REQUIRE_SERVICES` set) it fails loudly, like `serviceSkip`.
 *
 * Cross-site set-up: Chromium resolves every `*.test` name to 127.0.0.1 (`--host-resolver-rules`), so
 * pages and API run on loopback ports under names of our choice. A site is scheme + registrable domain
 * (ports do not count): `api.rampart.test` and `app.rampart.test` are the same site, different origins;
 * `evil.test` is another site.
 */
import { existsSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { type Browser, chromium } from "playwright-core";

export const CHROMIUM = process.env.RAMPART_CHROMIUM ?? "/usr/bin/chromium";

const required = () => Boolean(process.env.CI || process.env.RAMPART_REQUIRE_SERVICES);

/** `false` when the browser suites may run; otherwise the skip reason. Throws in CI when Chromium is missing. */
export function browserSkip(): false | string {
  if (existsSync(CHROMIUM)) return false;
  const message = `Chromium is not installed at ${CHROMIUM}`;
  if (required()) throw new Error(`${message}; CI requires it (apt-get install -y chromium, as .ci/run does)`);
  return `${message}; install it (apt-get install -y chromium) or set RAMPART_CHROMIUM`;
}

export function launchBrowser(): Promise<Browser> {
  // playwright-core gives every launch a new, empty profile directory and removes it on close.
  return chromium.launch({
    executablePath: CHROMIUM,
    timeout: 30_000,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--host-resolver-rules=MAP *.test 127.0.0.1",
    ],
  });
}

export interface PageServer {
  port: number;
  close(): Promise<void>;
}

/**
 * Serves HTML pages by path (`pages` is read per request, so pages may name servers started later).
 * With `proxyTo`, every other path is forwarded to that server unchanged, Host and Origin included:
 * the pages and the API then share one origin, as behind a path-routing reverse proxy.
 */
export async function startPageServer(pages: () => Record<string, string>, proxyTo?: () => string): Promise<PageServer> {
  const server = http.createServer((request, response) => {
    const path = new URL(request.url ?? "/", "http://x").pathname;
    const html = pages()[path];
    if (html !== undefined) {
      response.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" });
      response.end(html);
      return;
    }
    if (!proxyTo) {
      response.writeHead(404).end();
      return;
    }
    const target = new URL(proxyTo());
    const upstream = http.request(
      { host: target.hostname, port: target.port, method: request.method, path: request.url, headers: request.headers },
      (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.rawHeaders);
        answer.pipe(response);
      },
    );
    upstream.on("error", () => response.writeHead(502).end());
    request.pipe(upstream);
  });
  server.listen(0, "127.0.0.1");
  await new Promise((resolve) => server.once("listening", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A page whose inline module script runs `body` (async, may use `API`) and publishes what it returns. */
export function scenarioPage(api: string, body: string): string {
  return `<!doctype html><meta charset="utf-8"><title>scenario</title><pre id="result"></pre>
<script type="module">
const API = ${JSON.stringify(api)};
const attempt = (promise) => promise.then((r) => ({ ok: true, type: r.type, status: r.status }), (e) => ({ ok: false, error: String(e) }));
try {
  window.__result = await (async () => { ${body} })();
} catch (error) {
  window.__result = { thrown: String(error) };
}
document.getElementById("result").textContent = JSON.stringify(window.__result);
void attempt;
</script>`;
}
