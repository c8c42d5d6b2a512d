/**
 * The real server on PostgreSQL and Redis ("many machines" mode), over HTTP: the storage and shared
 * state the contract switches to with DATABASE_URL and REDIS_URL. Runs in a schema of its own.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { openDatabase } from "../../src/store/index.ts";
import { startServer, type ServerProcess } from "../support/server-process.ts";
import { postgresUrl, redisUrl, serviceSkip } from "../support/services.ts";

const skip = (await serviceSkip("postgres")) || (await serviceSkip("redis"));
const schema = `rampart_e2e_${randomUUID().replaceAll("-", "")}`;
const json = { "content-type": "application/json" };

describe("the real server on PostgreSQL and Redis", { skip }, () => {
  let server: ServerProcess;
  before(async () => {
    const admin = await openDatabase({ databaseUrl: postgresUrl(), dataDir: tmpdir() });
    await admin.db.schema.createSchema(schema).execute();
    await admin.close();
    const url = new URL(postgresUrl());
    url.searchParams.set("options", `-c search_path=${schema}`);
    server = await startServer({
      DATABASE_URL: url.toString(),
      REDIS_URL: redisUrl(),
      RAMPART_DATA_DIR: mkdtempSync(join(tmpdir(), "rampart-e2e-pg-")),
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
});
