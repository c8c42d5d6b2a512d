/**
 * Two instances sharing a data dir and Redis: a service client deleted through A has its token refused
 * by B at once, though B had cached both the verified token and the client.
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
const password = "a long enough passphrase for tests";

describe("service clients across instances sharing Redis", { skip }, () => {
  const dataDir = mkdtempSync(join(tmpdir(), "rampart-oauth-cluster-"));
  let a: RampartServer;
  let b: RampartServer;
  before(async () => {
    const config = () => loadConfig({ env: { RAMPART_DATA_DIR: dataDir, REDIS_URL: redisUrl() }, overrides: { rateLimit: { enabled: false } } });
    a = await composeServer(config(), pino({ level: "silent" }));
    b = await composeServer(config(), pino({ level: "silent" }));
  });
  after(async () => {
    await a?.close();
    await b?.close();
  });

  it("deleting a client on A makes its token refused on B at once", async () => {
    const email = `oauth-admin-${Date.now()}@example.com`;
    const registered = await a.app.inject({ method: "POST", url: "/auth/register", remoteAddress: "192.0.2.40", payload: { email, password } });
    const database = await openDatabase({ dataDir });
    await createRepositories(database.db).users.setRoles(registered.json().id as string, ["admin"]);
    await database.close();
    const login = await a.app.inject({ method: "POST", url: "/auth/login", remoteAddress: "192.0.2.40", payload: { email, password } });
    const admin = { authorization: `Bearer ${login.json().access_token as string}` };
    const created = await a.app.inject({ method: "POST", url: "/admin/clients", headers: admin, payload: { name: "svc", scopes: ["notes:read"] } });
    assert.equal(created.statusCode, 201, created.body);
    const { client_id, client_secret } = created.json() as { client_id: string; client_secret: string };
    const issued = await a.app.inject({
      method: "POST",
      url: "/oauth/token",
      remoteAddress: "192.0.2.41",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      payload: new URLSearchParams({ grant_type: "client_credentials", client_id, client_secret }).toString(),
    });
    assert.equal(issued.statusCode, 200, issued.body);
    const auth = { authorization: `Bearer ${issued.json().access_token as string}` };
    assert.equal((await b.app.inject({ method: "GET", url: "/api/notes", headers: auth })).statusCode, 200, "B has cached the token and the client");
    assert.equal((await a.app.inject({ method: "DELETE", url: `/admin/clients/${client_id}`, headers: admin })).statusCode, 204);
    let refused = false;
    for (let i = 0; i < 50 && !refused; i++) {
      refused = (await b.app.inject({ method: "GET", url: "/api/notes", headers: auth })).statusCode === 401;
      if (!refused) await sleep(20);
    }
    assert.ok(refused, "B refuses the deleted client's token");
  });
});
