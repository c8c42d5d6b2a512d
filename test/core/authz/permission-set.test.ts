import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { compilePermissions, intersect, isScoped } from "../../../src/core/authz/permission-set.ts";
import { isRampartError } from "../../../src/core/errors.ts";
import { grant, oracle, required } from "./arbitraries.ts";

const grants = fc.array(grant, { maxLength: 6 });

describe("compilePermissions", () => {
  it("answers like the grants one by one (property)", () => {
    fc.assert(
      fc.property(grants, required, (gs, r) => {
        assert.equal(compilePermissions(gs).has(r), gs.some((g) => oracle(g, r)), `${gs} has ${r}`);
      }),
      { numRuns: 3000 },
    );
  });

  it("gives the same answer the second (memoised) time", () => {
    const set = compilePermissions(["notes:*", "*:read"]);
    for (let i = 0; i < 2; i++) {
      assert.ok(set.has("notes:write:any"));
      assert.ok(set.has("users:read"));
      assert.ok(!set.has("users:write"));
    }
  });

  it("lists grants sorted, deduplicated and without covered ones", () => {
    assert.deepEqual(compilePermissions(["notes:read", "notes:*", "notes:read", "audit:read"]).list(), ["audit:read", "notes:*"]);
    assert.deepEqual(compilePermissions(["*:*", "notes:read", "users:admin"]).list(), ["*"]);
    assert.deepEqual(compilePermissions([]).list(), []);
  });

  it("list() means the same as the grants it came from (property)", () => {
    fc.assert(
      fc.property(grants, required, (gs, r) => {
        const set = compilePermissions(gs);
        assert.equal(compilePermissions(set.list()).has(r), set.has(r));
      }),
      { numRuns: 2000 },
    );
  });

  it("refuses malformed grants at compile time and malformed requirements as a server bug", () => {
    assert.throws(() => compilePermissions(["note:Read"]), (e: unknown) => isRampartError(e) && e.code === "RAMPART_ERR_VALIDATION");
    for (const set of [compilePermissions(["*"]), compilePermissions(["notes:read"])]) {
      for (const bad of ["notes:*", "Notes:read", "*"]) {
        assert.throws(() => set.has(bad), (e: unknown) => isRampartError(e) && e.code === "RAMPART_ERR_INTERNAL");
      }
    }
  });
});

describe("intersect", () => {
  it("allows what both the owner and the scopes allow (property)", () => {
    fc.assert(
      fc.property(grants, grants, required, (owner, scopes, r) => {
        const set = intersect(compilePermissions(owner), compilePermissions(scopes));
        assert.equal(set.has(r), owner.some((g) => oracle(g, r)) && scopes.some((s) => oracle(s, r)));
        assert.equal(compilePermissions(set.list()).has(r), set.has(r), "list() is exact");
      }),
      { numRuns: 3000 },
    );
  });

  it("never widens: a token scoped * owned by a user is still a user", () => {
    const user = compilePermissions(["notes:read", "notes:write", "tokens:manage", "profile:read"]);
    const token = intersect(user, compilePermissions(["*"]));
    assert.ok(!token.has("users:admin"));
    assert.ok(!token.has("notes:read:any"));
    assert.deepEqual(token.list(), user.list());
  });

  it("narrows and lists the narrowed grants", () => {
    const admin = compilePermissions(["*"]);
    const token = intersect(admin, compilePermissions(["notes:read", "audit:*"]));
    assert.deepEqual(token.list(), ["audit:*", "notes:read"]);
    assert.ok(token.has("audit:read"));
    assert.ok(!token.has("notes:write"));
    assert.ok(isScoped(token) && !isScoped(admin));
    assert.equal(token.owner, admin);
  });
});

describe("qualified grants imply the unqualified action", () => {
  it("notes:read:any includes notes:read (anyone's objects include one's own), never the reverse", () => {
    const any = compilePermissions(["notes:read:any"]);
    assert.equal(any.has("notes:read"), true);
    assert.equal(any.has("notes:write"), false);
    assert.equal(compilePermissions(["notes:read"]).has("notes:read:any"), false);
  });
});
