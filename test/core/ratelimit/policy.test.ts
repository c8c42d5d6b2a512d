import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { definePolicy, parsePolicy } from "../../../src/core/ratelimit/policy.ts";

describe("parsePolicy", () => {
  test("parses rates, multi-unit periods and bursts", () => {
    assert.deepEqual(parsePolicy("burst", "10/second"), { name: "burst", limit: 10, periodMs: 1000, burst: 10 });
    assert.deepEqual(parsePolicy("sustained", "1000/hour"), { name: "sustained", limit: 1000, periodMs: 3_600_000, burst: 1000 });
    assert.deepEqual(parsePolicy("api", "20/minute burst 40"), { name: "api", limit: 20, periodMs: 60_000, burst: 40 });
    assert.deepEqual(parsePolicy("login", "5/15minutes"), { name: "login", limit: 5, periodMs: 900_000, burst: 5 });
    assert.deepEqual(parsePolicy("login", " 5 / 15 minutes "), { name: "login", limit: 5, periodMs: 900_000, burst: 5 });
    assert.deepEqual(parsePolicy("daily", "100/day burst 10"), { name: "daily", limit: 100, periodMs: 86_400_000, burst: 10 });
  });

  test("returns a frozen value", () => {
    assert.ok(Object.isFrozen(parsePolicy("burst", "10/second")));
  });

  test("rejects malformed specs, naming the policy and the input", () => {
    for (const spec of ["", "10", "10/sec", "10/Second", "ten/second", "10/second burst", "-1/second", "1.5/second", "10/second burst 4 x"]) {
      assert.throws(() => parsePolicy("burst", spec), (error: Error) => {
        assert.ok(error instanceof TypeError);
        assert.match(error.message, /"burst"/);
        assert.ok(error.message.includes(JSON.stringify(spec)), error.message);
        return true;
      });
    }
    assert.throws(() => parsePolicy("burst", undefined as unknown as string), TypeError);
  });

  test("rejects zero and out-of-range numbers", () => {
    assert.throws(() => parsePolicy("burst", "0/second"), /limit must be an integer >= 1/);
    assert.throws(() => parsePolicy("burst", "10/0seconds"), /period must be a whole number of seconds/);
    assert.throws(() => parsePolicy("burst", "10/second burst 0"), /burst must be an integer >= 1/);
    assert.throws(() => parsePolicy("burst", "99999999999999999999/second"), /limit must be an integer/);
    assert.throws(() => parsePolicy("burst", "2000000/second"), /finer than one request per microsecond/);
    assert.throws(() => parsePolicy("burst", "1/day burst 100000"), /burst 100000 spans/);
  });

  test("names must be RFC 8941 keys", () => {
    for (const name of ["login", "per-user", "a.b_c*", "*"]) assert.equal(parsePolicy(name, "1/second").name, name);
    for (const name of ["", "Burst", "1st", "a b", 'a"b', "naïve", "-x"]) {
      assert.throws(() => parsePolicy(name, "1/second"), /must match/, name);
    }
  });
});

describe("definePolicy", () => {
  test("defaults burst to limit and validates every field", () => {
    assert.deepEqual(definePolicy({ name: "x", limit: 3, periodMs: 2000 }), { name: "x", limit: 3, periodMs: 2000, burst: 3 });
    assert.throws(() => definePolicy({ name: "x", limit: 3, periodMs: 1500 }), /whole number of seconds, got 1500 ms/);
    assert.throws(() => definePolicy({ name: "x", limit: 2.5, periodMs: 1000 }), /limit must be an integer/);
    assert.throws(() => definePolicy({ name: "x", limit: 1, periodMs: 1000, burst: Number.NaN }), /burst must be/);
  });
});
