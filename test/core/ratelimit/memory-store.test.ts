import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { principalKey } from "../../../src/core/ratelimit/keys.ts";
import { MemoryRateLimitStore } from "../../../src/core/ratelimit/memory-store.ts";
import { parsePolicy } from "../../../src/core/ratelimit/policy.ts";
import { isThenable } from "../../../src/core/ratelimit/store.ts";
import { runRateLimitStoreContract } from "../../contract/ratelimit-store.ts";

function fakeClock(start = 1_800_000_000_000) {
  let now = start;
  return {
    clock: () => now,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

runRateLimitStoreContract("memory", () => {
  const { clock, advance } = fakeClock();
  const store = new MemoryRateLimitStore({ clock });
  return { store, advance, close: () => store.close() };
});

const burst = parsePolicy("burst", "2/minute");

describe("MemoryRateLimitStore", () => {
  test("answers synchronously: the hot path awaits nothing", () => {
    const store = new MemoryRateLimitStore();
    const decision = store.consume([{ key: "ip:192.0.2.1", policy: burst }]);
    assert.equal(isThenable(decision), false);
    assert.equal(decision.allowed, true);
  });

  test("1,000,000 distinct keys never hold more than maxKeys buckets", () => {
    const { clock } = fakeClock(); // time stands still: every bucket stays live, the worst case
    const maxKeys = 10_000;
    const store = new MemoryRateLimitStore({ maxKeys, clock });
    let peak = 0;
    for (let i = 0; i < 1_000_000; i++) {
      // An attacker rotating IPv6 /56 prefixes: every request is a new client.
      const key = `ip:2001:db8:${(i >>> 16).toString(16)}:${(i & 0xffff).toString(16)}::/56`;
      assert.ok(store.consume([{ key, policy: burst }]).allowed);
      peak = Math.max(peak, store.stats().keys);
    }
    assert.equal(peak, maxKeys);
    assert.equal(store.stats().evictions, 1_000_000 - maxKeys);
  });

  test("evicts the least recently used bucket, not an active one", () => {
    const { clock } = fakeClock();
    const store = new MemoryRateLimitStore({ maxKeys: 3, clock });
    const [a, b, c, d] = ["a", "b", "c", "d"].map((id) => principalKey(id));
    for (const key of [a, a, b, c]) store.consume([{ key: key!, policy: burst }]);
    assert.equal(store.consume([{ key: a!, policy: burst }]).allowed, false, "a is exhausted and now most recent");
    store.consume([{ key: d!, policy: burst }]);
    assert.equal(store.stats().keys, 3);
    assert.equal(store.consume([{ key: a!, policy: burst }]).allowed, false, "a kept its state");
    assert.equal(store.consume([{ key: b!, policy: burst }]).closest.remaining, 1, "b was evicted and starts fresh");
  });

  test("drops buckets whose TAT has passed: they carry no information", () => {
    const { clock, advance } = fakeClock();
    const store = new MemoryRateLimitStore({ clock });
    for (let i = 0; i < 1000; i++) store.consume([{ key: principalKey(`user-${i}`), policy: burst }]);
    assert.equal(store.stats().keys, 1000);
    advance(60_000);
    for (let i = 0; i < 300; i++) store.consume([{ key: "ip:192.0.2.1", policy: burst, cost: 1 }]);
    assert.ok(store.stats().keys <= 1, `expired buckets swept, ${store.stats().keys} left`);
    assert.equal(store.stats().evictions, 0);
  });

  test("validates its options", () => {
    assert.throws(() => new MemoryRateLimitStore({ maxKeys: 0 }), /"maxKeys" option must be an integer >= 1/);
    assert.throws(() => new MemoryRateLimitStore({ maxKeys: 1.5 }), TypeError);
    assert.throws(() => new MemoryRateLimitStore({ clock: 5 as unknown as () => number }), /"clock" option/);
  });
});
