import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createMemoryLoginThrottleStore } from "../../../src/core/throttle/memory-store.ts";
import { createLoginThrottle } from "../../../src/core/throttle/throttle.ts";
import { loginThrottleContract } from "./contract.ts";

loginThrottleContract("memory", { skip: false, makeStore: () => createMemoryLoginThrottleStore() });

describe("memory login throttle store", () => {
  it("stays within maxKeys under 200k distinct emails", async () => {
    // Attack: a client rotates emails (and addresses) to grow the server's memory without bound.
    const store = createMemoryLoginThrottleStore({ maxKeys: 1000 });
    const throttle = createLoginThrottle({ store, clock: () => 1_700_000_000_000 });
    for (let i = 0; i < 200_000; i++) {
      await throttle.recordFailure(`victim${i}@example.com`, `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
    }
    assert.ok(store.size() <= 2000, `size ${store.size()}`);
  });

  it("keeps the most recently used pair when evicting", async () => {
    const store = createMemoryLoginThrottleStore({ maxKeys: 3 });
    const throttle = createLoginThrottle({ store, policy: { freeFailures: 1 }, clock: () => 1_700_000_000_000 });
    await throttle.recordFailure("locked@example.com", "c1");
    for (let i = 0; i < 5; i++) {
      await throttle.check("locked@example.com", "c1");
      await throttle.recordFailure(`other${i}@example.com`, "c2");
    }
    assert.equal((await throttle.check("locked@example.com", "c1")).allowed, false);
  });

  it("refuses a bad bound", () => {
    assert.throws(() => createMemoryLoginThrottleStore({ maxKeys: 0 }), TypeError);
  });
});
