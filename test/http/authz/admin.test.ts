/**
 * Function-level authorization (the admin API), run-time roles (`notes:read:any`), role removal and
 * disabling taking effect on the very next request, and the last-admin guard. Every refused attack is
 * followed by a read-back (through the admin API) proving nothing changed.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { assertInvalidToken, assertProblem } from "../../support/identity.ts";
import {
  addresses,
  type AuthzServer,
  caller,
  createUser,
  pointers,
  send,
  setRolesInStore,
  stableProblem,
  startServer,
  type TestUser,
} from "../../support/authz.ts";

interface UserOut {
  id: string;
  email: string;
  roles: string[];
  disabled: boolean;
  created_at: string;
  updated_at: string;
}
interface RoleOut {
  name: string;
  permissions: string[];
  builtin: boolean;
}
interface NoteOut {
  id: string;
  owner_id: string;
  title: string;
  body: string;
}

const ip = addresses(102);
let server: AuthzServer;
let admin: TestUser;
let alice: TestUser;

before(async () => {
  server = await startServer();
  admin = await createUser(server.app, "admin", ip());
  // Behind the server's back, before the admin's first authenticated request (user state is cached).
  await setRolesInStore(server.dataDir, admin.id, ["admin"]);
  alice = await createUser(server.app, "alice", ip());
});

after(async () => {
  await server.close();
});

async function adminUser(id: string): Promise<UserOut> {
  const response = await caller(server.app, admin)("GET", "/admin/users?limit=500");
  assert.equal(response.statusCode, 200, response.body);
  const found = (response.json() as { items: UserOut[] }).items.find((u) => u.id === id);
  assert.ok(found, `user ${id} is listed`);
  return found;
}

async function adminRoles(): Promise<RoleOut[]> {
  const response = await caller(server.app, admin)("GET", "/admin/roles");
  assert.equal(response.statusCode, 200, response.body);
  return response.json() as RoleOut[];
}

async function patchUser(id: string, change: Record<string, unknown>) {
  return caller(server.app, admin)("PATCH", `/admin/users/${id}`, change);
}

describe("function-level authorization: the admin API", () => {
  const routes = (targetId: () => string) =>
    [
      ["GET", "/admin/users", undefined],
      ["PATCH", `/admin/users/${targetId()}`, { roles: ["admin"] }],
      ["GET", "/admin/roles", undefined],
      ["PUT", "/admin/roles/x", { permissions: ["*"] }],
      ["GET", "/admin/audit", undefined],
    ] as const;

  it("the admin can call every admin route (the positive control)", async () => {
    const asAdmin = caller(server.app, admin);
    assert.equal((await asAdmin("GET", "/admin/users")).statusCode, 200);
    assert.equal((await asAdmin("GET", "/admin/roles")).statusCode, 200);
    assert.equal((await asAdmin("GET", "/admin/audit")).statusCode, 200);
  });

  it("a `user` gets 403 problem+json on every admin route, and nothing changed", async () => {
    const attacker = await createUser(server.app, "mallory", ip());
    const rolesBefore = await adminRoles();
    for (const [method, url, payload] of routes(() => attacker.id)) {
      const response = await send(server.app, attacker.ip, attacker.access_token, method, url, payload);
      assertProblem(response, 403, `${method} ${url}`);
    }
    const self = await adminUser(attacker.id);
    assert.deepEqual(self.roles, ["user"], "the PATCH did not make mallory an admin");
    assert.equal(self.disabled, false);
    assert.deepEqual(await adminRoles(), rolesBefore, "the PUT did not create role x");
    assert.ok(!(await adminRoles()).some((r) => r.name === "x"));
    // And the refused PATCH did not take effect through a stale cache either.
    assertProblem(await send(server.app, attacker.ip, attacker.access_token, "GET", "/admin/users"), 403);
  });

  it("a `user` cannot escalate by patching someone else or themself to admin with every body shape", async () => {
    const attacker = await createUser(server.app, "eve", ip());
    for (const body of [{ roles: ["admin"] }, { roles: ["admin", "user"] }, { disabled: true }]) {
      for (const target of [attacker.id, admin.id]) {
        assertProblem(await send(server.app, attacker.ip, attacker.access_token, "PATCH", `/admin/users/${target}`, body), 403);
      }
    }
    assert.deepEqual((await adminUser(attacker.id)).roles, ["user"]);
    const adminState = await adminUser(admin.id);
    assert.deepEqual(adminState.roles, ["admin"]);
    assert.equal(adminState.disabled, false);
  });

  it("anonymous callers get 401 with WWW-Authenticate on every admin route", async () => {
    for (const [method, url, payload] of routes(() => alice.id)) {
      const response = await send(server.app, ip(), undefined, method, url, payload);
      assertProblem(response, 401, `${method} ${url}`);
      assert.match(String(response.headers["www-authenticate"]), /^Bearer\b/, `${method} ${url}`);
    }
    assert.deepEqual((await adminUser(alice.id)).roles, ["user"]);
  });

  it("the admin API validates its input: unknown role 400, unknown field 400, unknown user 404", async () => {
    const unknownRole = await patchUser(alice.id, { roles: ["no-such-role"] });
    assertProblem(unknownRole, 400);
    const unknownField = await patchUser(alice.id, { roles: ["user"], email: "evil@example.com" });
    assertProblem(unknownField, 400);
    assert.deepEqual(pointers(unknownField), ["/email"]);
    assertProblem(await patchUser("00000000-0000-4000-8000-000000000000", { disabled: true }), 404);
    const user = await adminUser(alice.id);
    assert.deepEqual(user.roles, ["user"]);
    assert.equal(user.email, alice.email);
  });
});

describe("GET /admin/users?q= (the console's search)", () => {
  const search = async (q: string) => {
    const response = await caller(server.app, admin)("GET", `/admin/users?limit=500&q=${encodeURIComponent(q)}`);
    assert.equal(response.statusCode, 200, response.body);
    return (response.json() as { items: UserOut[] }).items.map((u) => u.email);
  };

  it("finds users by a case-insensitive part of their email, and only them", async () => {
    const part = alice.email.slice(0, alice.email.indexOf("@"));
    assert.deepEqual(await search(part.toUpperCase()), [alice.email]);
    assert.ok((await search("@authz.example")).length >= 2, "the domain matches everyone created here");
    assert.deepEqual(await search("no-such-user-anywhere"), []);
  });

  it("treats LIKE wildcards and quotes in the search as text, not as patterns or SQL", async () => {
    for (const q of ["%", "_", "\\", "' OR '1'='1", "%@%"]) assert.deepEqual(await search(q), [], q);
  });

  it("an empty or over-long q is 400 naming /query/q", async () => {
    for (const q of ["", "x".repeat(255)]) {
      const response = await caller(server.app, admin)("GET", `/admin/users?q=${q}`);
      assertProblem(response, 400, `q of length ${q.length}`);
      assert.deepEqual(pointers(response), ["/query/q"]);
    }
  });
});

describe("run-time roles: notes:read:any", () => {
  let note: NoteOut;
  let carol: TestUser;

  before(async () => {
    const created = await caller(server.app, alice)("POST", "/api/notes", { title: "alice only", body: "private" });
    assert.equal(created.statusCode, 201, created.body);
    note = created.json() as NoteOut;
    carol = await createUser(server.app, "carol", ip());
  });

  it("before the role, carol gets 404 on alice's note", async () => {
    assertProblem(await caller(server.app, carol)("GET", `/api/notes/${note.id}`), 404);
  });

  it("an admin creates role auditor and gives it to carol, who then reads alice's note and sees it listed", async () => {
    const put = await caller(server.app, admin)("PUT", "/admin/roles/auditor", { permissions: ["notes:read", "notes:read:any"] });
    assert.equal(put.statusCode, 200, put.body);
    assert.deepEqual(put.json(), { name: "auditor", permissions: ["notes:read", "notes:read:any"], builtin: false, mfa: null });

    const patched = await patchUser(carol.id, { roles: ["user", "auditor"] });
    assert.equal(patched.statusCode, 200, patched.body);
    assert.deepEqual([...(patched.json() as UserOut).roles].sort(), ["auditor", "user"]);

    const asCarol = caller(server.app, carol);
    const read = await asCarol("GET", `/api/notes/${note.id}`);
    assert.equal(read.statusCode, 200, read.body);
    assert.equal((read.json() as NoteOut).owner_id, alice.id);
    const list = await asCarol("GET", "/api/notes?limit=100");
    assert.equal(list.statusCode, 200, list.body);
    assert.ok((list.json() as { items: NoteOut[] }).items.some((n) => n.id === note.id), "carol lists alice's note");
  });

  it("carol still cannot PATCH or DELETE it (404: notes:write:any is missing) and it is unchanged", async () => {
    const asCarol = caller(server.app, carol);
    assertProblem(await asCarol("PATCH", `/api/notes/${note.id}`, { title: "audited" }), 404);
    assertProblem(await asCarol("DELETE", `/api/notes/${note.id}`), 404);
    const back = await caller(server.app, alice)("GET", `/api/notes/${note.id}`);
    assert.equal(back.statusCode, 200, back.body);
    assert.deepEqual(back.json(), note);
  });

  it("a permission that is not one is 400 naming /permissions/<index>, and the role is unchanged", async () => {
    const before = await adminRoles();
    const response = await caller(server.app, admin)("PUT", "/admin/roles/auditor", { permissions: ["not a permission"] });
    assertProblem(response, 400);
    assert.deepEqual(pointers(response), ["/permissions/0"]);
    const second = await caller(server.app, admin)("PUT", "/admin/roles/auditor", { permissions: ["notes:read", "notes::read"] });
    assertProblem(second, 400);
    assert.deepEqual(pointers(second), ["/permissions/1"]);
    assert.deepEqual(await adminRoles(), before);
  });

  it("PUT /admin/roles/admin is 409 and admin keeps `*`", async () => {
    const response = await caller(server.app, admin)("PUT", "/admin/roles/admin", { permissions: ["notes:read"] });
    assertProblem(response, 409);
    const adminRole = (await adminRoles()).find((r) => r.name === "admin");
    assert.deepEqual(adminRole?.permissions, ["*"]);
    assert.equal((await caller(server.app, admin)("GET", "/admin/audit?limit=1")).statusCode, 200, "the admin is still an admin");
  });

  it("narrowing the role's permissions takes effect on carol's next request", async () => {
    const narrowed = await caller(server.app, admin)("PUT", "/admin/roles/auditor", { permissions: ["notes:read"] });
    assert.equal(narrowed.statusCode, 200, narrowed.body);
    assertProblem(await caller(server.app, carol)("GET", `/api/notes/${note.id}`), 404);
    const list = await caller(server.app, carol)("GET", "/api/notes?limit=100");
    assert.ok((list.json() as { items: NoteOut[] }).items.every((n) => n.owner_id === carol.id));
    const restored = await caller(server.app, admin)("PUT", "/admin/roles/auditor", { permissions: ["notes:read", "notes:read:any"] });
    assert.equal(restored.statusCode, 200, restored.body);
    assert.equal((await caller(server.app, carol)("GET", `/api/notes/${note.id}`)).statusCode, 200);
  });

  it("removing the role again takes carol's reach away on her next request", async () => {
    assert.equal((await patchUser(carol.id, { roles: ["user"] })).statusCode, 200);
    assertProblem(await caller(server.app, carol)("GET", `/api/notes/${note.id}`), 404);
  });
});

describe("run-time roles: `:any` alone", () => {
  it(
    "a role granting only notes:read:any reads anyone's note (CONTRACT: owner or notes:read:any; can.ts: `:any` is a superset of own)",
    async () => {
      const created = await caller(server.app, alice)("POST", "/api/notes", { title: "for the any-reader" });
      assert.equal(created.statusCode, 201, created.body);
      const note = created.json() as NoteOut;
      const asAdmin = caller(server.app, admin);
      assert.equal((await asAdmin("PUT", "/admin/roles/any-reader", { permissions: ["notes:read:any"] })).statusCode, 200);
      assert.equal((await asAdmin("PUT", "/admin/roles/any-writer", { permissions: ["notes:write:any"] })).statusCode, 200);
      const frank = await createUser(server.app, "frank", ip());
      assert.equal((await patchUser(frank.id, { roles: ["any-reader", "any-writer"] })).statusCode, 200);
      const asFrank = caller(server.app, frank);
      const read = await asFrank("GET", `/api/notes/${note.id}`);
      assert.equal(read.statusCode, 200, read.body);
      const list = await asFrank("GET", "/api/notes?limit=100");
      assert.equal(list.statusCode, 200, list.body);
      const patched = await asFrank("PATCH", `/api/notes/${note.id}`, { title: "moderated" });
      assert.equal(patched.statusCode, 200, patched.body);
    },
  );
});

describe("role removal takes effect on the next request with the same access token", () => {
  it("dave's roles set to [] → his very next POST /api/notes with the same token is 403", async () => {
    // Roles are read from the user's current state on every request (the server's user-state cache,
    // dropped when an admin changes the user), never from the access token's `roles` claim: the token
    // dave holds still says roles=["user"], and that must not matter. No re-login happens here.
    const dave = await createUser(server.app, "dave", ip());
    const asDave = caller(server.app, dave);
    const first = await asDave("POST", "/api/notes", { title: "before demotion" });
    assert.equal(first.statusCode, 201, first.body);

    const patched = await patchUser(dave.id, { roles: [] });
    assert.equal(patched.statusCode, 200, patched.body);
    assert.deepEqual((patched.json() as UserOut).roles, []);

    assertProblem(await asDave("POST", "/api/notes", { title: "after demotion" }), 403);
    assertProblem(await asDave("GET", "/api/notes"), 403);
    const me = await asDave("GET", "/auth/me");
    assert.equal(me.statusCode, 200, "the token itself still authenticates: 403, not 401");
    assert.deepEqual((me.json() as { roles: string[]; permissions: string[] }).roles, []);
    assert.deepEqual((me.json() as { permissions: string[] }).permissions, []);

    const all = await caller(server.app, admin)("GET", "/api/notes?limit=100");
    assert.equal(all.statusCode, 200, all.body);
    const titles = (all.json() as { items: NoteOut[] }).items.filter((n) => n.owner_id === dave.id).map((n) => n.title);
    assert.deepEqual(titles, ["before demotion"], "the refused POST created nothing");
  });
});

describe("disabling a user", () => {
  it("ends the access token, API token and refresh token at once (401 ×3), and login then fails like a wrong password", async () => {
    const erin = await createUser(server.app, "erin", ip());
    const asErin = caller(server.app, erin);
    const created = await asErin("POST", "/auth/tokens", { name: "ci", scopes: ["notes:read"] });
    assert.equal(created.statusCode, 201, created.body);
    const apiToken = (created.json() as { token: string }).token;
    assert.equal((await send(server.app, erin.ip, apiToken, "GET", "/api/notes")).statusCode, 200, "API token works before");
    // Rotate once so the refresh token presented after disabling is a live (unspent) one.
    const rotated = await server.app.inject({ method: "POST", url: "/auth/refresh", remoteAddress: erin.ip, payload: { refresh_token: erin.refresh_token } });
    assert.equal(rotated.statusCode, 200, rotated.body);
    const live = rotated.json() as { access_token: string; refresh_token: string };
    assert.equal((await send(server.app, erin.ip, live.access_token, "GET", "/api/notes")).statusCode, 200, "access token works before");

    const patched = await patchUser(erin.id, { disabled: true });
    assert.equal(patched.statusCode, 200, patched.body);
    assert.equal((patched.json() as UserOut).disabled, true);

    assertInvalidToken(await send(server.app, erin.ip, live.access_token, "GET", "/api/notes"), "access token");
    assertInvalidToken(await send(server.app, erin.ip, apiToken, "GET", "/api/notes"), "API token");
    const refreshed = await server.app.inject({ method: "POST", url: "/auth/refresh", remoteAddress: erin.ip, payload: { refresh_token: live.refresh_token } });
    assertProblem(refreshed, 401, "refresh token");

    const disabledLogin = await server.app.inject({ method: "POST", url: "/auth/login", remoteAddress: erin.ip, payload: { email: erin.email, password: erin.password } });
    const wrongPassword = await server.app.inject({
      method: "POST",
      url: "/auth/login",
      remoteAddress: alice.ip,
      payload: { email: alice.email, password: `${alice.password} wrong` },
    });
    assertProblem(disabledLogin, 401);
    assertProblem(wrongPassword, 401);
    assert.deepEqual(stableProblem(disabledLogin), stableProblem(wrongPassword), "same body as a wrong password");
    assert.equal(disabledLogin.headers["www-authenticate"], wrongPassword.headers["www-authenticate"]);

    // Re-enabling lets erin log in again but resurrects none of the credentials that were ended.
    const enabled = await patchUser(erin.id, { disabled: false });
    assert.equal(enabled.statusCode, 200, enabled.body);
    assertInvalidToken(await send(server.app, erin.ip, live.access_token, "GET", "/api/notes"), "old access token after re-enable");
    assertInvalidToken(await send(server.app, erin.ip, apiToken, "GET", "/api/notes"), "old API token after re-enable");
    const again = await server.app.inject({ method: "POST", url: "/auth/refresh", remoteAddress: erin.ip, payload: { refresh_token: live.refresh_token } });
    assertProblem(again, 401, "old refresh token after re-enable");
    const fresh = await server.app.inject({ method: "POST", url: "/auth/login", remoteAddress: erin.ip, payload: { email: erin.email, password: erin.password } });
    assert.equal(fresh.statusCode, 200, fresh.body);
  });

  it("the last enabled admin can neither disable nor demote themself (409) and stays admin", async () => {
    // A disabled admin does not count: make one first.
    const dormant = await createUser(server.app, "dormant-admin", ip());
    const parked = await patchUser(dormant.id, { roles: ["admin"], disabled: true });
    assert.equal(parked.statusCode, 200, parked.body);
    for (const change of [{ disabled: true }, { roles: ["user"] }, { roles: [] }, { roles: ["user"], disabled: false }]) {
      const response = await patchUser(admin.id, change);
      assertProblem(response, 409, JSON.stringify(change));
    }
    const self = await adminUser(admin.id);
    assert.deepEqual(self.roles, ["admin"]);
    assert.equal(self.disabled, false);
    assert.equal((await caller(server.app, admin)("GET", "/admin/roles")).statusCode, 200, "still admin on the next request");
  });

  it("with a second admin, the first may step down; then the second is the last and is protected", async () => {
    const second = await createUser(server.app, "second-admin", ip());
    assert.equal((await patchUser(second.id, { roles: ["admin"] })).statusCode, 200);
    const asSecond = caller(server.app, second);
    assert.equal((await asSecond("GET", "/admin/users")).statusCode, 200, "promotion takes effect on the next request");
    // Hand over: the second admin demotes the first (allowed: one enabled admin remains)…
    const demoted = await asSecond("PATCH", `/admin/users/${admin.id}`, { roles: ["user"] });
    assert.equal(demoted.statusCode, 200, demoted.body);
    assertProblem(await caller(server.app, admin)("GET", "/admin/users"), 403, "the demoted admin lost the admin API at once");
    // …and is now the last one.
    assertProblem(await asSecond("PATCH", `/admin/users/${second.id}`, { disabled: true }), 409);
    // Restore the first admin for any later test.
    assert.equal((await asSecond("PATCH", `/admin/users/${admin.id}`, { roles: ["admin"] })).statusCode, 200);
    assert.equal((await caller(server.app, admin)("GET", "/admin/users")).statusCode, 200);
  });
});
