import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createMemoryLoginThrottleStore } from "../../../src/core/throttle/memory-store.ts";
import { createLoginThrottle } from "../../../src/core/throttle/throttle.ts";

describe("createLoginThrottle", () => {
  it("resolves and exposes the policy, refusing invalid numbers at construction", () => {
    const store = createMemoryLoginThrottleStore();
    assert.equal(createLoginThrottle({ store }).policy.freeFailures, 5);
    assert.throws(() => createLoginThrottle({ store, policy: { clientMaxFailures: -1 } }), TypeError);
  });

  it("works in whole milliseconds whatever the clock returns", async () => {
    let t = 1_700_000_000_000.75;
    const throttle = createLoginThrottle({ store: createMemoryLoginThrottleStore(), policy: { freeFailures: 1 }, clock: () => t });
    assert.equal((await throttle.recordFailure("a@x", "c")).retryAfterMs, 1000);
    t += 0.5;
    assert.deepEqual(await throttle.check("a@x", "c"), { allowed: false, retryAfterMs: 999, scope: "pair" });
  });
});
