import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  BUILTIN_ROLES,
  KNOWN_PERMISSIONS,
  assertGrantable,
  createRoleResolver,
  isGrantable,
} from "../../../src/core/authz/roles.ts";
import { isRampartError } from "../../../src/core/errors.ts";

const code = (c: string) => (e: unknown) => isRampartError(e) && e.code === c;

describe("createRoleResolver", () => {
  it("resolves the built-in roles", () => {
    const roles = createRoleResolver();
    assert.ok(roles.permissionsFor(["admin"]).has("users:admin"));
    const user = roles.permissionsFor(["user"]);
    assert.ok(user.has("notes:write"));
    assert.ok(!user.has("notes:read:any"));
    assert.ok(!user.has("users:admin"));
  });

  it("unions several roles; unknown role names grant nothing", () => {
    const roles = createRoleResolver({ ...BUILTIN_ROLES, auditor: ["audit:read"] });
    const set = roles.permissionsFor(["user", "auditor", "ghost"]);
    assert.ok(set.has("audit:read") && set.has("notes:read"));
    assert.deepEqual(roles.permissionsFor(["ghost"]).list(), []);
    assert.deepEqual(roles.permissionsFor([]).list(), []);
    assert.deepEqual(roles.permissionsFor(["__proto__", "constructor"]).list(), []);
  });

  it("memoises per distinct combination, whatever the order", () => {
    const roles = createRoleResolver({ ...BUILTIN_ROLES, auditor: ["audit:read"] });
    assert.equal(roles.permissionsFor(["user"]), roles.permissionsFor(["user"]));
    assert.equal(roles.permissionsFor(["user", "auditor"]), roles.permissionsFor(["auditor", "user", "user"]));
    assert.notEqual(roles.permissionsFor(["user"]), roles.permissionsFor(["user", "auditor"]));
  });

  it("keeps a stored role name containing a separator apart from a combination", () => {
    const roles = createRoleResolver(BUILTIN_ROLES);
    roles.permissionsFor(["admin", "user"]);
    assert.deepEqual(roles.permissionsFor(['["admin","user"]']).list(), []);
    assert.deepEqual(roles.permissionsFor(["admin,user"]).list(), []);
  });

  it("update() takes effect at once and drops memoised sets", () => {
    const roles = createRoleResolver();
    const before = roles.permissionsFor(["user"]);
    roles.update({ ...BUILTIN_ROLES, user: ["notes:read"] });
    const after = roles.permissionsFor(["user"]);
    assert.notEqual(after, before);
    assert.ok(!after.has("notes:write"));
    assert.deepEqual(roles.table().user, ["notes:read"]);
  });

  it("refuses an invalid table and keeps the old one", () => {
    const roles = createRoleResolver();
    assert.throws(() => roles.update({ user: ["note:Read"] }), code("RAMPART_ERR_VALIDATION"));
    assert.throws(() => roles.update({ "Bad Name": ["notes:read"] }), code("RAMPART_ERR_VALIDATION"));
    assert.throws(() => createRoleResolver({ user: "notes:read" as unknown as string[] }), code("RAMPART_ERR_VALIDATION"));
    assert.ok(roles.permissionsFor(["user"]).has("notes:write"));
  });
});

describe("isGrantable / assertGrantable", () => {
  it("accepts every known permission and what a named-resource grant covers", () => {
    for (const p of KNOWN_PERMISSIONS) assert.ok(isGrantable(p, BUILTIN_ROLES), p);
    assert.ok(isGrantable("reports:export", { ...BUILTIN_ROLES, analyst: ["reports:*"] }));
  });

  it("catches typos even though admin holds *", () => {
    assert.ok(!isGrantable("note:read", BUILTIN_ROLES));
    assert.ok(!isGrantable("notes:read:all", BUILTIN_ROLES), "notes:read does not cover a qualified permission");
    assert.ok(!isGrantable("note:read", { ...BUILTIN_ROLES, reader: ["*:read"] }), "a * resource proves nothing");
    assert.throws(() => assertGrantable("note:read", BUILTIN_ROLES), (e: unknown) => code("RAMPART_ERR_INTERNAL")(e) && /note:read/.test(String((e as Error).message)));
    assert.doesNotThrow(() => assertGrantable("notes:read:any", BUILTIN_ROLES));
  });

  it("honours the app's own catalogue", () => {
    assert.ok(isGrantable("invoices:pay", BUILTIN_ROLES, [...KNOWN_PERMISSIONS, "invoices:pay"]));
    assert.ok(!isGrantable("invoices:pay", BUILTIN_ROLES));
  });

  it("refuses wildcard or malformed requirements", () => {
    assert.throws(() => isGrantable("notes:*", BUILTIN_ROLES), code("RAMPART_ERR_VALIDATION"));
  });
});
