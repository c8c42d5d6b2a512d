import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Cluster, Redis } from "ioredis";
import { ConfigError, loadConfig } from "../../src/config/load.ts";
import { createRedisClient, isClusterUrl, parseClusterUrl } from "../../src/core/redis.ts";

describe("Redis URLs", () => {
  it("reads the seed nodes and credentials of a cluster URL", () => {
    assert.deepEqual(parseClusterUrl("redis+cluster://10.0.0.1:7000,10.0.0.2,[::1]:7002"), {
      nodes: [
        { host: "10.0.0.1", port: 7000 },
        { host: "10.0.0.2", port: 6379 },
        { host: "::1", port: 7002 },
      ],
      tls: false,
    });
    assert.deepEqual(parseClusterUrl("rediss+cluster://app:s%40cret@h:1/"), { nodes: [{ host: "h", port: 1 }], tls: true, username: "app", password: "s@cret" });
    assert.deepEqual(parseClusterUrl("redis+cluster://:pw@h:1"), { nodes: [{ host: "h", port: 1 }], tls: false, password: "pw" });
  });

  it("refuses a malformed cluster URL", () => {
    for (const url of ["redis+cluster://", "redis+cluster://h:1/0", "redis+cluster://h:99999", "redis+cluster://h:1,,h:2"]) {
      assert.throws(() => parseClusterUrl(url), TypeError, url);
    }
  });

  it("makes a Cluster client for a cluster URL and a Redis client otherwise", () => {
    assert.equal(isClusterUrl("redis://h:1"), false);
    const cluster = createRedisClient("redis+cluster://127.0.0.1:1", { lazyConnect: true });
    const single = createRedisClient("redis://127.0.0.1:1", { lazyConnect: true });
    assert.ok(cluster instanceof Cluster);
    assert.ok(single instanceof Redis);
    cluster.disconnect();
    single.disconnect();
  });

  it("accepts a cluster REDIS_URL in configuration and names a malformed one", () => {
    assert.equal(loadConfig({ env: { REDIS_URL: "redis+cluster://h1:7000,h2:7001" } }).redisUrl, "redis+cluster://h1:7000,h2:7001");
    assert.throws(() => loadConfig({ env: { REDIS_URL: "redis+cluster://h1:7000/2" } }), (error) => error instanceof ConfigError && /redisUrl/.test(JSON.stringify(error.issues ?? error.message)));
  });
});
