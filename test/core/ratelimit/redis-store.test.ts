import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { once } from "node:events";
import { after, describe, test } from "node:test";
import { Redis, type RedisOptions } from "ioredis";
import { RampartError } from "../../../src/core/errors.ts";
import { principalKey, scopedKey } from "../../../src/core/ratelimit/keys.ts";
import { MemoryRateLimitStore } from "../../../src/core/ratelimit/memory-store.ts";
import { parsePolicy } from "../../../src/core/ratelimit/policy.ts";
import { RedisRateLimitStore, type RedisStoreOptions } from "../../../src/core/ratelimit/redis-store.ts";
import { runRateLimitStoreContract } from "../../contract/ratelimit-store.ts";
import { redisUrl, serviceSkip } from "../../support/services.ts";
import { TcpProxy } from "./tcp-proxy.ts";

const skip = await serviceSkip("redis");
// One prefix per run: suites of other runs (and other engineers) share this Redis.
const prefix = `rampart:test:${randomUUID()}:`;
// Generous: these tests are about semantics, and the machine is shared. Timeout tests set their own.
const TIMEOUT_MS = 2000;

const clients: Redis[] = [];
function client(url = redisUrl(), options: RedisOptions = {}): Redis {
  const redis = new Redis(url, { maxRetriesPerRequest: 0, disconnectTimeout: 100, ...options });
  redis.on("error", () => {}); // connection errors are what several tests are about
  clients.push(redis);
  return redis;
}
let shared: Redis | undefined;
const sharedClient = () => {
  shared ??= client();
  return shared;
};

// Buckets expire by themselves (PX); deleting them keeps a shared Redis tidy between runs.
after(async () => {
  if (clients.length > 0) {
    const keys = await sharedClient()
      .keys(`${prefix}*`)
      .catch(() => []);
    if (keys.length > 0) await sharedClient().del(...keys);
  }
  for (const redis of clients) redis.disconnect();
});

function store(options: Partial<RedisStoreOptions> = {}): RedisRateLimitStore {
  return new RedisRateLimitStore({ client: sharedClient(), prefix, failure: "closed", timeoutMs: TIMEOUT_MS, ...options } as RedisStoreOptions);
}

runRateLimitStoreContract(
  "redis",
  () => {
    let offsetMs = 0;
    const redisStore = store({ clockOffsetMs: () => offsetMs });
    return {
      store: redisStore,
      advance: (ms) => {
        offsetMs += ms;
      },
      close: async () => {
        assert.equal(redisStore.stats().fallbacks, 0, "every decision came from Redis");
        await redisStore.close();
      },
    };
  },
  { skip },
);

const policy = parsePolicy("burst", "20/hour");

describe("RedisRateLimitStore", { skip }, () => {
  test("one round trip per consume, whatever the number of stacked limits", async () => {
    const redis = client();
    await once(redis, "ready");
    let commands = 0;
    const send = redis.sendCommand.bind(redis);
    redis.sendCommand = (...args: Parameters<Redis["sendCommand"]>) => {
      commands++;
      return send(...args);
    };
    const redisStore = new RedisRateLimitStore({ client: redis, prefix, failure: "closed", timeoutMs: TIMEOUT_MS });
    const key = principalKey(randomUUID());
    const stacks = [1, 2, 3].map((n) => [policy, parsePolicy("sustained", "100/day"), parsePolicy("login", "5/15minutes")].slice(0, n));
    for (const [i, stack] of stacks.entries()) {
      await redisStore.consume(stack.map((p) => ({ key, policy: p })));
      assert.equal(commands, i + 1, "commands written to the connection");
      assert.equal(redisStore.stats().roundTrips, i + 1);
    }
    await redisStore.close();
  });

  test("consumePair decides two identities in one call, exactly as two consumes on the memory store", async () => {
    let offsetMs = 0;
    const redisStore = store({ clockOffsetMs: () => offsetMs });
    let clockMs = Date.now();
    const memory = new MemoryRateLimitStore({ clock: () => clockMs });
    const ip = `ip:192.0.2.${Math.floor(Math.random() * 250)}`;
    const user = principalKey(randomUUID());
    const ipStack = [parsePolicy("ip", "4/minute burst 4")];
    const userStack = [parsePolicy("user", "6/minute burst 3"), parsePolicy("user-2", "10/hour")];
    const shapes: string[] = [];
    for (let i = 0; i < 14; i++) {
      const first = ipStack.map((p) => ({ key: i % 5 === 4 ? `${ip}9` : ip, policy: p }));
      const second = userStack.map((p) => ({ key: user, policy: p }));
      const pair = await redisStore.consumePair(first, second);
      const one = memory.consume(first);
      const two = one.allowed ? memory.consume(second) : undefined;
      const shape = (d: { allowed: boolean; results: readonly { remaining: number }[] } | undefined) =>
        d ? `${d.allowed ? "ok" : "no"}:${d.results.map((r) => r.remaining).join(",")}` : "-";
      assert.equal(`${shape(pair.first)} ${shape(pair.second)}`, `${shape(one)} ${shape(two)}`, `request ${i}`);
      shapes.push(`${shape(pair.first)} ${shape(pair.second)}`);
      offsetMs += 7000;
      clockMs += 7000;
    }
    assert.ok(shapes.some((s) => s.startsWith("no")), "the per-IP stack refused some");
    assert.ok(shapes.some((s) => / no:/.test(s)), "the per-principal stack refused some");
    assert.equal(redisStore.stats().roundTrips, 14, "one round trip per pair");
    assert.equal(redisStore.decidesPairs, true);
    await redisStore.close();
  });

  test("buckets are hash-tagged by identity and expire when their TAT passes", async () => {
    const identity = principalKey(randomUUID());
    const redisStore = store();
    await redisStore.consume([
      { key: identity, policy: parsePolicy("wide", "10/minute") },
      { key: scopedKey(identity, "POST /notes"), policy },
    ]);
    const keys = (await sharedClient().keys(`${prefix}{${identity}}*`)).sort();
    assert.deepEqual(keys, [`${prefix}{${identity}}#POST%20%2Fnotes|burst/20/3600000/20`, `${prefix}{${identity}}|wide/10/60000/10`]);
    const ttls = await Promise.all(keys.map((key) => sharedClient().pttl(key)));
    assert.ok(ttls[0]! > 180_000 - 5000 && ttls[0]! <= 180_000, `one 20/hour unit lives 3 min, got ${ttls[0]}`);
    assert.ok(ttls[1]! > 6000 - 5000 && ttls[1]! <= 6000, `one 10/minute unit lives 6 s, got ${ttls[1]}`);
    await redisStore.close();
  });

  test("three instances hammering one key concurrently admit exactly burst", async () => {
    const instances = [client(), client(), client()].map(
      (redis) => new RedisRateLimitStore({ client: redis, prefix, failure: "closed", timeoutMs: 5000 }),
    );
    const key = principalKey(randomUUID());
    const decisions = await Promise.all(
      Array.from({ length: 90 }, (_, i) => instances[i % 3]!.consume([{ key, policy }])),
    );
    assert.equal(decisions.filter((d) => d.allowed).length, policy.burst);
    assert.deepEqual(
      instances.map((s) => s.stats().fallbacks),
      [0, 0, 0],
    );
    await Promise.all(instances.map((s) => s.close()));
  });

  test("failure closed: an unreachable Redis is a 503 at once, reported once, never leaked", async () => {
    const events: unknown[] = [];
    const redisStore = new RedisRateLimitStore({ url: "redis://127.0.0.1:1", failure: "closed", timeoutMs: 100, onUnavailable: (e) => events.push(e) });
    const started = Date.now();
    for (let i = 0; i < 3; i++) {
      await assert.rejects(redisStore.consume([{ key: "ip:192.0.2.1", policy }]), (error: unknown) => {
        assert.ok(error instanceof RampartError);
        assert.equal(error.code, "RAMPART_ERR_STORE_UNAVAILABLE");
        assert.equal(error.status, 503);
        assert.equal(error.detail, "Service unavailable");
        assert.match(error.reason ?? "", /redis/);
        return true;
      });
    }
    assert.ok(Date.now() - started < 1000, "never waits for a dead Redis");
    assert.equal(events.length, 1);
    assert.deepEqual(redisStore.stats(), { roundTrips: 0, failures: 3, fallbacks: 0, available: false });
    await redisStore.close();
  });

  test("failure open: an unreachable Redis falls back to a local limiter, counted and reported", async () => {
    const events: { failure: string }[] = [];
    const redisStore = new RedisRateLimitStore({
      url: "redis://127.0.0.1:1",
      failure: "open",
      timeoutMs: 100,
      fallback: { clock: () => 1_800_000_000_000 },
      onUnavailable: (e) => events.push(e),
    });
    const results = [];
    for (let i = 0; i < policy.burst + 1; i++) results.push((await redisStore.consume([{ key: "ip:192.0.2.1", policy }])).allowed);
    assert.equal(results.filter(Boolean).length, policy.burst, "the fallback still limits");
    assert.equal(results.at(-1), false);
    assert.deepEqual(redisStore.stats(), { roundTrips: 0, failures: 21, fallbacks: 21, available: false });
    assert.deepEqual(
      events.map((e) => e.failure),
      ["open"],
    );
    await redisStore.close();
  });

  test("a Redis that hangs costs at most timeoutMs", async () => {
    const proxy = new TcpProxy(redisUrl());
    await proxy.start();
    const redis = client(proxy.url);
    await once(redis, "ready");
    const redisStore = new RedisRateLimitStore({ client: redis, prefix, failure: "closed", timeoutMs: 150 });
    assert.ok((await redisStore.consume([{ key: principalKey(randomUUID()), policy }])).allowed);
    proxy.hang();
    const started = Date.now();
    await assert.rejects(redisStore.consume([{ key: principalKey(randomUUID()), policy }]), { code: "RAMPART_ERR_STORE_UNAVAILABLE" });
    const waited = Date.now() - started;
    assert.ok(waited >= 140 && waited < 1000, `waited ${waited} ms`);
    await redisStore.close();
    redis.disconnect();
    await proxy.stop();
  });

  test("recovers by itself when Redis comes back", async () => {
    const proxy = new TcpProxy(redisUrl());
    await proxy.start();
    const redis = client(proxy.url, { retryStrategy: () => 20, enableOfflineQueue: false });
    await once(redis, "ready");
    const unavailable: unknown[] = [];
    const recovered: { failures: number }[] = [];
    const redisStore = new RedisRateLimitStore({
      client: redis,
      prefix,
      failure: "open",
      timeoutMs: TIMEOUT_MS,
      onUnavailable: (e) => unavailable.push(e),
      onRecovered: (e) => recovered.push(e),
    });
    const key = principalKey(randomUUID());
    await redisStore.consume([{ key, policy }]);

    const closed = once(redis, "close");
    await proxy.stop();
    await closed;
    assert.ok((await redisStore.consume([{ key, policy }])).allowed, "served by the fallback");
    assert.equal(unavailable.length, 1);

    const ready = once(redis, "ready");
    await proxy.start();
    await ready;
    const back = await redisStore.consume([{ key, policy }]);
    assert.equal(back.closest.remaining, policy.burst - 2, "Redis kept the state from before the outage");
    assert.deepEqual(
      recovered.map((e) => e.failures),
      [1],
    );
    assert.deepEqual(redisStore.stats(), { roundTrips: 2, failures: 1, fallbacks: 1, available: true });
    await redisStore.close();
    redis.disconnect();
    await proxy.stop();
  });

  test("waits for the first connection instead of refusing the first requests", async () => {
    const redisStore = new RedisRateLimitStore({ url: redisUrl(), prefix, failure: "closed", timeoutMs: TIMEOUT_MS });
    assert.ok((await redisStore.consume([{ key: principalKey(randomUUID()), policy }])).allowed);
    assert.equal(redisStore.stats().failures, 0);
    await redisStore.close();
  });

  test("validates its options", () => {
    const base = { client: sharedClient(), failure: "closed" } as const;
    assert.throws(() => new RedisRateLimitStore({ ...base, failure: "maybe" as never }), /"failure" option must be "open" or "closed"/);
    assert.throws(() => new RedisRateLimitStore({ ...base, prefix: "a{b}" }), /"prefix" option/);
    assert.throws(() => new RedisRateLimitStore({ ...base, timeoutMs: 0 }), /"timeoutMs" option/);
    assert.throws(() => new RedisRateLimitStore({ failure: "open" } as never), /either a "client" or a "url"/);
  });
});
