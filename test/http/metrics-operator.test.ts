/**
 * The operator's view at GET /metrics: each event an operator alerts on, provoked over HTTP and then
 * read back from the scrape (refusals by stage and code, 429s by policy, login failures, refresh reuse,
 * revocations, process and event-loop series), the same on PostgreSQL and Redis (pool and limiter
 * store series), and no label value carrying a user id, an email, a token or an address.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { tmpdir } from "node:os";
import { after, before, describe, it } from "node:test";
import type { FastifyInstance } from "fastify";
import { createRepositories, openDatabase } from "../../src/store/index.ts";
import { setRolesInStore } from "../support/authz.ts";
import { bearer, type IdentityApp, login, loginOk, PASSWORD, refresh, register, signUp, startIdentityApp, type TokenPair } from "../support/identity.ts";
import { labelValues, sample } from "../support/prometheus.ts";
import { postgresUrl, redisUrl, serviceSkip } from "../support/services.ts";

const WRONG = "definitely not the passphrase";

async function scrape(app: FastifyInstance, admin: TokenPair, ip: string): Promise<string> {
  const response = await app.inject({ method: "GET", url: "/metrics", remoteAddress: ip, headers: bearer(admin.access_token) });
  assert.equal(response.statusCode, 200, response.body);
  return response.body;
}

describe("GET /metrics: the events an operator alerts on", () => {
  let t: IdentityApp;
  let admin: TokenPair;
  let victim: { id: string; email: string; tokens: TokenPair };
  const adminIp = "10.61.0.1";
  const victimIp = "10.61.0.2";
  const metrics = () => scrape(t.app, admin, adminIp);

  before(async () => {
    t = await startIdentityApp({
      overrides: {
        rateLimit: { enabled: true, register: ["1/minute burst 1"], perPrincipal: ["30/minute burst 30"] },
        loginThrottle: { freeFailures: 1 },
      },
    });
    const created = await register(t.app, "ops@metrics.example", PASSWORD, adminIp);
    assert.equal(created.statusCode, 201, created.body);
    await setRolesInStore(t.dataDir, created.json().id as string, ["admin"]);
    admin = await loginOk(t.app, "ops@metrics.example", adminIp);
    const email = "victim@metrics.example";
    victim = { email, ...(await signUp(t.app, email, victimIp)) };
  });
  after(async () => {
    await t.close();
  });

  it("a refusal is counted by the stage that refused and its code", async () => {
    const anonymous = await t.app.inject({ method: "GET", url: "/auth/me", remoteAddress: "10.61.1.1" });
    assert.equal(anonymous.statusCode, 401);
    const forged = await t.app.inject({ method: "GET", url: "/auth/me", remoteAddress: "10.61.1.1", headers: bearer("not.a.jwt") });
    assert.equal(forged.statusCode, 401);
    const notAdmin = await t.app.inject({ method: "GET", url: "/admin/users", remoteAddress: victimIp, headers: bearer(victim.tokens.access_token) });
    assert.equal(notAdmin.statusCode, 403);
    const incomplete = await t.app.inject({ method: "POST", url: "/auth/login", remoteAddress: "10.61.1.2", payload: { email: "a@b.example" } });
    assert.equal(incomplete.statusCode, 400);

    const text = await metrics();
    assert.equal(sample(text, "rampart_refusals_total", { stage: "authenticate", code: "RAMPART_ERR_UNAUTHENTICATED" }), 1);
    assert.equal(sample(text, "rampart_refusals_total", { stage: "authenticate", code: "RAMPART_ERR_INVALID_TOKEN" }), 1);
    assert.equal(sample(text, "rampart_refusals_total", { stage: "authorize", code: "RAMPART_ERR_FORBIDDEN" }), 1);
    assert.equal(sample(text, "rampart_refusals_total", { stage: "validate", code: "RAMPART_ERR_VALIDATION" }), 1);
    // The older series stays, by status only.
    assert.equal(sample(text, "rampart_security_refusals_total", { status: "401" }), 2);
    assert.equal(sample(text, "rampart_security_refusals_total", { status: "403" }), 1);
  });

  it("a 429 is counted by the policy that refused it, at stage 4 before authentication and stage 7 after", async () => {
    const ip = "10.61.2.1";
    assert.equal((await register(t.app, "first@metrics.example", PASSWORD, ip)).statusCode, 201);
    assert.equal((await register(t.app, "second@metrics.example", PASSWORD, ip)).statusCode, 429);
    let status = 0;
    for (let i = 0; i < 40 && status !== 429; i++) {
      status = (await t.app.inject({ method: "GET", url: "/auth/me", remoteAddress: victimIp, headers: bearer(victim.tokens.access_token) })).statusCode;
    }
    assert.equal(status, 429, "the per-principal limit refused the victim");

    const text = await metrics();
    assert.equal(sample(text, "rampart_rate_limited_total", { policy: "register" }), 1);
    assert.equal(sample(text, "rampart_rate_limited_total", { policy: "user" }), 1);
    assert.equal(sample(text, "rampart_refusals_total", { stage: "limit-client", code: "RAMPART_ERR_RATE_LIMITED" }), 1);
    assert.equal(sample(text, "rampart_refusals_total", { stage: "limit-principal", code: "RAMPART_ERR_RATE_LIMITED" }), 1);
  });

  it("a wrong password is a login failure (bad_credentials); the back-off after it is one too (throttled)", async () => {
    const ip = "10.61.3.1";
    assert.equal((await login(t.app, victim.email, WRONG, ip)).statusCode, 401);
    let text = await metrics();
    assert.equal(sample(text, "rampart_login_failures_total", { reason: "bad_credentials" }), 1);
    assert.equal(sample(text, "rampart_login_failures_total", { reason: "throttled" }), 0);

    assert.equal((await login(t.app, victim.email, WRONG, ip)).statusCode, 429);
    text = await metrics();
    assert.equal(sample(text, "rampart_login_failures_total", { reason: "bad_credentials" }), 1);
    assert.equal(sample(text, "rampart_login_failures_total", { reason: "throttled" }), 1);
    assert.equal(sample(text, "rampart_rate_limited_total", { policy: "login-backoff" }), 1);
    assert.equal(sample(text, "rampart_refusals_total", { stage: "handle", code: "RAMPART_ERR_LOGIN_THROTTLED" }), 1);
    assert.equal(sample(text, "rampart_refusals_total", { stage: "handle", code: "RAMPART_ERR_INVALID_CREDENTIALS" }), 1);
    // Every reason is there from the start, so a rate() over it never starts from a missing series.
    assert.equal(sample(text, "rampart_login_failures_total", { reason: "mfa" }), 0);
  });

  it("a replayed refresh token is a reuse detection, and the session it revokes a local revocation", async () => {
    let text = await metrics();
    assert.equal(sample(text, "rampart_refresh_reuse_detected_total"), 0);
    const localBefore = sample(text, "rampart_revocations_total", { source: "local" }) ?? Number.NaN;

    assert.equal((await refresh(t.app, victim.tokens.refresh_token, victimIp)).statusCode, 200);
    assert.equal((await refresh(t.app, victim.tokens.refresh_token, victimIp)).statusCode, 401);
    text = await metrics();
    assert.equal(sample(text, "rampart_refresh_reuse_detected_total"), 1);
    assert.equal(sample(text, "rampart_revocations_total", { source: "local" }), localBefore + 1);
    assert.equal(sample(text, "rampart_revocations_total", { source: "broadcast" }), 0);
  });

  it("process and event-loop series are there; one instance without Redis is always in sync; SQLite has no pool", async () => {
    const text = await metrics();
    for (const name of ["rampart_nodejs_eventloop_lag_p50_seconds", "rampart_nodejs_eventloop_lag_p99_seconds", "rampart_nodejs_eventloop_lag_max_seconds", "rampart_process_cpu_user_seconds_total"]) {
      assert.equal(typeof sample(text, name), "number", name);
    }
    assert.equal(sample(text, "rampart_revocation_in_sync"), 1);
    assert.doesNotMatch(text, /rampart_db_pool_/);
    // Without Redis the limiter store is in-process: no store series with a value.
    assert.equal(sample(text, "rampart_ratelimit_store_available", { store: "redis" }), undefined);
  });
});

describe("GET /metrics never shows who or where", () => {
  let t: IdentityApp;
  before(async () => {
    t = await startIdentityApp({ overrides: { rateLimit: { enabled: true } } });
  });
  after(async () => {
    await t.close();
  });

  it("no user id, email, token, key or address from the requests appears in the scrape", async () => {
    const canary = randomUUID().slice(0, 8);
    const email = `leak-${canary}@canary.example`;
    const ip = "198.51.100.77";
    const forwarded = "203.0.113.99";
    const user = await signUp(t.app, email, ip);
    const fakeKey = `rmp_${canary}canarykeycanarykeycanarykey`;
    const headers = { "x-forwarded-for": forwarded, "x-real-ip": forwarded };
    const calls = [
      { method: "GET" as const, url: "/auth/me", headers: { ...headers, ...bearer(user.tokens.access_token) } },
      { method: "PATCH" as const, url: `/admin/users/${user.id}`, headers: { ...headers, ...bearer(user.tokens.access_token) }, payload: { roles: ["admin"] } },
      { method: "GET" as const, url: `/api/notes/${user.id}`, headers: { ...headers, ...bearer(user.tokens.access_token) } },
      { method: "GET" as const, url: `/auth/me?email=${encodeURIComponent(email)}`, headers: { ...headers, ...bearer(fakeKey) } },
      { method: "GET" as const, url: `/nowhere/${canary}`, headers },
    ];
    for (const call of calls) await t.app.inject({ ...call, remoteAddress: ip });
    assert.equal((await login(t.app, email, WRONG, ip)).statusCode, 401);
    assert.equal((await refresh(t.app, user.tokens.refresh_token, ip)).statusCode, 200);
    assert.equal((await refresh(t.app, user.tokens.refresh_token, ip)).statusCode, 401);

    const adminIp = "10.62.0.1";
    const created = await register(t.app, `ops-${canary}@metrics.example`, PASSWORD, adminIp);
    await setRolesInStore(t.dataDir, created.json().id as string, ["admin"]);
    const admin = await loginOk(t.app, `ops-${canary}@metrics.example`, adminIp);
    const text = await scrape(t.app, admin, adminIp);

    // The requests were counted (by route pattern), so the scrape is not empty by accident.
    assert.equal(sample(text, "rampart_http_requests_total", { method: "PATCH", route: "/admin/users/:id", status: "403" }), 1);
    assert.equal(sample(text, "rampart_refresh_reuse_detected_total"), 1);
    const secrets = {
      "user id": user.id,
      "admin id": created.json().id as string,
      email,
      "email local part": `leak-${canary}`,
      "access token": user.tokens.access_token,
      "access token signature": user.tokens.access_token.split(".")[2] ?? "",
      "refresh token": user.tokens.refresh_token,
      "API key": fakeKey,
      "canary path segment": canary,
      "client address": ip,
      "forwarded address": forwarded,
      "admin address": adminIp,
    };
    for (const [what, secret] of Object.entries(secrets)) {
      assert.ok(secret.length >= 8, what);
      assert.equal(text.includes(secret), false, `${what} appears in /metrics`);
    }
    for (const value of labelValues(text)) {
      assert.doesNotMatch(value, /@|^\d{1,3}(\.\d{1,3}){3}$|^[0-9a-f]{8}-[0-9a-f]{4}-/i, `label value ${JSON.stringify(value)}`);
    }
  });
});

const skip = (await serviceSkip("postgres")) || (await serviceSkip("redis"));

describe("GET /metrics on PostgreSQL and Redis: pool and limiter store series", { skip }, () => {
  const schema = `rampart_metrics_${randomUUID().replaceAll("-", "")}`;
  let t: IdentityApp;
  let admin: TokenPair;
  const ip = "10.63.0.1";
  before(async () => {
    const root = await openDatabase({ databaseUrl: postgresUrl(), dataDir: tmpdir() });
    await root.db.schema.createSchema(schema).execute();
    await root.close();
    const url = new URL(postgresUrl());
    url.searchParams.set("options", `-c search_path=${schema}`);
    t = await startIdentityApp({ env: { DATABASE_URL: url.toString(), REDIS_URL: redisUrl() }, overrides: { rateLimit: { enabled: true } } });
    const email = `ops-${randomUUID().slice(0, 8)}@metrics.example`;
    const created = await register(t.app, email, PASSWORD, ip);
    assert.equal(created.statusCode, 201, created.body);
    const store = await openDatabase({ databaseUrl: url.toString(), dataDir: tmpdir() });
    await createRepositories(store.db).users.setRoles(created.json().id as string, ["admin"]);
    await store.close();
    admin = await loginOk(t.app, email, ip);
  });
  after(async () => {
    await t?.close();
    const root = await openDatabase({ databaseUrl: postgresUrl(), dataDir: tmpdir() });
    await root.db.schema.dropSchema(schema).ifExists().cascade().execute();
    await root.close();
  });

  it("shows the pool, the Redis store's latency, availability and round trips, and the revocation sync", async () => {
    let text = await scrape(t.app, admin, ip);
    // The broadcast subscribes and catches up asynchronously after start-up.
    for (let i = 0; i < 50 && sample(text, "rampart_revocation_in_sync") !== 1; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      text = await scrape(t.app, admin, ip);
    }
    assert.equal(sample(text, "rampart_revocation_in_sync"), 1);
    assert.equal(sample(text, "rampart_db_pool_max"), 10);
    assert.equal(typeof sample(text, "rampart_db_pool_connections", { state: "idle" }), "number");
    assert.equal(typeof sample(text, "rampart_db_pool_connections", { state: "active" }), "number");
    assert.equal(sample(text, "rampart_db_pool_waiting"), 0);
    assert.equal(sample(text, "rampart_ratelimit_store_available", { store: "redis" }), 1);
    assert.equal(sample(text, "rampart_ratelimit_fallback_total", { store: "redis" }), 0);
    const trips = sample(text, "rampart_ratelimit_store_round_trips_total", { store: "redis" }) ?? 0;
    const timed = sample(text, "rampart_ratelimit_store_seconds_count", { store: "redis" }) ?? 0;
    assert.ok(trips >= 3, `round trips ${trips}`);
    assert.equal(timed, trips, "every store call was timed, and each was one round trip");
  });
});
