/**
 * The package as users get it: `npm pack`, installed into a fresh project next to fastify@5 and
 * express@5, run with plain `node` (no TypeScript loader anywhere). The examples run from there, over
 * real HTTP: anonymous → 401 problem+json, public → 200 with the security headers, register + login
 * through the identity routes → 200, a missing permission → 403, a route limit → 429 with Retry-After,
 * an unknown route → 404 problem+json; a verify-only service accepts the first app's token and refuses
 * it with one signature character changed; the CLI runs compiled.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { type ServerProcess, startListening } from "../support/server-process.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const NPM = process.platform === "win32" ? "npm.cmd" : "npm";
const PASSWORD = "correct horse battery staple";
const EXAMPLES = ["fastify-app", "express-app", "verify-only"];

const running: ServerProcess[] = [];
let project = "";

/** Starts `node server.js` of an installed example; resolves with the URL it prints. */
async function startExample(name: string, env: Record<string, string> = {}): Promise<ServerProcess> {
  const cwd = join(project, name);
  const server = await startListening(process.execPath, ["server.js"], {
    cwd,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", HOST: "127.0.0.1", PORT: "0", RAMPART_DATA_DIR: join(cwd, "data"), ...env },
  });
  running.push(server);
  return server;
}

async function json(url: string, init: RequestInit = {}) {
  const response = await fetch(url, init);
  const text = await response.text();
  return { response, status: response.status, body: text ? JSON.parse(text) : undefined };
}

function tamper(token: string): string {
  const i = token.lastIndexOf(".") + 5;
  return token.slice(0, i) + (token[i] === "A" ? "B" : "A") + token.slice(i + 1);
}

async function registerAndLogin(base: string, email: string, prefix = ""): Promise<string> {
  const headers = { "content-type": "application/json" };
  const registered = await json(`${base}${prefix}/auth/register`, { method: "POST", headers, body: JSON.stringify({ email, password: PASSWORD }) });
  assert.equal(registered.status, 201, JSON.stringify(registered.body));
  const login = await json(`${base}${prefix}/auth/login`, { method: "POST", headers, body: JSON.stringify({ email, password: PASSWORD }) });
  assert.equal(login.status, 200, JSON.stringify(login.body));
  return login.body.access_token;
}

/** The checks every framework example must pass, the same for each. */
async function checkExample(base: string) {
  const anonymous = await json(`${base}/api/profile`);
  assert.equal(anonymous.status, 401);
  assert.equal(anonymous.response.headers.get("content-type"), "application/problem+json; charset=utf-8");
  assert.match(String(anonymous.response.headers.get("www-authenticate")), /^Bearer/);
  assert.equal(anonymous.body.status, 401);
  assert.ok(anonymous.body.requestId);

  const status = await fetch(`${base}/status`);
  assert.equal(status.status, 200);
  assert.equal(status.headers.get("x-content-type-options"), "nosniff");
  assert.equal(status.headers.get("referrer-policy"), "no-referrer");
  assert.match(String(status.headers.get("content-security-policy")), /default-src 'none'/);
  assert.equal(status.headers.get("cache-control"), "no-store");
  assert.equal(status.headers.get("x-powered-by"), null);

  const token = await registerAndLogin(base, `user-${Date.now()}@example.com`);
  const bearer = { authorization: `Bearer ${token}` };
  const profile = await json(`${base}/api/profile`, { headers: bearer });
  assert.equal(profile.status, 200);
  assert.deepEqual(profile.body.roles, ["user"]);
  const forbidden = await json(`${base}/api/items`, { headers: bearer });
  assert.equal(forbidden.status, 403);
  assert.equal(forbidden.response.headers.get("content-type"), "application/problem+json; charset=utf-8");

  // /status allows 3 a minute per IP; one was spent above.
  const codes: number[] = [];
  let limited: Response | undefined;
  for (let i = 0; i < 3; i++) {
    const response = await fetch(`${base}/status`);
    codes.push(response.status);
    if (response.status === 429) limited = response;
  }
  assert.deepEqual(codes, [200, 200, 429]);
  assert.ok(Number(limited?.headers.get("retry-after")) > 0);
  assert.equal(limited?.headers.get("content-type"), "application/problem+json; charset=utf-8");

  const missing = await json(`${base}/no/such/route`, { headers: bearer });
  assert.equal(missing.status, 404);
  assert.equal(missing.response.headers.get("content-type"), "application/problem+json; charset=utf-8");
  return token;
}

describe("the packed package, installed into a fresh project, run with plain node", { timeout: 600_000 }, () => {
  before(async () => {
    project = mkdtempSync(join(tmpdir(), "rampart-package-"));
    // `npm pack` runs `prepare`, which builds dist/ from the current sources.
    execFileSync(NPM, ["pack", "--pack-destination", project], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    const tarball = join(project, readdirSync(project).find((name) => name.endsWith(".tgz")) ?? "no-tarball");
    writeFileSync(
      join(project, "package.json"),
      JSON.stringify({ name: "fresh-project", private: true, type: "module", dependencies: { rampart: `file:${tarball}`, fastify: "^5", express: "^5" } }),
    );
    execFileSync(NPM, ["install", "--no-audit", "--no-fund", "--loglevel=error"], { cwd: project, stdio: ["ignore", "pipe", "pipe"], timeout: 540_000 });
    for (const name of EXAMPLES) {
      mkdirSync(join(project, name));
      copyFileSync(join(ROOT, "examples", name, "server.js"), join(project, name, "server.js"));
      // Resolve `rampart` from the project's node_modules, as an application would.
      writeFileSync(join(project, name, "package.json"), JSON.stringify({ type: "module", private: true }));
    }
  });
  after(async () => {
    await Promise.all(running.map((server) => server.stop()));
    if (project) rmSync(project, { recursive: true, force: true });
  });

  it("installs compiled JavaScript only: no TypeScript loader, no sources, declarations present", () => {
    const installed = join(project, "node_modules");
    assert.equal(existsSync(join(installed, "tsx")), false, "tsx must not be installed for users");
    assert.equal(existsSync(join(installed, "typescript")), false, "typescript must not be installed for users");
    const pkg = join(installed, "rampart");
    assert.deepEqual(readdirSync(pkg).sort(), ["CHANGELOG.md", "README.md", "bin", "dist", "package.json", "schema"]);
    for (const file of ["dist/index.js", "dist/index.d.ts", "dist/core.js", "dist/core.d.ts", "dist/express/index.js", "dist/express/index.d.ts"]) {
      assert.ok(existsSync(join(pkg, file)), `${file} is in the package`);
    }
  });

  it("imports rampart, rampart/core and rampart/express with plain node", () => {
    const out = execFileSync(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        `const a = await import("rampart"); const c = await import("rampart/core"); const e = await import("rampart/express");
         console.log(typeof a.default, typeof a.rampart, typeof c.createRateLimiter, typeof c.createRemoteAccessTokenVerifier, typeof e.createRampart, c.ed25519Backend());`,
      ],
      { cwd: project, encoding: "utf8" },
    );
    // libsodium: the optional sodium-native dependency came with the install and loads its prebuilt binding.
    assert.equal(out.trim(), "function function function function function libsodium");
  });

  it("the rampart CLI runs compiled: --help, and serve answers /healthz and serves the built console", async () => {
    const help = execFileSync(join(project, "node_modules", ".bin", "rampart"), ["--help"], { cwd: project, encoding: "utf8" });
    assert.match(help, /Usage: rampart <command>/);
    const serve = await startListening(join(project, "node_modules", ".bin", "rampart"), ["serve"], {
      cwd: project,
      env: { PATH: process.env.PATH ?? "", HOST: "127.0.0.1", PORT: "0", RAMPART_DATA_DIR: join(project, "serve-data") },
    });
    running.push(serve);
    const { url } = serve;
    assert.deepEqual(await (await fetch(`${url}/healthz`)).json(), { status: "ok" });
    // The console ships built (esbuild ran at pack time; the installed package has no esbuild).
    assert.equal(existsSync(join(project, "node_modules", "esbuild")), false, "esbuild is not installed for users");
    for (const path of ["/console", "/console/assets/console.js", "/console/assets/console-style.css"]) {
      const response = await fetch(`${url}${path}`);
      assert.equal(response.status, 200, path);
      assert.match(response.headers.get("content-security-policy") ?? "", /script-src 'self'; style-src 'self'/, path);
    }
    await serve.stop();
  });

  let issuer: ServerProcess | undefined;
  let token = "";
  it("examples/fastify-app: the plugin's contract over HTTP", async () => {
    issuer = await startExample("fastify-app");
    token = await checkExample(issuer.url);
    // rampartServerOptions() gave the app frameworkErrors: a path Fastify's router refuses is still a problem document.
    const badPath = await fetch(`${issuer.url}/api/items/%ff%fe`);
    assert.equal(badPath.status, 400);
    assert.equal(badPath.headers.get("content-type"), "application/problem+json; charset=utf-8");
    assert.equal(badPath.headers.get("x-content-type-options"), "nosniff");
  });

  it("examples/verify-only: accepts the fastify app's token, refuses it with one signature character changed", async () => {
    assert.ok(issuer, "needs the fastify example running");
    const verifier = await startExample("verify-only", { ISSUER_URL: issuer.url });
    const accepted = await json(`${verifier.url}/api/whoami`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(accepted.status, 200, JSON.stringify(accepted.body));
    assert.deepEqual(accepted.body.roles, ["user"]);
    const forged = await json(`${verifier.url}/api/whoami`, { headers: { authorization: `Bearer ${tamper(token)}` } });
    assert.equal(forged.status, 401);
    assert.match(String(forged.response.headers.get("www-authenticate")), /invalid_token/);
    assert.equal((await json(`${verifier.url}/api/reports`, { headers: { authorization: `Bearer ${token}` } })).status, 403);
  });

  it("examples/express-app: the same checks on Express 5", async () => {
    const app = await startExample("express-app");
    await checkExample(app.url);
  });
});
