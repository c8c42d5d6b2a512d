import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { isRampartError } from "../../../src/core/errors.ts";
import {
  covers,
  matches,
  meet,
  parsePermission,
  parseRequiredPermission,
} from "../../../src/core/authz/permission.ts";
import { grant, patternOracle, required } from "./arbitraries.ts";

const p = parsePermission;
const rejects = (fn: () => unknown) =>
  assert.throws(fn, (e: unknown) => isRampartError(e) && e.code === "RAMPART_ERR_VALIDATION");

describe("parsePermission", () => {
  it("accepts the grammar", () => {
    for (const text of ["*", "notes:read", "notes:read:any", "notes:*", "*:read", "a1_b-c:x", "notes:read:*"]) {
      assert.deepEqual(p(text).segments, text.split(":"));
    }
  });

  it("rejects everything else with a coded error naming the permission", () => {
    for (const text of ["", "notes", "Notes:read", "notes:", ":read", "notes:read:any:more", "notes:re ad", "1notes:read", "notes:r*", "notes::read", "a".repeat(201)]) {
      rejects(() => p(text));
    }
    assert.throws(() => p("note:Read"), /"note:Read"/);
  });

  it("accepts exactly what the grammar describes (property)", () => {
    const seg = "(?:\\*|[a-z][a-z0-9_-]*)";
    const grammar = new RegExp(`^(?:\\*|${seg}:${seg}(?::${seg})?)$`);
    const text = fc.oneof(grant, fc.string({ unit: fc.constantFrom("a", "Z", "1", ":", "*", "-", "_", " ") }));
    fc.assert(
      fc.property(text, (t) => {
        let ok = true;
        try {
          p(t);
        } catch {
          ok = false;
        }
        assert.equal(ok, grammar.test(t), t);
      }),
      { numRuns: 2000 },
    );
  });

  it("refuses wildcards in required permissions", () => {
    rejects(() => parseRequiredPermission("notes:*"));
    rejects(() => parseRequiredPermission("*"));
    assert.equal(parseRequiredPermission("notes:read:any").text, "notes:read:any");
  });
});

describe("matches", () => {
  const m = (g: string, r: string) => matches(p(g), p(r));

  it("follows the documented rules", () => {
    assert.ok(m("*", "notes:read:any"));
    assert.ok(m("notes:*", "notes:read"));
    assert.ok(m("notes:*", "notes:read:any"), "a trailing * covers deeper segments");
    assert.ok(m("*:read", "notes:read"));
    assert.ok(!m("*:read", "notes:read:any"), "an inner * is exactly one segment");
    assert.ok(m("notes:read:*", "notes:read:any"));
    assert.ok(!m("notes:read:*", "notes:read"), "a trailing * needs a segment to cover");
    assert.ok(!m("notes:read", "notes:read:any"), "an unqualified grant never covers :any");
    assert.ok(!m("notes:read:any", "notes:read"));
    assert.ok(!m("note:read", "notes:read"));
  });

  it("agrees with an independent regex oracle (property)", () => {
    fc.assert(fc.property(grant, required, (g, r) => assert.equal(m(g, r), patternOracle(g, r), `${g} vs ${r}`)), {
      numRuns: 5000,
    });
  });

  it("a grant without * never covers a longer requirement (property)", () => {
    fc.assert(
      fc.property(required, required, (g, r) => {
        if (r.split(":").length > g.split(":").length) assert.ok(!m(g, r));
      }),
    );
  });
});

describe("covers and meet", () => {
  it("covers means every match of the smaller is a match of the larger (property)", () => {
    fc.assert(
      fc.property(grant, grant, required, (a, b, r) => {
        if (covers(p(a), p(b)) && patternOracle(b, r)) assert.ok(patternOracle(a, r), `${a} ⊇ ${b} but not for ${r}`);
      }),
      { numRuns: 5000 },
    );
  });

  it("meet covers exactly what both cover (property)", () => {
    fc.assert(
      fc.property(grant, grant, required, (a, b, r) => {
        const both = meet(p(a), p(b));
        const expected = patternOracle(a, r) && patternOracle(b, r);
        assert.equal(both ? patternOracle(both.text, r) : false, expected, `${a} ∩ ${b} = ${both?.text} at ${r}`);
      }),
      { numRuns: 10000 },
    );
  });

  it("meets the documented examples", () => {
    const text = (a: string, b: string) => meet(p(a), p(b))?.text;
    assert.equal(text("*", "notes:read"), "notes:read");
    assert.equal(text("notes:*", "*:read"), "notes:read");
    assert.equal(text("notes:*", "*"), "notes:*");
    assert.equal(text("*:*", "*"), "*");
    assert.equal(text("notes:read", "users:*"), undefined);
    assert.equal(text("notes:read", "notes:read:*"), undefined);
  });
});
