/**
 * Two instances sharing one database and one Redis: a revocation or an admin change made on one is
 * honoured by the other at once, though neither asks Redis on the hot path.
 */
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import pino from "pino";
import { loadConfig } from "../../../src/config/load.ts";
import { composeServer, type RampartServer } from "../../../src/server/compose.ts";
import { createRepositories, openDatabase } from "../../../src/store/index.ts";
import { redisUrl, serviceSkip } from "../../support/services.ts";

const skip = await serviceSkip("redis");
const json = { "content-type": "application/json" };
const password = "a long enough passphrase for tests";

describe("instances sharing Redis", { skip }, () => {
  const dataDir = mkdtempSync(join(tmpdir(), "rampart-cluster-"));
  let a: RampartServer;
  let b: RampartServer;
  before(async () => {
    const config = () => loadConfig({ env: { RAMPART_DATA_DIR: dataDir, REDIS_URL: redisUrl() } });
    a = await composeServer(config(), pino({ level: "silent" }));
    b = await composeServer(config(), pino({ level: "silent" }));
  });
  after(async () => {
    await a?.close();
    await b?.close();
  });

  async function login(email: string, ip: string) {
    const registered = await a.app.inject({ method: "POST", url: "/auth/register", headers: json, remoteAddress: ip, payload: { email, password } });
    const res = await a.app.inject({ method: "POST", url: "/auth/login", headers: json, remoteAddress: ip, payload: { email, password } });
    assert.equal(res.statusCode, 200);
    return { ...(res.json() as { access_token: string }), id: registered.json().id as string };
  }

  /** Pub/sub is asynchronous: poll briefly for the other instance to apply the event. */
  async function eventually(check: () => Promise<boolean>) {
    for (let i = 0; i < 50; i++) {
      if (await check()) return true;
      await sleep(20);
    }
    return false;
  }

  it("a token logged out on one instance is refused by the other", async () => {
    const { access_token } = await login(`logout-${Date.now()}@example.com`, "192.0.2.10");
    const auth = { authorization: `Bearer ${access_token}` };
    assert.equal((await b.app.inject({ method: "GET", url: "/auth/me", headers: auth })).statusCode, 200, "b has now cached the verified token");
    assert.equal((await a.app.inject({ method: "POST", url: "/auth/logout", headers: auth })).statusCode, 204);
    assert.ok(await eventually(async () => (await b.app.inject({ method: "GET", url: "/auth/me", headers: auth })).statusCode === 401));
  });

  it("a user disabled through one instance is locked out of the other", async () => {
    const admin = await login(`admin-${Date.now()}@example.com`, "192.0.2.11");
    const victim = await login(`victim-${Date.now()}@example.com`, "192.0.2.12");
    // Promote behind the servers' backs, before either has loaded the admin's state.
    const database = await openDatabase({ dataDir });
    await createRepositories(database.db).users.setRoles(admin.id, ["admin"]);
    await database.close();
    const victimAuth = { authorization: `Bearer ${victim.access_token}` };
    assert.equal((await b.app.inject({ method: "GET", url: "/auth/me", headers: victimAuth })).statusCode, 200, "b has cached the victim's state");
    const victimId = victim.id;
    const res = await a.app.inject({
      method: "PATCH",
      url: `/admin/users/${victimId}`,
      headers: { ...json, authorization: `Bearer ${admin.access_token}` },
      payload: { disabled: true },
    });
    assert.equal(res.statusCode, 200, res.body);
    assert.ok(await eventually(async () => (await b.app.inject({ method: "GET", url: "/auth/me", headers: victimAuth })).statusCode === 401));
  });
});
