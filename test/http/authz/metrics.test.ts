import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { addresses, type AuthzServer, createUser, send, setRolesInStore, startServer } from "../../support/authz.ts";

const ip = addresses(41);

describe("GET /metrics", () => {
  let s: AuthzServer;
  before(async () => {
    s = await startServer();
  });
  after(async () => {
    await s.close();
  });

  it("needs metrics:read: anonymous 401, a plain user 403", async () => {
    const user = await createUser(s.app, "plain", ip());
    assert.equal((await send(s.app, ip(), undefined, "GET", "/metrics")).statusCode, 401);
    const res = await send(s.app, user.ip, user.access_token, "GET", "/metrics");
    assert.equal(res.statusCode, 403);
    assert.doesNotMatch(res.body, /rampart_http_requests_total/);
  });

  it("serves Prometheus text to a holder of metrics:read, counting requests and refusals", async () => {
    const user = await createUser(s.app, "ops", ip());
    // The role is created through the store: an `ops` role with only metrics:read.
    const { openDatabase, createRepositories } = await import("../../../src/store/index.ts");
    const database = await openDatabase({ dataDir: s.dataDir });
    await createRepositories(database.db).roles.upsert("ops", ["metrics:read"]);
    await database.close();
    const admin = await createUser(s.app, "admin", ip());
    await setRolesInStore(s.dataDir, admin.id, ["admin"]);
    // Let the running server learn the new role, as an admin change through the API would.
    await send(s.app, admin.ip, admin.access_token, "PUT", "/admin/roles/ops", { permissions: ["metrics:read"] });
    await send(s.app, admin.ip, admin.access_token, "PATCH", `/admin/users/${user.id}`, { roles: ["ops"] });
    const res = await send(s.app, user.ip, user.access_token, "GET", "/metrics");
    assert.equal(res.statusCode, 200, res.body);
    assert.match(String(res.headers["content-type"]), /^text\/plain/);
    assert.match(res.body, /rampart_http_requests_total\{method="PATCH",route="\/admin\/users\/:id",status="200"\} 1/);
    assert.match(res.body, /rampart_security_refusals_total\{status="403"\}/);
    assert.match(res.body, /rampart_process_cpu_user_seconds_total/);
  });
});
