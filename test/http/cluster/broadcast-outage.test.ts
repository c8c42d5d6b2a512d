/**
 * Pub/sub forgets what it could not deliver. These tests prove an instance never trusts its local deny
 * list and caches while it may have missed something: it is "in sync" only once (re)subscribed AND
 * caught up from storage; until then every token is checked against storage (failurePolicy open) or
 * refused with 503 (closed). Faults are injected by killing the subscriber's connection (CLIENT KILL
 * TYPE pubsub) on the shared Redis; test/fleet/ kills a whole redis-server under real processes.
 */
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import pino from "pino";
import { loadConfig } from "../../../src/config/load.ts";
import { RampartError } from "../../../src/core/errors.ts";
import { createRedisClient, type RedisClient } from "../../../src/core/redis.ts";
import { createRevocationList } from "../../../src/core/revocation.ts";
import type { Principal } from "../../../src/http/request-state.ts";
import type { PipelineRequest } from "../../../src/http/stage-io.ts";
import { createAuthenticator } from "../../../src/identity/authenticator.ts";
import { startBroadcast } from "../../../src/identity/broadcast.ts";
import { type IdentityContext, openIdentity } from "../../../src/identity/context.ts";
import { redisUrl, serviceSkip } from "../../support/services.ts";

const skip = await serviceSkip("redis");
const silent = pino({ level: "silent" });

async function until(condition: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not reached in time");
    await sleep(5);
  }
}

/** Drops every subscriber connection on the shared Redis; ioredis reconnects by itself. */
async function killSubscribers(admin: RedisClient): Promise<void> {
  await admin.call("CLIENT", "KILL", "TYPE", "pubsub");
}

function bearer(token: string): PipelineRequest {
  return {
    headers: { authorization: `Bearer ${token}` },
    routeOptions: { url: "/api/notes", config: {} },
    rampart: { client: { ip: "127.0.0.1", scheme: "http" }, principal: undefined },
  } as unknown as PipelineRequest;
}

describe("broadcast sync state", { skip }, () => {
  let publisher: RedisClient;
  let admin: RedisClient;
  before(() => {
    publisher = createRedisClient(redisUrl(), { enableOfflineQueue: true });
    admin = createRedisClient(redisUrl(), { enableOfflineQueue: true });
  });
  after(() => {
    publisher?.disconnect();
    admin?.disconnect();
  });

  it("is out of sync until subscribed and caught up, and again after the connection drops", async () => {
    let resyncs = 0;
    const changes: boolean[] = [];
    const broadcast = startBroadcast(
      publisher,
      {
        revocations: createRevocationList(),
        invalidateUser: () => {},
        reloadRoles: async () => {},
        resync: async () => {
          resyncs++;
        },
        onSyncChange: (inSync) => changes.push(inSync),
      },
      silent,
    );
    try {
      assert.equal(broadcast.inSync, false, "not in sync before the first subscription");
      await until(() => broadcast.inSync);
      assert.equal(resyncs, 1);
      await killSubscribers(admin);
      await until(() => !broadcast.inSync, 2000);
      await until(() => broadcast.inSync);
      assert.equal(resyncs, 2, "caught up again after reconnecting");
      assert.deepEqual(changes, [true, false, true]);
    } finally {
      await broadcast.close();
    }
  });

  it("stays out of sync while catching up fails, and retries", async () => {
    let failures = 1;
    const broadcast = startBroadcast(
      publisher,
      {
        revocations: createRevocationList(),
        invalidateUser: () => {},
        reloadRoles: async () => {},
        resync: async () => {
          if (failures-- > 0) throw new Error("storage down");
        },
      },
      silent,
    );
    try {
      await sleep(300);
      assert.equal(broadcast.inSync, false, "a failed catch-up must not count as in sync");
      await until(() => broadcast.inSync, 3000);
    } finally {
      await broadcast.close();
    }
  });
});

describe("an instance that may have missed revocations", { skip }, () => {
  const dataDir = mkdtempSync(join(tmpdir(), "rampart-sync-"));
  let a: IdentityContext;
  let b: IdentityContext;
  let admin: RedisClient;
  let userId = "";

  const open = (failurePolicy: "open" | "closed" = "open") =>
    openIdentity(loadConfig({ env: { RAMPART_DATA_DIR: dataDir, REDIS_URL: redisUrl() }, overrides: { rateLimit: { failurePolicy } } }), silent);

  before(async () => {
    a = await open();
    b = await open();
    admin = createRedisClient(redisUrl(), { enableOfflineQueue: true });
    const user = await a.repos.users.create({ email: `sync-${Date.now()}@example.com`, passwordHash: "x", roles: ["user"] });
    userId = user.id;
    await until(() => a.revocationsInSync() && b.revocationsInSync());
  });
  after(async () => {
    await a?.close();
    await b?.close();
    admin?.disconnect();
  });

  async function issue(): Promise<{ token: string; jti: string; exp: number }> {
    const issued = await a.issuer.issue({ sub: userId, roles: ["user"], sid: `s-${Math.random()}` });
    const claims = await a.verifier.verify(issued.token);
    return { token: issued.token, jti: claims.jti, exp: claims.exp };
  }

  const authenticate = (identity: IdentityContext, token: string) =>
    Promise.resolve(createAuthenticator(identity).authenticate(bearer(token), {} as never)) as Promise<Principal | undefined>;

  async function refusal(work: Promise<unknown>): Promise<string> {
    const error = await work.then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(error instanceof RampartError, "expected a refusal");
    return error.code;
  }

  it("out of sync, a revocation that never reached it is found in storage", async () => {
    const { token, jti, exp } = await issue();
    assert.ok(await authenticate(b, token));
    // Written to storage only, as when the broadcast was lost: the in-sync instance trusts its list.
    await a.repos.revocations.revokeJti(jti, userId, new Date(exp * 1000));
    assert.ok(await authenticate(b, token), "in sync, the local list is trusted (no storage read per request)");
    const inSync = b.revocationsInSync;
    b.revocationsInSync = () => false;
    try {
      assert.equal(await refusal(authenticate(b, token)), "RAMPART_ERR_INVALID_TOKEN");
    } finally {
      b.revocationsInSync = inSync;
    }
  });

  it("out of sync, a user disabled meanwhile is refused though cached as enabled", async () => {
    const { token } = await issue();
    assert.ok(await authenticate(b, token), "caches the user as enabled");
    await a.repos.users.setDisabled(userId, true);
    const inSync = b.revocationsInSync;
    b.revocationsInSync = () => false;
    try {
      assert.equal(await refusal(authenticate(b, token)), "RAMPART_ERR_INVALID_TOKEN");
    } finally {
      b.revocationsInSync = inSync;
      await a.repos.users.setDisabled(userId, false);
      b.users.invalidate(userId);
    }
  });

  it("after reconnecting, it catches up from storage before trusting its list again", async () => {
    const { token, jti, exp } = await issue();
    const sessionToken = await issue();
    assert.ok(await authenticate(b, token));
    await a.repos.revocations.revokeJti(jti, userId, new Date(exp * 1000));
    await a.repos.users.setDisabled(userId, true);
    await killSubscribers(admin);
    await until(() => !b.revocationsInSync(), 2000);
    await until(() => b.revocationsInSync());
    const claims = await b.verifier.verify(token);
    assert.equal(b.revocations.isRevoked(claims), true, "the missed revocation is in the local list now");
    assert.equal(await refusal(authenticate(b, sessionToken.token)), "RAMPART_ERR_INVALID_TOKEN", "the user cache was dropped");
    await a.repos.users.setDisabled(userId, false);
    b.users.invalidate(userId);
  });

  it("failing closed, an out-of-sync instance refuses every token with 503", async () => {
    const closed = await open("closed");
    try {
      const { token } = await issue();
      await until(() => closed.revocationsInSync());
      assert.ok(await authenticate(closed, token));
      closed.revocationsInSync = () => false;
      assert.equal(await refusal(authenticate(closed, token)), "RAMPART_ERR_STORE_UNAVAILABLE");
    } finally {
      await closed.close();
    }
  });
});
