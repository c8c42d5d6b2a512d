/**
 * The real server on PostgreSQL and Redis ("many machines" mode), over HTTP: the storage and shared
 * state the contract switches to with DATABASE_URL and REDIS_URL. Runs in a schema of its own.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { base32Decode, totp } from "../../src/core/mfa/totp.ts";
import { createRepositories, openDatabase } from "../../src/store/index.ts";
import { createSoftwareAuthenticator } from "../support/software-authenticator.ts";
import { startServer, type ServerProcess } from "../support/server-process.ts";
import { postgresUrl, redisUrl, serviceSkip } from "../support/services.ts";

const skip = (await serviceSkip("postgres")) || (await serviceSkip("redis"));
const schema = `rampart_e2e_${randomUUID().replaceAll("-", "")}`;
const json = { "content-type": "application/json" };

const password = "correct horse battery staple";

async function register(base: string, email: string): Promise<string> {
  const registered = await fetch(`${base}/auth/register`, { method: "POST", headers: json, body: JSON.stringify({ email, password }) });
  assert.equal(registered.status, 201);
  return ((await registered.json()) as { id: string }).id;
}

async function login(base: string, email: string) {
  const response = await fetch(`${base}/auth/login`, { method: "POST", headers: json, body: JSON.stringify({ email, password }) });
  assert.equal(response.status, 200);
  return (await response.json()) as { access_token?: string; refresh_token?: string; mfa_required?: boolean; mfa_token?: string };
}

describe("the real server on PostgreSQL and Redis", { skip }, () => {
  let server: ServerProcess;
  let databaseUrl = "";
  before(async () => {
    const admin = await openDatabase({ databaseUrl: postgresUrl(), dataDir: tmpdir() });
    await admin.db.schema.createSchema(schema).execute();
    await admin.close();
    const url = new URL(postgresUrl());
    url.searchParams.set("options", `-c search_path=${schema}`);
    databaseUrl = url.toString();
    // Route limits live in the shared Redis and are keyed by 127.0.0.1 for every suite: not under test here.
    const dataDir = mkdtempSync(join(tmpdir(), "rampart-e2e-pg-"));
    const config = join(dataDir, "rampart.json");
    writeFileSync(config, JSON.stringify({ rateLimit: { register: ["1000/minute"], login: ["1000/minute"] } }));
    server = await startServer({
      RAMPART_CONFIG: config,
      DATABASE_URL: url.toString(),
      REDIS_URL: redisUrl(),
      RAMPART_DATA_DIR: dataDir,
    });
  });
  after(async () => {
    await server?.stop();
    const admin = await openDatabase({ databaseUrl: postgresUrl(), dataDir: tmpdir() });
    await admin.db.schema.dropSchema(schema).ifExists().cascade().execute();
    await admin.close();
  });

  it("reports PostgreSQL and Redis, and both ready", async () => {
    assert.match(server.output(), /storage: PostgreSQL/);
    assert.match(server.output(), /shared state: Redis/);
    const ready = await fetch(`${server.url}/readyz`);
    assert.equal(ready.status, 200);
    assert.deepEqual((await ready.json()).checks, { storage: "ok", redis: "ok" });
  });

  it("registers, logs in, writes a note, and logs out for good", async () => {
    const credentials = { email: `pg-${randomUUID()}@example.com`, password: "correct horse battery staple" };
    const registered = await fetch(`${server.url}/auth/register`, { method: "POST", headers: json, body: JSON.stringify(credentials) });
    assert.equal(registered.status, 201);
    const login = await fetch(`${server.url}/auth/login`, { method: "POST", headers: json, body: JSON.stringify(credentials) });
    assert.equal(login.status, 200);
    const { access_token, refresh_token } = await login.json();
    const auth = { authorization: `Bearer ${access_token}` };
    const note = await fetch(`${server.url}/api/notes`, { method: "POST", headers: { ...json, ...auth }, body: JSON.stringify({ title: "on postgres" }) });
    assert.equal(note.status, 201);
    const list = await (await fetch(`${server.url}/api/notes`, { headers: auth })).json();
    assert.deepEqual(list.items.map((n: { title: string }) => n.title), ["on postgres"]);
    assert.match(String((await fetch(`${server.url}/auth/me`, { headers: auth })).headers.get("ratelimit-policy")), /"user"/);
    assert.equal((await fetch(`${server.url}/auth/logout`, { method: "POST", headers: auth })).status, 204);
    assert.equal((await fetch(`${server.url}/auth/me`, { headers: auth })).status, 401);
    const refreshed = await fetch(`${server.url}/auth/refresh`, { method: "POST", headers: json, body: JSON.stringify({ refresh_token }) });
    assert.equal(refreshed.status, 401);
  });

  it("second factors on PostgreSQL: TOTP enrolment, the password alone gives no token, the code does, once", async () => {
    const email = `pg-totp-${randomUUID()}@example.com`;
    await register(server.url, email);
    const { access_token } = await login(server.url, email);
    const auth = { ...json, authorization: `Bearer ${access_token}` };
    const enrol = await fetch(`${server.url}/auth/mfa/totp`, { method: "POST", headers: auth });
    assert.equal(enrol.status, 201);
    const secret = base32Decode(((await enrol.json()) as { secret: string }).secret);
    const confirm = await fetch(`${server.url}/auth/mfa/totp/confirm`, { method: "POST", headers: auth, body: JSON.stringify({ code: totp(secret, Date.now()) }) });
    assert.equal(confirm.status, 200);
    assert.equal(((await confirm.json()) as { recovery_codes: string[] }).recovery_codes.length, 10);
    // The confirming code is spent; the next step's code logs in (one step of drift is accepted).
    const step = await login(server.url, email);
    assert.equal(step.mfa_required, true);
    assert.equal(step.access_token, undefined);
    const code = totp(secret, Date.now() + 30_000);
    const verify = () => fetch(`${server.url}/auth/mfa/verify`, { method: "POST", headers: json, body: JSON.stringify({ mfa_token: step.mfa_token, code }) });
    const first = await verify();
    assert.equal(first.status, 200);
    assert.ok(((await first.json()) as { access_token: string }).access_token);
    assert.equal((await verify()).status, 401, "the mfa_token is single-use");
  });

  it("passkeys on PostgreSQL: register with a software authenticator, then log in with it", async () => {
    const email = `pg-passkey-${randomUUID()}@example.com`;
    await register(server.url, email);
    const { access_token } = await login(server.url, email);
    const auth = { ...json, authorization: `Bearer ${access_token}` };
    const key = createSoftwareAuthenticator();
    const options = await (await fetch(`${server.url}/auth/webauthn/register/options`, { method: "POST", headers: auth, body: "{}" })).json();
    const registered = await fetch(`${server.url}/auth/webauthn/register/verify`, { method: "POST", headers: auth, body: JSON.stringify({ ...key.register(options), name: "pg" }) });
    assert.equal(registered.status, 201, await registered.clone().text());
    const loginOptions = await (await fetch(`${server.url}/auth/webauthn/login/options`, { method: "POST", headers: json, body: "{}" })).json();
    const passkeyLogin = await fetch(`${server.url}/auth/webauthn/login/verify`, { method: "POST", headers: json, body: JSON.stringify(key.assert(loginOptions)) });
    assert.equal(passkeyLogin.status, 200, await passkeyLogin.clone().text());
    assert.ok(((await passkeyLogin.json()) as { refresh_token: string }).refresh_token);
  });

  it("service clients on PostgreSQL and Redis: client_credentials token, introspection, deletion kills it at once", async () => {
    const email = `pg-admin-${randomUUID()}@example.com`;
    const id = await register(server.url, email);
    const store = await openDatabase({ databaseUrl, dataDir: tmpdir() });
    await createRepositories(store.db).users.setRoles(id, ["admin"]);
    await store.close();
    const admin = { ...json, authorization: `Bearer ${(await login(server.url, email)).access_token}` };
    const created = await fetch(`${server.url}/admin/clients`, { method: "POST", headers: admin, body: JSON.stringify({ name: "reports", scopes: ["notes:read"] }) });
    assert.equal(created.status, 201);
    const { client_id, client_secret } = (await created.json()) as { client_id: string; client_secret: string };
    const basic = { authorization: `Basic ${Buffer.from(`${encodeURIComponent(client_id)}:${encodeURIComponent(client_secret)}`).toString("base64")}` };
    const form = { "content-type": "application/x-www-form-urlencoded" };
    const issued = await fetch(`${server.url}/oauth/token`, { method: "POST", headers: { ...form, ...basic }, body: "grant_type=client_credentials" });
    assert.equal(issued.status, 200);
    const { access_token } = (await issued.json()) as { access_token: string };
    assert.equal((await fetch(`${server.url}/api/notes`, { headers: { authorization: `Bearer ${access_token}` } })).status, 200);
    const introspect = async () =>
      (await (await fetch(`${server.url}/oauth/introspect`, { method: "POST", headers: { ...form, ...basic }, body: `token=${access_token}` })).json()) as { active: boolean };
    assert.equal((await introspect()).active, true);
    assert.equal((await fetch(`${server.url}/admin/clients/${client_id}`, { method: "DELETE", headers: { authorization: admin.authorization } })).status, 204);
    assert.equal((await fetch(`${server.url}/api/notes`, { headers: { authorization: `Bearer ${access_token}` } })).status, 401);
  });
});
