/**
 * The audit log as the admin API exposes it: filters by type and time, bounded limits, and no secret
 * (password, access, refresh or API token) ever stored in an event. The events are produced here:
 * logins (good and bad), a refresh, API-token use, refused admin calls, admin changes.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { assertProblem } from "../../support/identity.ts";
import {
  addresses,
  type AuthzServer,
  caller,
  createUser,
  pointers,
  send,
  setRolesInStore,
  startServer,
  type TestUser,
} from "../../support/authz.ts";

interface AuditEvent {
  id: string;
  type: string;
  at: string;
  actor_id: string | null;
  subject: string | null;
  ip: string | null;
  request_id: string | null;
  details: Record<string, unknown>;
}

const ip = addresses(104);
let server: AuthzServer;
let admin: TestUser;
let user: TestUser;
/** Every secret this file handed the server; none may appear in an audit event. */
const secrets: string[] = [];
const startedAt = new Date(Date.now() - 1000).toISOString();

async function audit(query: string): Promise<AuditEvent[]> {
  const response = await caller(server.app, admin)("GET", `/admin/audit${query}`);
  assert.equal(response.statusCode, 200, response.body);
  return response.json() as AuditEvent[];
}

before(async () => {
  server = await startServer();
  admin = await createUser(server.app, "auditor-admin", ip());
  await setRolesInStore(server.dataDir, admin.id, ["admin"]);
  user = await createUser(server.app, "plain", ip());
  secrets.push(admin.password, admin.access_token, admin.refresh_token, user.password, user.access_token, user.refresh_token);

  const asUser = caller(server.app, user);
  // authz.denied ×2: route-level refusals.
  assertProblem(await asUser("GET", "/admin/users"), 403);
  assertProblem(await asUser("PUT", "/admin/roles/sneaky", { permissions: ["*"] }), 403);
  // A failed login with a wrong password that is itself secret-looking.
  const wrong = `${user.password} but wrong`;
  secrets.push(wrong);
  const failed = await server.app.inject({ method: "POST", url: "/auth/login", remoteAddress: user.ip, payload: { email: user.email, password: wrong } });
  assert.equal(failed.statusCode, 401);
  // A refresh (new pair) and an API token, created and used.
  const refreshed = await server.app.inject({ method: "POST", url: "/auth/refresh", remoteAddress: user.ip, payload: { refresh_token: user.refresh_token } });
  assert.equal(refreshed.statusCode, 200, refreshed.body);
  const pair = refreshed.json() as { access_token: string; refresh_token: string };
  secrets.push(pair.access_token, pair.refresh_token);
  const minted = await asUser("POST", "/auth/tokens", { name: "audit me", scopes: ["notes:read"] });
  assert.equal(minted.statusCode, 201, minted.body);
  const apiToken = (minted.json() as { token: string }).token;
  secrets.push(apiToken);
  assert.equal((await send(server.app, user.ip, apiToken, "GET", "/api/notes")).statusCode, 200);
  assertProblem(await send(server.app, user.ip, apiToken, "POST", "/api/notes", { title: "scope refused" }), 403);
  // admin.user.updated ×2.
  const asAdmin = caller(server.app, admin);
  assert.equal((await asAdmin("PATCH", `/admin/users/${user.id}`, { roles: ["user"] })).statusCode, 200);
  // Events are ordered by a millisecond timestamp: keep the two apart so "newest first" is well defined.
  await new Promise((resolve) => setTimeout(resolve, 5));
  assert.equal((await asAdmin("PATCH", `/admin/users/${user.id}`, { disabled: false })).statusCode, 200);
  // admin.role.updated ×1.
  assert.equal((await asAdmin("PUT", "/admin/roles/reviewer", { permissions: ["notes:read"] })).statusCode, 200);
});

after(async () => {
  await server.close();
});

describe("GET /admin/audit", () => {
  it("?type=authz.denied returns only events of that type, the refusals made here among them", async () => {
    const events = await audit("?type=authz.denied");
    assert.ok(events.length >= 2, JSON.stringify(events));
    assert.ok(events.every((e) => e.type === "authz.denied"));
    assert.ok(events.every((e) => e.actor_id === user.id), "the refused caller is the actor");
    const routes = events.map((e) => e.details.route);
    assert.ok(routes.includes("GET /admin/users"), JSON.stringify(routes));
    assert.ok(routes.includes("PUT /admin/roles/:name"), JSON.stringify(routes));
    assert.ok(events.every((e) => e.ip === user.ip), "the client address is recorded");
  });

  it("?type=admin.user.updated&limit=1 returns exactly one event, the newest", async () => {
    const all = await audit("?type=admin.user.updated");
    assert.equal(all.length, 2);
    const one = await audit("?type=admin.user.updated&limit=1");
    assert.equal(one.length, 1);
    assert.equal(one[0]?.type, "admin.user.updated");
    assert.equal(one[0]?.actor_id, admin.id);
    assert.equal(one[0]?.subject, user.id);
    assert.deepEqual(one[0]?.details, { disabled: false }, "newest first");
  });

  it("?since= filters by time", async () => {
    assert.ok((await audit(`?since=${encodeURIComponent(startedAt)}`)).length > 0);
    const future = new Date(Date.now() + 3_600_000).toISOString();
    assert.deepEqual(await audit(`?since=${encodeURIComponent(future)}`), []);
  });

  it("?until= keeps events before an instant, and ?offset= pages newest first without gaps or repeats", async () => {
    const all = await audit("?limit=500");
    assert.ok(all.length >= 6, `${all.length} events`);
    const pages: AuditEvent[] = [];
    for (let offset = 0; offset < all.length; offset += 2) pages.push(...(await audit(`?limit=2&offset=${offset}`)));
    assert.deepEqual(
      pages.map((e) => e.id),
      all.map((e) => e.id),
      "the pages, concatenated, are the whole log in the same order",
    );
    const pivot = all[Math.floor(all.length / 2)]!;
    const older = await audit(`?until=${encodeURIComponent(pivot.at)}&limit=500`);
    assert.ok(older.length > 0 && older.length < all.length, `${older.length} of ${all.length}`);
    assert.ok(older.every((e) => e.at < pivot.at), "only events strictly before `until`");
    assert.deepEqual(await audit(`?until=${encodeURIComponent(startedAt)}`), [], "nothing before the test began");
  });

  it("?limit=0, ?limit=501, ?since=not-a-date and unknown parameters are 400 with their pointer", async () => {
    const asAdmin = caller(server.app, admin);
    for (const [query, pointer] of [
      ["?limit=0", "/query/limit"],
      ["?limit=501", "/query/limit"],
      ["?since=not-a-date", "/query/since"],
      ["?until=yesterday", "/query/until"],
      ["?offset=-1", "/query/offset"],
      ["?actor=someone", "/query/actor"],
    ] as const) {
      const response = await asAdmin("GET", `/admin/audit${query}`);
      assertProblem(response, 400, query);
      assert.deepEqual(pointers(response), [pointer], `${query}: ${response.body}`);
    }
  });

  it("no event contains a password, an access token, a refresh token or an API token", async () => {
    const events = await audit("?limit=500");
    const types = new Set(events.map((e) => e.type));
    for (const type of ["authz.denied", "admin.user.updated", "admin.role.updated", "login.success", "login.failure", "token.created"]) {
      assert.ok(types.has(type), `the log holds ${type} events: ${[...types].join(", ")}`);
    }
    const text = JSON.stringify(events);
    for (const secret of secrets) {
      assert.ok(!text.includes(secret), `a secret of length ${secret.length} appears in the audit log`);
      // Also no recognisable part of it (a JWT's signature, a token's random tail).
      const tail = secret.slice(-16);
      assert.ok(!text.includes(tail), "the tail of a secret appears in the audit log");
    }
  });
});
