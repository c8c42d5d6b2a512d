/**
 * The real `rampart serve` on a PostgreSQL server of the suite's own, which is stopped and started
 * under it: writes fail fast with 503 problem+json, /readyz names the store, the process survives, and
 * service resumes by itself without losing what was written before. Also: the last-admin check is
 * atomic against concurrent demotions on PostgreSQL.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createRepositories, type DatabaseHandle, openDatabase, type User } from "../../src/store/index.ts";
import { type PostgresCluster, postgresClusterSkip, startPostgresCluster } from "../support/postgres-cluster.ts";
import { type ServerProcess, startServer } from "../support/server-process.ts";

const skip = postgresClusterSkip();
const json = { "content-type": "application/json" };
const password = "correct horse battery staple";

describe("PostgreSQL outage under a running server", { skip, timeout: 90_000 }, () => {
  let cluster: PostgresCluster;
  let server: ServerProcess;
  let dataDir = "";

  const call = (path: string, init: { method?: string; token?: string; body?: unknown } = {}) =>
    fetch(`${server.url}${path}`, {
      method: init.method ?? "GET",
      headers: { ...(init.body !== undefined ? json : {}), ...(init.token ? { authorization: `Bearer ${init.token}` } : {}) },
      ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
      signal: AbortSignal.timeout(10_000),
    });

  async function register(email: string): Promise<void> {
    const response = await call("/auth/register", { method: "POST", body: { email, password } });
    assert.equal(response.status, 201, await response.text());
  }

  async function login(email: string): Promise<string> {
    const response = await call("/auth/login", { method: "POST", body: { email, password } });
    const text = await response.text();
    assert.equal(response.status, 200, text);
    return (JSON.parse(text) as { access_token: string }).access_token;
  }

  async function timed<T>(work: () => Promise<T>): Promise<[T, number]> {
    const started = performance.now();
    const result = await work();
    return [result, Math.round(performance.now() - started)];
  }

  async function assertStoreUnavailable(response: Response, ms: number, what: string): Promise<void> {
    const text = await response.text();
    console.log(`${what}: ${response.status} in ${ms} ms`);
    assert.equal(response.status, 503, text);
    assert.ok(ms < 2000, `${what} took ${ms} ms`);
    assert.match(response.headers.get("content-type") ?? "", /^application\/problem\+json/);
    assert.ok(Number(response.headers.get("retry-after")) > 0, "Retry-After");
    const body = JSON.parse(text) as { status: number; type: string };
    assert.equal(body.status, 503);
    assert.equal(body.type, "https://rampart.dev/problems/store-unavailable");
    // No driver text or address reaches the client.
    assert.doesNotMatch(text, /ECONNREFUSED|127\.0\.0\.1|postgres|terminat|57P01/i);
  }

  before(async () => {
    cluster = await startPostgresCluster();
    dataDir = mkdtempSync(join(tmpdir(), "rampart-outage-"));
    const config = join(dataDir, "rampart.json");
    writeFileSync(config, JSON.stringify({ rateLimit: { register: ["10000/minute"], login: ["10000/minute"] } }));
    server = await startServer({ RAMPART_CONFIG: config, DATABASE_URL: cluster.url, RAMPART_DATA_DIR: dataDir });
  });

  after(async () => {
    await server?.stop();
    await cluster?.destroy();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it("answers writes with 503 within 2 s, names storage in /readyz, survives, and resumes by itself", async () => {
    const users = await Promise.all(
      [0, 1, 2].map(async (i) => {
        const email = `outage-${i}-${randomUUID()}@example.com`;
        await register(email);
        const token = await login(email);
        const titles: string[] = [];
        for (let n = 0; n < 3; n++) {
          const title = `note ${i}.${n}`;
          const created = await call("/api/notes", { method: "POST", token, body: { title, body: "kept" } });
          assert.equal(created.status, 201, await created.text());
          titles.push(title);
        }
        return { email, token, titles };
      }),
    );
    const [first] = users;
    assert.ok(first);

    await cluster.stop();

    const [note, noteMs] = await timed(() => call("/api/notes", { method: "POST", token: first.token, body: { title: "during" } }));
    await assertStoreUnavailable(note, noteMs, "POST /api/notes while PostgreSQL is down");
    const [registration, registrationMs] = await timed(() =>
      call("/auth/register", { method: "POST", body: { email: `down-${randomUUID()}@example.com`, password } }),
    );
    await assertStoreUnavailable(registration, registrationMs, "POST /auth/register while PostgreSQL is down");

    // A read with an already issued access token: the token still authenticates (signing keys, revocations
    // and the user's state are in memory, so no 401), but the notes are in the database: 503 as well.
    const [read, readMs] = await timed(() => call("/api/notes", { token: first.token }));
    console.log(`GET /api/notes with a cached token while down: ${read.status} in ${readMs} ms`);
    assert.notEqual(read.status, 401, "an issued token still authenticates");
    assert.ok([200, 503].includes(read.status), String(read.status));
    await read.body?.cancel();

    const [ready, readyMs] = await timed(() => call("/readyz"));
    console.log(`/readyz while down: ${ready.status} in ${readyMs} ms`);
    assert.equal(ready.status, 503);
    assert.ok(readyMs < 2000, `/readyz took ${readyMs} ms`);
    assert.equal(((await ready.json()) as { checks: Record<string, string> }).checks.storage, "unavailable");
    assert.equal(server.child.exitCode, null, "the server is still running");
    assert.equal((await call("/healthz")).status, 200);

    await cluster.start();
    const restarted = performance.now();
    let recoveredMs = -1;
    while (performance.now() - restarted < 15_000) {
      const response = await call("/api/notes", { method: "POST", token: first.token, body: { title: "after" } });
      await response.body?.cancel();
      if (response.status === 201) {
        recoveredMs = Math.round(performance.now() - restarted);
        break;
      }
      assert.equal(response.status, 503);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    console.log(`writes succeed again ${recoveredMs} ms after PostgreSQL started`);
    assert.ok(recoveredMs >= 0, "writes did not recover within 15 s");
    assert.equal((await call("/readyz")).status, 200);

    for (const user of users) {
      const token = await login(user.email);
      const listed = await call("/api/notes?limit=100", { token });
      assert.equal(listed.status, 200);
      const titles = ((await listed.json()) as { items: { title: string }[] }).items.map((n) => n.title);
      for (const title of user.titles) assert.ok(titles.includes(title), `${title} survived`);
      assert.ok(!titles.includes("during"), "nothing was written during the outage");
    }
    assert.equal(server.child.exitCode, null);
  });

  it("keeps at least one admin when two admins are demoted concurrently (20 rounds)", async () => {
    let store: DatabaseHandle | undefined;
    try {
      store = await openDatabase({ databaseUrl: cluster.url, dataDir });
      const repos = createRepositories(store.db);
      // Every account shares one password: reuse the hash the server made for a registered user.
      const template = `template-${randomUUID()}@example.com`;
      await register(template);
      const passwordHash = (await repos.users.findByEmail(template))?.passwordHash;
      assert.ok(passwordHash);
      // Start from no admin at all, so each round's pair are the only two.
      for (const user of await repos.users.list({ limit: 500 })) {
        if (user.roles.includes("admin")) await repos.users.setRoles(user.id, ["user"]);
      }
      let refusals = 0;
      for (let round = 0; round < 20; round++) {
        const [a, b]: (User | undefined)[] = await Promise.all(
          ["a", "b"].map((name) => repos.users.create({ email: `admin-${name}-${randomUUID()}@example.com`, passwordHash, roles: ["admin"] })),
        );
        assert.ok(a && b);
        const token = await login(a.email);
        const responses: Response[] = await Promise.all(
          [a, b].map((target) => call(`/admin/users/${target.id}`, { method: "PATCH", token, body: { roles: ["user"] } })),
        );
        const statuses: number[] = responses.map((r) => r.status);
        await Promise.all(responses.map((r) => r.body?.cancel()));
        assert.equal(await repos.users.countAdmins(), 1, `round ${round}: ${statuses.join(",")}`);
        // The loser gets 409 (last admin), or 403 when A's own demotion won and A lost the permission.
        assert.ok(statuses.filter((s) => s === 200).length === 1, `round ${round}: ${statuses.join(",")}`);
        if (statuses.includes(409)) refusals++;
        // Retire this round's remaining admin so the next pair are again the only two.
        for (const user of [a, b]) await repos.users.setRoles(user.id, ["user"]);
      }
      console.log(`rounds refused with 409 (the rest with 403 after A lost admin first): ${refusals}/20`);
    } finally {
      await store?.close();
    }
  });
});
