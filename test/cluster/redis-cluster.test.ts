/**
 * Rampart against a real Redis Cluster (3 masters, started here; never the shared Redis on 6379): the
 * store contracts, stacked limits decided atomically in one slot, identities spread over the nodes, and
 * revocations broadcast between two servers configured with `REDIS_URL=redis+cluster://…`.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { Cluster } from "ioredis";
import pino from "pino";
import { loadConfig } from "../../src/config/load.ts";
import { principalKey, scopedKey } from "../../src/core/ratelimit/keys.ts";
import { parsePolicy } from "../../src/core/ratelimit/policy.ts";
import { RedisRateLimitStore } from "../../src/core/ratelimit/redis-store.ts";
import { createRedisClient, type RedisClient } from "../../src/core/redis.ts";
import { createRevocationList } from "../../src/core/revocation.ts";
import { createRedisLoginThrottleStore } from "../../src/core/throttle/redis-store.ts";
import { loadRevocationBacklog, REVOCATION_BACKLOG } from "../../src/identity/broadcast.ts";
import { composeServer, type RampartServer } from "../../src/server/compose.ts";
import { runRateLimitStoreContract } from "../contract/ratelimit-store.ts";
import { loginThrottleContract } from "../core/throttle/contract.ts";
import { type RedisClusterHandle, redisClusterSkip, startRedisCluster } from "../support/redis-cluster.ts";

const skip = await redisClusterSkip();
const cluster: RedisClusterHandle | undefined = skip ? undefined : await startRedisCluster();
const url = cluster?.url ?? "redis+cluster://127.0.0.1:1";
const prefix = `rampart:test:${randomUUID()}:`;

const clients: RedisClient[] = [];
function connect(): RedisClient {
  const client = createRedisClient(url, { maxRetriesPerRequest: 1 });
  client.on("error", () => {});
  clients.push(client);
  return client;
}
let sharedClient: RedisClient | undefined;
const shared = () => {
  sharedClient ??= connect();
  return sharedClient;
};

after(async () => {
  for (const client of clients) client.disconnect();
  await cluster?.stop();
});

/** The node (by port) that holds `key`, and its slot, asked of the cluster itself. */
async function placement(key: string): Promise<{ slot: number; port: number }> {
  const slot = Number(await cluster!.cli(cluster!.ports[0]!, "cluster", "keyslot", key));
  const nodes = (shared() as Cluster).nodes("master");
  for (const node of nodes) {
    const owned = await node.cluster("COUNTKEYSINSLOT", slot);
    if (Number(owned) > 0) return { slot, port: node.options.port! };
  }
  throw new Error(`no node holds ${key}`);
}

/** All keys under `pattern`, per node port. */
async function keysByNode(pattern: string): Promise<Map<number, string[]>> {
  const result = new Map<number, string[]>();
  for (const port of cluster!.ports) {
    const out = await cluster!.cli(port, "--scan", "--pattern", pattern);
    result.set(port, out ? out.split("\n") : []);
  }
  return result;
}

runRateLimitStoreContract(
  "redis cluster",
  () => {
    let offsetMs = 0;
    const store = new RedisRateLimitStore({ client: shared(), prefix, failure: "closed", timeoutMs: 2000, clockOffsetMs: () => offsetMs });
    return {
      store,
      advance: (ms) => {
        offsetMs += ms;
      },
      close: async () => {
        assert.equal(store.stats().fallbacks, 0, "every decision came from the cluster");
        await store.close();
      },
    };
  },
  { skip },
);

loginThrottleContract("redis cluster", {
  skip,
  makeStore: () => createRedisLoginThrottleStore({ client: shared(), failurePolicy: "closed", prefix: `${prefix}${randomUUID()}:`, timeoutMs: 2000 }),
});

describe("Redis Cluster", { skip }, () => {
  it("decides stacked limits atomically: 2 instances × 40 concurrent consumes admit exactly the tightest limit", async () => {
    // Each instance opens its own cluster connection from the URL, as createLimitStore does.
    const stores = [0, 1].map(() => new RedisRateLimitStore({ url, prefix, failure: "closed", timeoutMs: 5000 }));
    try {
      const key = principalKey(randomUUID());
      const loose = parsePolicy("loose", "30/hour");
      const tight = parsePolicy("tight", "12/hour");
      const stack = [
        { key, policy: loose },
        { key: scopedKey(key, "POST /orders"), policy: tight },
      ];
      const decisions = await Promise.all(stores.flatMap((store) => Array.from({ length: 40 }, () => store.consume(stack))));
      assert.equal(decisions.filter((d) => d.allowed).length, 12, "exactly the tight limit was admitted");
      for (const store of stores) assert.equal(store.stats().fallbacks, 0);
      // A refused stack charged nothing: the loose bucket holds exactly 12 of its 30.
      const probe = await stores[0]!.consume([{ key, policy: loose }]);
      assert.ok(probe.allowed);
      assert.equal(probe.closest.remaining, 30 - 12 - 1);
    } finally {
      await Promise.all(stores.map((store) => store.close()));
    }
  });

  it("keeps one identity's buckets in one slot and spreads identities over the nodes", async () => {
    const runPrefix = `${prefix}spread:${randomUUID()}:`;
    const store = new RedisRateLimitStore({ client: shared(), prefix: runPrefix, failure: "closed", timeoutMs: 2000 });
    const policies = [parsePolicy("burst", "10/minute"), parsePolicy("sustained", "100/hour")];
    const identities = Array.from({ length: 24 }, () => principalKey(randomUUID()));
    for (const key of identities) {
      await store.consume(policies.map((policy) => ({ key, policy })));
      await store.consume(policies.map((policy) => ({ key: scopedKey(key, "POST /auth/login"), policy })));
    }
    const byNode = await keysByNode(`${runPrefix}*`);
    const all = [...byNode.values()].flat();
    assert.equal(all.length, identities.length * 4, "four buckets per identity");
    for (const key of identities) {
      const mine = all.filter((k) => k.includes(`{${key}}`));
      assert.equal(mine.length, 4);
      const slots = new Set(await Promise.all(mine.map(async (k) => (await placement(k)).slot)));
      assert.equal(slots.size, 1, `${key}: all buckets in one slot`);
      const holders = [...byNode].filter(([, keys]) => keys.some((k) => mine.includes(k))).map(([port]) => port);
      assert.equal(holders.length, 1, `${key}: all buckets on one node`);
    }
    const used = [...byNode.values()].filter((keys) => keys.length > 0).length;
    assert.ok(used >= 2, `identities spread over ${used} of 3 nodes`);
    await store.close();
  });

  it("throttle keys of one client share a slot", async () => {
    const throttlePrefix = `${prefix}login:${randomUUID()}:`;
    const store = createRedisLoginThrottleStore({ client: shared(), failurePolicy: "closed", prefix: throttlePrefix, timeoutMs: 2000 });
    const policy = { freeFailures: 5, failureWindowMs: 60_000, baseDelayMs: 1000, maxDelayMs: 60_000, clientMaxFailures: 100, clientWindowMs: 3_600_000 };
    await store.recordFailure({ email: "alice@example.com", client: "ip:203.0.113.7" }, Date.now(), policy);
    const keys = [...(await keysByNode(`${throttlePrefix}*`)).values()].flat();
    assert.equal(keys.length, 2);
    const slots = new Set(await Promise.all(keys.map(async (k) => (await placement(k)).slot)));
    assert.equal(slots.size, 1);
    store.close();
  });

  describe("two servers on the cluster", () => {
    const json = { "content-type": "application/json" };
    const password = "a long enough passphrase for tests";
    let dataDir: string;
    let a: RampartServer | undefined;
    let b: RampartServer | undefined;
    const start = async () => {
      dataDir ??= mkdtempSync(join(tmpdir(), "rampart-redis-cluster-data-"));
      const config = () => loadConfig({ env: { RAMPART_DATA_DIR: dataDir, REDIS_URL: url } });
      a ??= await composeServer(config(), pino({ level: "silent" }));
      b ??= await composeServer(config(), pino({ level: "silent" }));
      return { a, b };
    };
    after(async () => {
      await a?.close();
      await b?.close();
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    });

    it("reports the cluster ready", async () => {
      const { b } = await start();
      const res = await b.app.inject({ method: "GET", url: "/readyz" });
      assert.equal(res.statusCode, 200, res.body);
    });

    it("a token logged out on A is refused by B at once, and the backlog holds the revocation", async (t) => {
      const { a, b } = await start();
      const email = `logout-${randomUUID()}@example.com`;
      const ip = "192.0.2.10";
      assert.equal((await a.app.inject({ method: "POST", url: "/auth/register", headers: json, remoteAddress: ip, payload: { email, password } })).statusCode, 201);
      const login = await a.app.inject({ method: "POST", url: "/auth/login", headers: json, remoteAddress: ip, payload: { email, password } });
      assert.equal(login.statusCode, 200, login.body);
      const token = (login.json() as { access_token: string }).access_token;
      const auth = { authorization: `Bearer ${token}` };
      assert.equal((await b.app.inject({ method: "GET", url: "/auth/me", headers: auth })).statusCode, 200, "B has cached the verified token");

      assert.equal((await a.app.inject({ method: "POST", url: "/auth/logout", headers: auth })).statusCode, 204);
      const loggedOut = Date.now();
      let refusedAfterMs: number | undefined;
      for (let i = 0; i < 100 && refusedAfterMs === undefined; i++) {
        if ((await b.app.inject({ method: "GET", url: "/auth/me", headers: auth })).statusCode === 401) refusedAfterMs = Date.now() - loggedOut;
        else await sleep(10);
      }
      assert.ok(refusedAfterMs !== undefined && refusedAfterMs < 500, `B refused the token ${refusedAfterMs ?? "never"} ms after the logout`);
      t.diagnostic(`B refused the token ${refusedAfterMs} ms after A answered the logout`);

      // The backlog (a sorted set written in one MULTI with the PUBLISH) revokes it for a late starter.
      const claims = JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString()) as { jti: string; sid?: string; sub: string; iat: number };
      const members = await shared().zrangebyscore(REVOCATION_BACKLOG, Math.floor(Date.now() / 1000), "+inf");
      assert.ok(members.some((m) => m.includes(claims.sid ?? claims.jti)), "the revocation is in the backlog");
      const late = createRevocationList();
      assert.equal(late.isRevoked(claims), false);
      assert.ok((await loadRevocationBacklog(shared(), late)) >= 1);
      assert.equal(late.isRevoked(claims), true, "a service starting later refuses the token too");
    });
  });
});
