/**
 * Verify-only mode over real HTTP: a Rampart server issues tokens; a second application with no users
 * and no database (`verify: { jwks, issuer, audience }`) accepts them, refuses forgeries, and, sharing
 * Redis with the issuer, refuses a token the moment the issuer revokes it — including a service that
 * starts after the revocation.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import Fastify, { type FastifyInstance } from "fastify";
import pino from "pino";
import { loadConfig } from "../../src/config/load.ts";
import rampart from "../../src/index.ts";
import { composeServer, type RampartServer } from "../../src/server/compose.ts";
import { redisUrl, serviceSkip } from "../support/services.ts";

const password = "a long enough passphrase for tests";
const skipRedis = await serviceSkip("redis");

async function startIssuer(env: Record<string, string> = {}): Promise<{ server: RampartServer; url: string; dataDir: string }> {
  const dataDir = mkdtempSync(join(tmpdir(), "rampart-issuer-"));
  // The issuer's own route limits are not under test here, and with Redis they are shared with every
  // other suite that registers from 127.0.0.1.
  const config = loadConfig({ env: { RAMPART_DATA_DIR: dataDir, ...env }, overrides: { rateLimit: { enabled: false } } });
  const server = await composeServer(config, pino({ level: "silent" }));
  const url = await server.app.listen({ host: "127.0.0.1", port: 0 });
  return { server, url, dataDir };
}

async function startVerifier(issuerUrl: string, extra: Record<string, unknown> = {}): Promise<{ app: FastifyInstance; url: string; runs: () => number }> {
  let runs = 0;
  const app = Fastify();
  await app.register(rampart, {
    verify: { jwks: `${issuerUrl}/.well-known/jwks.json`, issuer: "rampart", audience: "rampart-api" },
    roles: { reader: ["items:read"] },
    ...extra,
  });
  app.get("/api/whoami", async (request) => {
    runs++;
    return { sub: request.rampart.principal?.userId, roles: request.rampart.principal?.roles };
  });
  app.get("/api/items", { config: { rampart: { permissions: ["items:read"] } } }, async () => ({ items: [] }));
  const url = await app.listen({ host: "127.0.0.1", port: 0 });
  return { app, url, runs: () => runs };
}

async function login(issuer: string, email: string): Promise<{ access_token: string; refresh_token: string }> {
  const headers = { "content-type": "application/json" };
  const registered = await fetch(`${issuer}/auth/register`, { method: "POST", headers, body: JSON.stringify({ email, password }) });
  assert.equal(registered.status, 201);
  const response = await fetch(`${issuer}/auth/login`, { method: "POST", headers, body: JSON.stringify({ email, password }) });
  assert.equal(response.status, 200);
  return (await response.json()) as { access_token: string; refresh_token: string };
}

const call = (url: string, token?: string) => fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {} });

/** One character of the signature changed (not the last, whose low bits base64url may ignore). */
function tamper(token: string): string {
  const i = token.lastIndexOf(".") + 5;
  return token.slice(0, i) + (token[i] === "A" ? "B" : "A") + token.slice(i + 1);
}

describe("verify-only: tokens of a Rampart server, checked against its JWKS", () => {
  let issuer: Awaited<ReturnType<typeof startIssuer>>;
  let verifier: Awaited<ReturnType<typeof startVerifier>>;
  before(async () => {
    issuer = await startIssuer();
    verifier = await startVerifier(issuer.url);
  });
  after(async () => {
    await verifier?.app.close();
    await issuer?.server.close();
    rmSync(issuer.dataDir, { recursive: true, force: true });
  });

  it("accepts the issuer's access token, with the caller's id and roles", async () => {
    const { access_token } = await login(issuer.url, "v1@example.com");
    const response = await call(`${verifier.url}/api/whoami`, access_token);
    assert.equal(response.status, 200);
    const body = (await response.json()) as { sub: string; roles: string[] };
    assert.deepEqual(body.roles, ["user"]);
    assert.match(body.sub, /^[0-9a-f-]{36}$/);
  });

  it("refuses the same token with one signature character changed, and an anonymous call, before the handler", async () => {
    const { access_token } = await login(issuer.url, "v2@example.com");
    const before = verifier.runs();
    const forged = await call(`${verifier.url}/api/whoami`, tamper(access_token));
    assert.equal(forged.status, 401);
    assert.match(String(forged.headers.get("www-authenticate")), /error="invalid_token"/);
    assert.equal(forged.headers.get("content-type"), "application/problem+json; charset=utf-8");
    assert.equal((await call(`${verifier.url}/api/whoami`)).status, 401);
    assert.equal(verifier.runs(), before);
  });

  it("permissions come from the token's roles through the application's roles: a user lacks items:read", async () => {
    const { access_token } = await login(issuer.url, "v3@example.com");
    assert.equal((await call(`${verifier.url}/api/items`, access_token)).status, 403);
  });

  it("refuses API tokens and cookies: it can check only what the JWKS proves", async () => {
    const response = await call(`${verifier.url}/api/whoami`, `rmp_${"a".repeat(40)}`);
    assert.equal(response.status, 401);
  });

  it("has no database and no identity routes", async () => {
    assert.equal((await fetch(`${verifier.url}/auth/login`, { method: "POST" })).status, 404);
    assert.deepEqual(readdirSync(process.cwd()).filter((name) => name === "data-verify"), []);
  });

  it("a token of another issuer's key (same claims, its own JWKS unknown here) is refused", async () => {
    const other = await startIssuer();
    try {
      const { access_token } = await login(other.url, "v4@example.com");
      assert.equal((await call(`${verifier.url}/api/whoami`, access_token)).status, 401);
    } finally {
      await other.server.close();
      rmSync(other.dataDir, { recursive: true, force: true });
    }
  });
});

describe("verify-only with Redis: the issuer's revocations reach the verifier", { skip: skipRedis }, () => {
  let issuer: Awaited<ReturnType<typeof startIssuer>>;
  let verifier: Awaited<ReturnType<typeof startVerifier>>;
  before(async () => {
    issuer = await startIssuer({ REDIS_URL: redisUrl() });
    verifier = await startVerifier(issuer.url, { redisUrl: redisUrl() });
  });
  after(async () => {
    await verifier?.app.close();
    await issuer?.server.close();
    rmSync(issuer.dataDir, { recursive: true, force: true });
  });

  it("logout at the issuer: the verifier refuses the token on the next request", async () => {
    const { access_token, refresh_token } = await login(issuer.url, "r1@example.com");
    assert.equal((await call(`${verifier.url}/api/whoami`, access_token)).status, 200);
    const logout = await fetch(`${issuer.url}/auth/logout`, {
      method: "POST",
      headers: { authorization: `Bearer ${access_token}`, "content-type": "application/json" },
      body: JSON.stringify({ refresh_token }),
    });
    assert.equal(logout.status, 204);
    assert.equal((await call(`${verifier.url}/api/whoami`, access_token)).status, 401);
  });

  it("a verifier started after the revocation refuses the token too (revocations in force are loaded at start)", async () => {
    const { access_token, refresh_token } = await login(issuer.url, "r2@example.com");
    await fetch(`${issuer.url}/auth/logout`, {
      method: "POST",
      headers: { authorization: `Bearer ${access_token}`, "content-type": "application/json" },
      body: JSON.stringify({ refresh_token }),
    });
    const late = await startVerifier(issuer.url, { redisUrl: redisUrl() });
    try {
      assert.equal((await call(`${late.url}/api/whoami`, access_token)).status, 401);
      const fresh = await login(issuer.url, "r3@example.com");
      assert.equal((await call(`${late.url}/api/whoami`, fresh.access_token)).status, 200);
    } finally {
      await late.app.close();
    }
  });
});
