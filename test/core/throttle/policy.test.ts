import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { DEFAULT_LOGIN_THROTTLE_POLICY, lockDelayMs, resolveLoginThrottlePolicy } from "../../../src/core/throttle/policy.ts";

describe("resolveLoginThrottlePolicy", () => {
  it("applies the documented defaults", () => {
    assert.deepEqual(resolveLoginThrottlePolicy(), {
      freeFailures: 5,
      failureWindowMs: 900_000,
      baseDelayMs: 1000,
      maxDelayMs: 900_000,
      clientMaxFailures: 100,
      clientWindowMs: 3_600_000,
    });
    assert.equal(resolveLoginThrottlePolicy({ freeFailures: 3 }).freeFailures, 3);
    assert.ok(Object.isFrozen(resolveLoginThrottlePolicy()));
  });

  it("refuses invalid numbers and unknown options, naming them, instead of defaulting", () => {
    assert.throws(() => resolveLoginThrottlePolicy({ freeFailures: 0 }), /policy\.freeFailures/);
    assert.throws(() => resolveLoginThrottlePolicy({ baseDelayMs: 1.5 }), /policy\.baseDelayMs/);
    assert.throws(() => resolveLoginThrottlePolicy({ maxDelayMs: Number.NaN }), /policy\.maxDelayMs/);
    assert.throws(() => resolveLoginThrottlePolicy({ baseDelayMs: 10, maxDelayMs: 5 }), /maxDelayMs/);
    assert.throws(() => resolveLoginThrottlePolicy({ maxFailures: 3 } as never), /unknown login throttle option "maxFailures"/);
  });
});

describe("lockDelayMs", () => {
  it("is 0 while free, then doubles from the base up to the cap (property)", () => {
    const p = DEFAULT_LOGIN_THROTTLE_POLICY;
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10_000 }), (n) => {
        const d = lockDelayMs(p, n);
        if (n < p.freeFailures) return assert.equal(d, 0);
        assert.ok(d >= p.baseDelayMs && d <= p.maxDelayMs && Number.isFinite(d));
        assert.ok(lockDelayMs(p, n + 1) === Math.min(2 * d, p.maxDelayMs));
      }),
    );
  });
});
