/**
 * Delegated administration: a run-time role that holds one admin permission (`users:admin` or
 * `roles:admin`) but not `*`. Such a holder must not be able to hand out more than it holds itself,
 * or the narrow permission is `*` in disguise. Own server: a failed attempt here may change roles.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { assertProblem } from "../../support/identity.ts";
import { addresses, type AuthzServer, caller, createUser, setRolesInStore, startServer, type TestUser } from "../../support/authz.ts";

const ip = addresses(106);
let server: AuthzServer;
let admin: TestUser;

before(async () => {
  server = await startServer();
  admin = await createUser(server.app, "root", ip());
  await setRolesInStore(server.dataDir, admin.id, ["admin"]);
  const asAdmin = caller(server.app, admin);
  assert.equal((await asAdmin("PUT", "/admin/roles/support", { permissions: ["users:admin"] })).statusCode, 200);
  assert.equal((await asAdmin("PUT", "/admin/roles/rolekeeper", { permissions: ["roles:admin"] })).statusCode, 200);
});

after(async () => {
  await server.close();
});

async function rolesOf(id: string): Promise<string[]> {
  const response = await caller(server.app, admin)("GET", "/admin/users?limit=500");
  assert.equal(response.statusCode, 200, response.body);
  const user = (response.json() as { items: { id: string; roles: string[] }[] }).items.find((u) => u.id === id);
  assert.ok(user);
  return user.roles;
}

describe("delegated administration", () => {
  it("a users:admin holder can manage users within its reach (the positive control)", async () => {
    const support = await createUser(server.app, "support", ip());
    assert.equal((await caller(server.app, admin)("PATCH", `/admin/users/${support.id}`, { roles: ["user", "support"] })).statusCode, 200);
    const target = await createUser(server.app, "target", ip());
    const asSupport = caller(server.app, support);
    assert.equal((await asSupport("GET", "/admin/users")).statusCode, 200);
    assert.equal((await asSupport("PATCH", `/admin/users/${target.id}`, { disabled: true })).statusCode, 200);
    assertProblem(await asSupport("GET", "/admin/roles"), 403, "roles:admin is not part of support");
    assertProblem(await asSupport("GET", "/admin/audit"), 403, "audit:read is not part of support");
  });

  it(
    "a users:admin holder cannot grant itself (or anyone) a role carrying permissions it does not hold",
    async () => {
      const support = await createUser(server.app, "support2", ip());
      assert.equal((await caller(server.app, admin)("PATCH", `/admin/users/${support.id}`, { roles: ["user", "support"] })).statusCode, 200);
      const response = await caller(server.app, support)("PATCH", `/admin/users/${support.id}`, { roles: ["user", "support", "admin"] });
      assertProblem(response, 403);
      assert.deepEqual([...(await rolesOf(support.id))].sort(), ["support", "user"]);
    },
  );

  it(
    "a roles:admin holder cannot widen a role beyond its own permissions (e.g. give its own role `*`)",
    async () => {
      const keeper = await createUser(server.app, "keeper", ip());
      assert.equal((await caller(server.app, admin)("PATCH", `/admin/users/${keeper.id}`, { roles: ["user", "rolekeeper"] })).statusCode, 200);
      const response = await caller(server.app, keeper)("PUT", "/admin/roles/rolekeeper", { permissions: ["*"] });
      assertProblem(response, 403);
      assertProblem(await caller(server.app, keeper)("GET", "/admin/users"), 403, "keeper did not gain users:admin");
    },
  );
});
