import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, describe, it } from "node:test";
import fc from "fast-check";
import { Redis } from "ioredis";
import { isRampartError } from "../../../src/core/errors.ts";
import { createMemoryLoginThrottleStore } from "../../../src/core/throttle/memory-store.ts";
import { createRedisLoginThrottleStore, type RedisScriptClient } from "../../../src/core/throttle/redis-store.ts";
import { createLoginThrottle } from "../../../src/core/throttle/throttle.ts";
import { redisUrl, serviceSkip } from "../../support/services.ts";
import { loginThrottleContract } from "./contract.ts";

const skip = await serviceSkip("redis");
const runPrefix = `rampart-test:throttle:${randomUUID()}:`;
const clients: Redis[] = [];
const connect = () => {
  const client = new Redis(redisUrl(), { maxRetriesPerRequest: 1 });
  clients.push(client);
  return client;
};
const fresh = (client: RedisScriptClient = connect()) =>
  createRedisLoginThrottleStore({ client, failurePolicy: "closed", prefix: `${runPrefix}${randomUUID()}:` });

after(async () => {
  if (clients[0]) {
    const keys = await clients[0].keys(`${runPrefix}*`);
    if (keys.length > 0) await clients[0].del(...keys);
  }
  await Promise.all(clients.map((c) => c.quit()));
});

let shared: Redis | undefined;
const sharedClient = () => {
  shared ??= connect();
  return shared;
};
loginThrottleContract("redis", { skip, makeStore: () => fresh(sharedClient()) });

describe("redis login throttle store", { skip }, () => {
  const now = () => 1_700_000_000_000;

  it("counts concurrent failures from three clients exactly", async () => {
    const prefix = `${runPrefix}${randomUUID()}:`;
    const policy = { freeFailures: 1000, clientMaxFailures: 1000 };
    const throttles = [connect(), connect(), connect()].map((client) =>
      createLoginThrottle({ store: createRedisLoginThrottleStore({ client, failurePolicy: "closed", prefix }), policy, clock: now }),
    );
    const results = await Promise.all(
      throttles.flatMap((t) => Array.from({ length: 50 }, () => t.recordFailure("alice@example.com", "203.0.113.7"))),
    );
    assert.deepEqual(
      results.map((r) => r.failures).sort((a, b) => a - b),
      Array.from({ length: 150 }, (_, i) => i + 1),
      "each failure saw a distinct count: none lost, none doubled",
    );
    assert.equal(Math.max(...results.map((r) => r.clientFailures)), 150);
  });

  it("agrees with the memory store on any sequence of operations (property)", async () => {
    // The Lua mirrors state.ts by hand; this holds the two to the same answers.
    const client = sharedClient();
    const op = fc.oneof(
      fc.record({ kind: fc.constant("fail" as const), who: fc.integer({ min: 0, max: 3 }) }),
      fc.record({ kind: fc.constant("success" as const), who: fc.integer({ min: 0, max: 3 }) }),
      fc.record({ kind: fc.constant("check" as const), who: fc.integer({ min: 0, max: 3 }) }),
      fc.record({ kind: fc.constant("advance" as const), ms: fc.integer({ min: 0, max: 20 * 60_000 }) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 40 }), async (ops) => {
        let t = 1_700_000_000_000;
        const policy = { freeFailures: 3, baseDelayMs: 1000, maxDelayMs: 60_000, clientMaxFailures: 8, clientWindowMs: 30 * 60_000 };
        const make = (store: Parameters<typeof createLoginThrottle>[0]["store"]) => createLoginThrottle({ store, policy, clock: () => t });
        const memory = make(createMemoryLoginThrottleStore());
        const redis = make(fresh(client));
        for (const o of ops) {
          if (o.kind === "advance") {
            t += o.ms;
            continue;
          }
          const email = `user${o.who % 2}@example.com`;
          const ip = `client-${o.who >> 1}`;
          const call = (th: typeof memory) =>
            o.kind === "fail" ? th.recordFailure(email, ip) : o.kind === "success" ? th.recordSuccess(email, ip) : th.check(email, ip);
          assert.deepEqual(await call(redis), await call(memory), JSON.stringify(o));
        }
      }),
      { numRuns: 60 },
    );
  });

  it("stores hashed, hash-tagged keys that expire", async () => {
    const client = connect();
    const prefix = `${runPrefix}${randomUUID()}:`;
    const store = createRedisLoginThrottleStore({ client, failurePolicy: "closed", prefix });
    await createLoginThrottle({ store, clock: now }).recordFailure("alice@example.com", "203.0.113.7");
    const keys = (await client.keys(`${prefix}*`)).sort();
    assert.equal(keys.length, 2);
    for (const key of keys) {
      assert.match(key.slice(prefix.length), /^\{[0-9a-f]{32}\}:(c|p:[0-9a-f]{32})$/);
      assert.ok(!key.includes("alice") && !key.includes("203.0.113.7"));
      const ttl = await client.pttl(key);
      assert.ok(ttl > 0 && ttl <= 60 * 60_000, `${key} ttl ${ttl}`);
    }
  });

  it("loads its scripts when the server does not know them (NOSCRIPT)", async () => {
    const real = connect();
    let noscript = 0;
    const client: RedisScriptClient = {
      evalsha: async () => {
        noscript++;
        throw new Error("NOSCRIPT No matching script. Please use EVAL.");
      },
      eval: (...args) => real.eval(...args),
    };
    const throttle = createLoginThrottle({ store: fresh(client), clock: now });
    assert.equal((await throttle.recordFailure("a@example.com", "c")).failures, 1);
    assert.equal((await throttle.recordFailure("a@example.com", "c")).failures, 2);
    assert.equal(noscript, 2);
  });
});

describe("redis login throttle store when redis fails", () => {
  const now = () => 1_700_000_000_000;
  const broken: RedisScriptClient = {
    evalsha: async () => {
      throw new Error("Connection is closed.");
    },
    eval: async () => {
      throw new Error("Connection is closed.");
    },
  };
  const hanging: RedisScriptClient = { evalsha: () => new Promise(() => {}), eval: () => new Promise(() => {}) };

  it("closed: refuses with RAMPART_ERR_STORE_UNAVAILABLE, the backend's message only as cause", async () => {
    const throttle = createLoginThrottle({ store: createRedisLoginThrottleStore({ client: broken, failurePolicy: "closed" }), clock: now });
    for (const call of [() => throttle.check("a@x", "c"), () => throttle.recordFailure("a@x", "c"), () => throttle.recordSuccess("a@x", "c")]) {
      await assert.rejects(call, (e: unknown) => {
        assert.ok(isRampartError(e) && e.code === "RAMPART_ERR_STORE_UNAVAILABLE" && e.status === 503);
        assert.ok(!e.detail.includes("Connection") && (e.cause as Error).message === "Connection is closed.");
        return true;
      });
    }
  });

  it("open: falls back to memory, still throttles, and reports each fallback", async () => {
    const seen: unknown[] = [];
    const fallback = createMemoryLoginThrottleStore();
    const store = createRedisLoginThrottleStore({ client: broken, failurePolicy: "open", fallback, onFallback: (e) => seen.push(e) });
    const throttle = createLoginThrottle({ store, clock: now });
    for (let i = 0; i < 5; i++) await throttle.recordFailure("a@x", "c");
    assert.equal((await throttle.check("a@x", "c")).allowed, false);
    assert.equal(seen.length, 6);
    assert.ok(fallback.size() > 0);
  });

  it("never hangs: a silent server times out into the failure policy", async () => {
    const closed = createLoginThrottle({ store: createRedisLoginThrottleStore({ client: hanging, failurePolicy: "closed", timeoutMs: 20 }), clock: now });
    await assert.rejects(closed.check("a@x", "c"), (e: unknown) => isRampartError(e) && e.code === "RAMPART_ERR_STORE_UNAVAILABLE");
    let fellBack = false;
    const open = createLoginThrottle({
      store: createRedisLoginThrottleStore({ client: hanging, failurePolicy: "open", timeoutMs: 20, onFallback: () => (fellBack = true) }),
      clock: now,
    });
    assert.deepEqual(await open.check("a@x", "c"), { allowed: true });
    assert.ok(fellBack);
  });

  it("refuses invalid options", () => {
    assert.throws(() => createRedisLoginThrottleStore({ client: broken, failurePolicy: "maybe" as never }), TypeError);
    assert.throws(() => createRedisLoginThrottleStore({ client: broken, failurePolicy: "open", prefix: "a{b}:" }), TypeError);
    assert.throws(() => createRedisLoginThrottleStore({ client: broken, failurePolicy: "open", timeoutMs: 0 }), TypeError);
  });
});
