/**
 * How the admin console's files are served: from memory, with the console's strict CSP on every console
 * response (page, script, stylesheet, redirect, 304, errors), revalidated by ETag; the API keeps its own
 * `default-src 'none'`; a config switch turns the console off; an unbuilt console says so instead of
 * failing. Fixture files stand in for the bundle here; test/browser/console.test.ts runs the real one.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { after, before, describe, it } from "node:test";
import { CONSOLE_CSP, consoleRoutes } from "../../../src/console/routes.ts";
import { makeApp, PRODUCTION_BEHIND_PROXY, type TestApp } from "../../support/app.ts";
import { startIdentityApp } from "../../support/identity.ts";

function fixtureAssets(): URL {
  const dir = mkdtempSync(join(tmpdir(), "rampart-console-"));
  mkdirSync(join(dir, "assets"));
  writeFileSync(join(dir, "index.html"), '<!doctype html><title>console</title><script type="module" src="console/assets/console.js"></script>');
  writeFileSync(join(dir, "assets", "console.js"), "export {};");
  writeFileSync(join(dir, "assets", "console-style.css"), "body{margin:0}");
  return pathToFileURL(`${dir}/`);
}

describe("the console's files", () => {
  let t: TestApp;
  before(async () => {
    const assetsDir = fixtureAssets();
    t = await makeApp({ routes: async (app) => app.register(consoleRoutes({ assetsDir })) });
  });
  after(async () => t.app.close());

  it("the page, script and stylesheet are served with their types and the console CSP, without credentials", async () => {
    for (const [url, type] of [
      ["/console", "text/html"],
      ["/console/assets/console.js", "text/javascript"],
      ["/console/assets/console-style.css", "text/css"],
    ] as const) {
      const response = await t.app.inject({ method: "GET", url });
      assert.equal(response.statusCode, 200, `${url}: ${response.body}`);
      assert.ok(String(response.headers["content-type"]).startsWith(type), `${url}: ${response.headers["content-type"]}`);
      assert.equal(response.headers["content-security-policy"], CONSOLE_CSP, url);
      assert.equal(response.headers["x-content-type-options"], "nosniff");
      assert.equal(response.headers["x-frame-options"], "DENY");
      assert.equal(response.headers["cross-origin-opener-policy"], "same-origin");
      assert.ok(response.headers.etag, `${url} has an ETag`);
    }
    assert.equal((await t.app.inject({ method: "GET", url: "/console" })).headers["cache-control"], "no-store");
  });

  it("the CSP allows no inline script or style, no eval, no framing and no form posts", () => {
    const directives = new Map(CONSOLE_CSP.split("; ").map((d) => [d.split(" ")[0], d.split(" ").slice(1).join(" ")]));
    assert.equal(directives.get("default-src"), "'none'");
    assert.equal(directives.get("script-src"), "'self'");
    assert.equal(directives.get("style-src"), "'self'");
    assert.equal(directives.get("frame-ancestors"), "'none'");
    assert.equal(directives.get("form-action"), "'none'");
    assert.equal(directives.get("base-uri"), "'none'");
    assert.ok(!/unsafe-|data:|https?:|\*/.test(CONSOLE_CSP), CONSOLE_CSP);
  });

  it("a matching If-None-Match is 304 with no body, and still carries the CSP", async () => {
    const first = await t.app.inject({ method: "GET", url: "/console/assets/console.js" });
    const again = await t.app.inject({ method: "GET", url: "/console/assets/console.js", headers: { "if-none-match": String(first.headers.etag) } });
    assert.equal(again.statusCode, 304);
    assert.equal(again.body, "");
    assert.equal(again.headers["content-security-policy"], CONSOLE_CSP);
  });

  it("/console/ redirects to /console (the page's relative asset URLs), with the CSP", async () => {
    const response = await t.app.inject({ method: "GET", url: "/console/" });
    assert.equal(response.statusCode, 308);
    assert.equal(response.headers.location, "/console");
    assert.equal(response.headers["content-security-policy"], CONSOLE_CSP);
  });

  it("nothing else is served from the console's paths: other files, traversal and writes are refused", async () => {
    for (const url of ["/console/assets/other.js", "/console/index.html", "/console/assets/..%2f..%2fpackage.json", "/console/../package.json"]) {
      const response = await t.app.inject({ method: "GET", url });
      assert.ok([400, 404].includes(response.statusCode), `${url}: ${response.statusCode}`);
      assert.ok(!response.body.includes('"dependencies"'), url);
    }
    const post = await t.app.inject({ method: "POST", url: "/console", payload: {} });
    assert.equal(post.statusCode, 405);
  });
});

describe("the console in production", () => {
  it("is refused over plain HTTP like the API, and served over HTTPS with HSTS", async () => {
    const assetsDir = fixtureAssets();
    const t = await makeApp({
      env: { ...PRODUCTION_BEHIND_PROXY, RAMPART_ALLOWED_HOSTS: "admin.example.com" },
      routes: async (app) => app.register(consoleRoutes({ assetsDir })),
    });
    try {
      const proxied = (proto: string) =>
        t.app.inject({ method: "GET", url: "/console", remoteAddress: "10.0.0.1", headers: { host: "admin.example.com", "x-forwarded-proto": proto } });
      const plain = await proxied("http");
      assert.equal(plain.statusCode, 403, plain.body);
      assert.ok(!plain.body.includes("<script"), "no page over plain HTTP");
      const secure = await proxied("https");
      assert.equal(secure.statusCode, 200, secure.body);
      assert.match(String(secure.headers["strict-transport-security"]), /max-age=\d+; includeSubDomains/);
      assert.equal(secure.headers["content-security-policy"], CONSOLE_CSP);
    } finally {
      await t.app.close();
    }
  });
});

describe("the console in the reference server", () => {
  it("RAMPART_CONSOLE=off removes it: /console is 404 and the API is unchanged", async () => {
    const server = await startIdentityApp({ env: { RAMPART_CONSOLE: "off" } });
    try {
      assert.equal(server.config.console.enabled, false);
      assert.equal((await server.app.inject({ method: "GET", url: "/console" })).statusCode, 404);
      assert.equal((await server.app.inject({ method: "GET", url: "/healthz" })).statusCode, 200);
    } finally {
      await server.close();
    }
  });

  it("RAMPART_CONSOLE=maybe stops start-up naming the setting", async () => {
    await assert.rejects(startIdentityApp({ env: { RAMPART_CONSOLE: "maybe" } }), /console/);
  });

  it("an unbuilt console answers 404 saying how to build it, and the API's responses keep their own CSP", async () => {
    const empty = pathToFileURL(`${mkdtempSync(join(tmpdir(), "rampart-console-empty-"))}/`);
    const t = await makeApp({ routes: async (app) => app.register(consoleRoutes({ assetsDir: empty })) });
    try {
      const response = await t.app.inject({ method: "GET", url: "/console" });
      assert.equal(response.statusCode, 404);
      assert.match(String(response.json().detail), /npm run build/);
      assert.ok(t.logs.some((line) => line.includes("RAMPART_WARN_CONSOLE_NOT_BUILT")));
      const api = await t.app.inject({ method: "GET", url: "/healthz" });
      assert.match(String(api.headers["content-security-policy"]), /^default-src 'none'/);
    } finally {
      await t.app.close();
    }
  });
});
