import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { authorizeObject, can, type Principal, requirePermissions } from "../../../src/core/authz/can.ts";
import { compilePermissions, intersect } from "../../../src/core/authz/permission-set.ts";
import { BUILTIN_ROLES, createRoleResolver } from "../../../src/core/authz/roles.ts";
import { isRampartError } from "../../../src/core/errors.ts";

const code = (c: string) => (e: unknown) => isRampartError(e) && e.code === c;
const roles = createRoleResolver({ ...BUILTIN_ROLES, moderator: ["notes:read", "notes:read:any"], viewer: ["notes:read:any"] });
const who = (id: string, ...r: string[]): Principal => ({ id, permissions: roles.permissionsFor(r) });
const alice = who("alice", "user");
const bob = who("bob", "user");
const mod = who("mod", "moderator");
const admin = who("root", "admin");
const note = { type: "notes", ownerId: "alice", title: "t" };

describe("can", () => {
  it("lets the owner act with type:action", () => {
    assert.ok(can(alice, "read", note));
    assert.ok(can(alice, "write", note));
  });

  it("requires type:action:any for someone else's object", () => {
    assert.ok(!can(bob, "read", note));
    assert.ok(can(mod, "read", note));
    assert.ok(!can(mod, "write", note));
    assert.ok(can(admin, "write", note));
  });

  it("treats :any as covering one's own objects", () => {
    assert.ok(can(who("alice", "viewer"), "read", note));
  });

  it("requires the owner to hold type:action too", () => {
    assert.ok(!can(who("alice", "moderator"), "write", note));
    assert.ok(!can(who("alice"), "read", note));
  });
});

describe("authorizeObject", () => {
  it("returns the object when allowed", () => {
    assert.equal(authorizeObject(alice, "read", note), note);
  });

  it("answers 404 both for others' objects and for missing ones, so existence does not leak", () => {
    // Attack: bob enumerates note ids; a 403 would confirm which ids exist.
    assert.throws(() => authorizeObject(bob, "read", note), code("RAMPART_ERR_NOT_FOUND"));
    assert.throws(() => authorizeObject(bob, "read", undefined), code("RAMPART_ERR_NOT_FOUND"));
    assert.throws(() => authorizeObject(bob, "read", null), code("RAMPART_ERR_NOT_FOUND"));
  });
});

describe("requirePermissions", () => {
  it("passes when every permission is held, and for an empty list", () => {
    assert.doesNotThrow(() => requirePermissions(admin, ["users:admin", "audit:read"]));
    assert.doesNotThrow(() => requirePermissions(alice, []));
  });

  it("is 403 when the principal lacks one", () => {
    assert.throws(() => requirePermissions(alice, ["notes:read", "users:admin"]), code("RAMPART_ERR_FORBIDDEN"));
  });

  it("is insufficient_scope when the owner holds it but the token's scopes exclude it", () => {
    const token: Principal = { id: "root", permissions: intersect(admin.permissions, compilePermissions(["notes:read"])) };
    assert.doesNotThrow(() => requirePermissions(token, ["notes:read"]));
    assert.throws(() => requirePermissions(token, ["users:admin"]), code("RAMPART_ERR_INSUFFICIENT_SCOPE"));
  });

  it("is 403, not insufficient_scope, when the owner lacks it whatever the scopes", () => {
    const token: Principal = { id: "alice", permissions: intersect(alice.permissions, compilePermissions(["*"])) };
    assert.throws(() => requirePermissions(token, ["users:admin"]), code("RAMPART_ERR_FORBIDDEN"));
    const narrow: Principal = { id: "alice", permissions: intersect(alice.permissions, compilePermissions(["profile:read"])) };
    // notes:write is a scope problem, users:admin an owner problem: the owner problem decides.
    assert.throws(() => requirePermissions(narrow, ["notes:write", "users:admin"]), code("RAMPART_ERR_FORBIDDEN"));
  });
});
