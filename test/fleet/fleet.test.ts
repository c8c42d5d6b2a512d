/**
 * Three real `rampart serve` processes on one PostgreSQL and one Redis of the suite's own: the
 * guarantees of "many machines" hold across the fleet and through a Redis outage. A token issued by one
 * instance is valid on all; a logout, a refresh-token replay, a login limit and a login back-off are
 * enforced fleet-wide; SIGKILLing Redis mid-run crashes nothing, /readyz names it, authenticated traffic
 * goes on (failurePolicy open) while revocations made before and during the outage stay refused on every
 * instance, and service resumes by itself when Redis returns. With failurePolicy closed, the outage is a
 * 503 problem+json. Each test prints its figures.
 * (The PostgreSQL outage is test/fleet/postgres-outage.test.ts.)
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import {
  createFleetClient,
  makeAdmin,
  type OwnRedis,
  type Reply,
  redisServerSkip,
  startFleet,
  startOwnRedis,
  stopFleet,
  waitFor,
} from "../support/fleet.ts";
import { type PostgresCluster, postgresClusterSkip, startPostgresCluster } from "../support/postgres-cluster.ts";
import { spawnCli } from "../support/cli.ts";
import type { ServerProcess } from "../support/server-process.ts";

const skip = postgresClusterSkip() || redisServerSkip();
const password = "correct horse battery staple";
/** The login limit under test: exactly 5 logins per client IP, fleet-wide. */
const LOGIN_LIMIT = 5;
/** The login back-off: the 3rd failure for one (email, client) locks the pair for a minute. */
const FREE_FAILURES = 3;

/** Every other limit out of the way, so each test sees only what it is about. */
function fleetConfig(failurePolicy: "open" | "closed") {
  return {
    logging: { level: "warn" },
    loginThrottle: { freeFailures: FREE_FAILURES, baseDelaySeconds: 60 },
    rateLimit: {
      failurePolicy,
      perIp: ["100000/minute"],
      perPrincipal: ["100000/second"],
      register: ["100000/minute"],
      login: [`${LOGIN_LIMIT}/hour burst ${LOGIN_LIMIT}`],
    },
  };
}

interface Session {
  access_token: string;
  refresh_token: string;
}

interface Problem {
  type: string;
  status: number;
  policy?: string;
}

describe("a fleet of rampart serve processes sharing one PostgreSQL and one Redis", { skip, timeout: 150_000 }, () => {
  let postgres: PostgresCluster;
  let redis: OwnRedis;
  let root = "";
  const client = createFleetClient();

  before(async () => {
    root = mkdtempSync(join(tmpdir(), "rampart-fleet-"));
    // Assigned one by one, so that `after` removes whichever started when the other did not.
    await Promise.all([
      startPostgresCluster().then((cluster) => {
        postgres = cluster;
      }),
      startOwnRedis().then((server) => {
        redis = server;
      }),
    ]);
  });

  after(async () => {
    client.close();
    await redis?.destroy();
    await postgres?.destroy();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  async function launch(count: number, failurePolicy: "open" | "closed"): Promise<ServerProcess[]> {
    const config = join(root, `rampart-${failurePolicy}.json`);
    writeFileSync(config, JSON.stringify(fleetConfig(failurePolicy)));
    const started = performance.now();
    const servers = await startFleet(count, { RAMPART_CONFIG: config, DATABASE_URL: postgres.url, REDIS_URL: redis.url }, root);
    console.log(`${count} instance(s), failurePolicy ${failurePolicy}, started in ${Math.round(performance.now() - started)} ms`);
    return servers;
  }

  async function register(base: string): Promise<{ id: string; email: string }> {
    const email = `fleet-${randomUUID()}@example.com`;
    const reply = await client.call(base, "/auth/register", { method: "POST", body: { email, password } });
    assert.equal(reply.status, 201, reply.text);
    return { id: reply.json<{ id: string }>().id, email };
  }

  /** Logs in from a fresh client IP unless `from` is given: the login limit is per IP. */
  async function login(base: string, email: string, from = client.freshAddress()): Promise<Session> {
    const reply = await client.call(base, "/auth/login", { method: "POST", body: { email, password }, from });
    assert.equal(reply.status, 200, reply.text);
    return reply.json<Session>();
  }

  const me = (base: string, token: string) => client.call(base, "/auth/me", { token });
  const logout = (base: string, token: string, body: object = {}) => client.call(base, "/auth/logout", { method: "POST", token, body });
  const refresh = (base: string, refreshToken: string) => client.call(base, "/auth/refresh", { method: "POST", body: { refresh_token: refreshToken } });

  async function statusesOf(servers: ServerProcess[], token: string): Promise<number[]> {
    return Promise.all(servers.map(async (server) => (await me(server.url, token)).status));
  }

  function assertAlive(servers: ServerProcess[]): void {
    for (const [i, server] of servers.entries()) assert.equal(server.child.exitCode, null, `instance ${i + 1} exited:\n${server.output()}`);
  }

  describe("failurePolicy open (the default): three instances", () => {
    let fleet: ServerProcess[] = [];
    const urls = () => fleet.map((s) => s.url);

    before(async () => {
      fleet = await launch(3, "open");
    });

    after(async () => {
      await stopFleet(fleet);
    });

    it("accepts a token issued by any instance on every instance", async () => {
      for (const server of fleet) assert.match(server.output(), /storage: PostgreSQL[\s\S]*shared state: Redis/);
      const user = await register(urls()[0]!);
      for (const [issuer, base] of urls().entries()) {
        const { access_token } = await login(base, user.email);
        const replies = await Promise.all(urls().map((url) => me(url, access_token)));
        console.log(`token issued by instance ${issuer + 1}: /auth/me ${replies.map((r) => r.status).join(", ")} on instances 1, 2, 3`);
        for (const reply of replies) {
          assert.equal(reply.status, 200, reply.text);
          assert.equal(reply.json<{ id: string }>().id, user.id);
        }
      }
    });

    it("refuses a logged-out token on the other instances within 100 ms (worst of 20 logouts)", async () => {
      const user = await register(urls()[0]!);
      const delays: number[] = [];
      let staleAccepts = 0;
      for (let round = 0; round < 20; round++) {
        const origin = round % 3;
        const others = urls().filter((_, i) => i !== origin);
        const { access_token } = await login(urls()[origin]!, user.email);
        // Verified (and cached) on the others first: what must die is a token they already trust.
        assert.deepEqual(await Promise.all(others.map(async (url) => (await me(url, access_token)).status)), [200, 200]);
        const out = await logout(urls()[origin]!, access_token);
        assert.equal(out.status, 204, out.text);
        const loggedOutAt = performance.now();
        for (const result of await Promise.all(others.map((url) => pollUntilRefused(url, access_token, loggedOutAt)))) {
          delays.push(result.delayMs);
          staleAccepts += result.accepted;
        }
      }
      const sorted = [...delays].sort((a, b) => a - b);
      const worst = sorted.at(-1) ?? Number.NaN;
      console.log(
        `logout → first 401 on another instance, ${delays.length} measurements: worst ${worst.toFixed(1)} ms, ` +
          `median ${sorted[Math.floor(sorted.length / 2)]?.toFixed(1)} ms; requests still accepted after the logout answer: ${staleAccepts}`,
      );
      assert.ok(worst < 100, `worst propagation delay ${worst.toFixed(1)} ms`);
      // DESIGN.md: "no window where another instance still accepts the token" once the logout has answered.
      assert.equal(staleAccepts, 0, "requests accepted by another instance after the logout answered");
    });

    /** Polls as fast as one connection allows; the delay is from the logout's answer to the 401's arrival. */
    async function pollUntilRefused(base: string, token: string, since: number): Promise<{ delayMs: number; accepted: number }> {
      let accepted = 0;
      while (performance.now() - since < 5000) {
        const reply = await me(base, token);
        if (reply.status === 401) return { delayMs: performance.now() - since, accepted };
        assert.equal(reply.status, 200, reply.text);
        accepted++;
      }
      throw new Error(`${base} still accepts the logged-out token 5 s later (${accepted} requests)`);
    }

    it("refuses a cached API token on every instance as soon as it is deleted, or revoked by the CLI", async () => {
      const one = urls()[0]!;
      const user = await register(one);
      const { access_token } = await login(one, user.email);
      const create = async () => {
        const reply = await client.call(one, "/auth/tokens", { method: "POST", token: access_token, body: { name: randomUUID(), scopes: ["profile:read"] } });
        assert.equal(reply.status, 201, reply.text);
        return reply.json<{ id: string; token: string }>();
      };
      const trustedEverywhere = async (token: string) => {
        // Twice: the second answer comes from each instance's API-token cache.
        for (let i = 0; i < 2; i++) assert.deepEqual(await statusesOf(fleet, token), [200, 200, 200]);
      };

      const deleted = await create();
      await trustedEverywhere(deleted.token);
      const gone = await client.call(one, `/auth/tokens/${deleted.id}`, { method: "DELETE", token: access_token });
      assert.equal(gone.status, 204, gone.text);
      const afterDelete = await statusesOf(fleet, deleted.token);
      console.log(`API token deleted on instance 1: /auth/me ${afterDelete.join(", ")} on instances 1, 2, 3 right after the answer`);
      assert.deepEqual(afterDelete, [401, 401, 401]);

      const revoked = await create();
      await trustedEverywhere(revoked.token);
      const run = await spawnCli(join(root, "cli"), ["tokens", "revoke", "--id", revoked.id], {
        env: { DATABASE_URL: postgres.url, REDIS_URL: redis.url },
      });
      assert.equal(run.status, 0, run.stderr);
      const afterCli = await statusesOf(fleet, revoked.token);
      console.log(`API token revoked by \`rampart tokens revoke\`: /auth/me ${afterCli.join(", ")} on instances 1, 2, 3 right after the CLI exited`);
      assert.deepEqual(afterCli, [401, 401, 401]);
    });

    it("revokes the whole family everywhere when a spent refresh token is replayed on another instance", async () => {
      const [one, two, three] = urls() as [string, string, string];
      const user = await register(one);
      const first = await login(one, user.email);
      const rotated = await refresh(one, first.refresh_token);
      assert.equal(rotated.status, 200, rotated.text);
      const second = rotated.json<Session>();
      // Both access tokens of the family are trusted (and cached) on instance 3 before the theft.
      assert.deepEqual(await statusesOf(fleet, second.access_token), [200, 200, 200]);
      assert.equal((await me(three, first.access_token)).status, 200);

      const replay = await refresh(two, first.refresh_token);
      const after = {
        replayOnInstance2: replay.status,
        newRefreshOnInstance3: (await refresh(three, second.refresh_token)).status,
        newAccessOn123: await statusesOf(fleet, second.access_token),
        oldAccessOn123: await statusesOf(fleet, first.access_token),
      };
      console.log(`refresh-token replay: ${JSON.stringify(after)}`);
      assert.deepEqual(after, { replayOnInstance2: 401, newRefreshOnInstance3: 401, newAccessOn123: [401, 401, 401], oldAccessOn123: [401, 401, 401] });
    });

    it(`admits exactly ${LOGIN_LIMIT} of 30 concurrent logins from one client IP spread over three instances`, async () => {
      const user = await register(urls()[0]!);
      const from = client.freshAddress();
      const replies = await Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          client.call(urls()[i % 3]!, "/auth/login", { method: "POST", body: { email: user.email, password }, from }),
        ),
      );
      const admittedBy = [0, 1, 2].map((n) => replies.filter((r, i) => i % 3 === n && r.status !== 429).length);
      console.log(`login limit ${LOGIN_LIMIT}/hour burst ${LOGIN_LIMIT}, 30 concurrent logins from ${from}: admitted per instance ${admittedBy.join(" + ")}`);
      assert.equal(admittedBy.reduce((a, b) => a + b), LOGIN_LIMIT);
      for (const reply of replies) {
        if (reply.status !== 429) {
          assert.equal(reply.status, 200, reply.text);
          continue;
        }
        assert.ok(Number(reply.headers["retry-after"]) > 0, "Retry-After");
        const problem = reply.json<Problem>();
        assert.equal(problem.type, "https://rampart.dev/problems/rate-limited");
        assert.equal(problem.policy, "login");
      }
    });

    it("shares the login back-off: failures on instance 1 throttle the same client on instances 2 and 3", async () => {
      const [one, two, three] = urls() as [string, string, string];
      const user = await register(one);
      const from = client.freshAddress();
      for (let n = 0; n < FREE_FAILURES; n++) {
        const failed = await client.call(one, "/auth/login", { method: "POST", body: { email: user.email, password: "wrong password, long enough" }, from });
        assert.equal(failed.status, 401, failed.text);
      }
      const onTwo = await client.call(two, "/auth/login", { method: "POST", body: { email: user.email, password }, from });
      const onThree = await client.call(three, "/auth/login", { method: "POST", body: { email: user.email, password }, from });
      const elsewhere = await client.call(two, "/auth/login", { method: "POST", body: { email: user.email, password }, from: client.freshAddress() });
      console.log(
        `after ${FREE_FAILURES} failures on instance 1: right password from the same client → instance 2 ${onTwo.status} ` +
          `(Retry-After ${onTwo.headers["retry-after"]} s), instance 3 ${onThree.status}; from another client → ${elsewhere.status}`,
      );
      for (const reply of [onTwo, onThree]) {
        assert.equal(reply.status, 429, reply.text);
        assert.ok(Number(reply.headers["retry-after"]) > 0, "Retry-After");
        assert.equal(reply.json<Problem>().type, "https://rampart.dev/problems/login-throttled");
      }
      assert.equal(elsewhere.status, 200, "the back-off is per (email, client), not a lock-out of the account");
    });

    describe("Redis SIGKILLed mid-run, then started again on the same port", () => {
      let admin = "";
      let revokedBefore = "";
      let loggedOutDuring = "";
      let disabledDuring = { id: "", token: "" };
      let live = "";
      let load: Load | undefined;

      before(async () => {
        const base = urls()[0]!;
        const adminUser = await register(base);
        await makeAdmin(postgres.url, adminUser.id);
        admin = (await login(base, adminUser.email)).access_token;
        revokedBefore = (await login(base, (await register(base)).email)).access_token;
        assert.equal((await logout(base, revokedBefore)).status, 204);
        loggedOutDuring = (await login(base, (await register(base)).email)).access_token;
        const disabled = await register(base);
        disabledDuring = { id: disabled.id, token: (await login(base, disabled.email)).access_token };
        live = (await login(base, (await register(base)).email)).access_token;
        // Every instance already trusts (and caches) the tokens that are about to be revoked.
        for (const token of [admin, loggedOutDuring, disabledDuring.token, live]) assert.deepEqual(await statusesOf(fleet, token), [200, 200, 200]);
        assert.deepEqual(await statusesOf(fleet, revokedBefore), [401, 401, 401]);
        load = startLoad(fleet, live, revokedBefore);
        await sleep(300);
      });

      after(async () => {
        await load?.stop();
        await redis.start(); // idempotent: back up even when a test failed mid-outage
      });

      it("survives the kill: every /readyz answers 503 naming redis, authenticated requests still work", async () => {
        await redis.kill();
        const killedAt = performance.now();
        const readyz = await Promise.all(
          urls().map(async (url) => {
            await waitFor(`${url}/readyz to answer 503`, 10_000, async () => (await client.call(url, "/readyz")).status === 503, 20);
            return { ms: Math.round(performance.now() - killedAt), reply: await client.call(url, "/readyz") };
          }),
        );
        console.log(`Redis killed: /readyz 503 after ${readyz.map((r) => r.ms).join(", ")} ms; body ${readyz[0]?.reply.text}`);
        for (const { reply } of readyz) assert.deepEqual(reply.json<{ checks: unknown }>().checks, { storage: "ok", redis: "unavailable" });
        assertAlive(fleet);
        assert.deepEqual(await statusesOf(fleet, live), [200, 200, 200], "failurePolicy open: limits are decided locally");
        assert.deepEqual(await statusesOf(fleet, revokedBefore), [401, 401, 401], "revoked before the outage");
        for (const url of urls()) assert.equal((await client.call(url, "/healthz")).status, 200);
      });

      it("refuses on instances 2 and 3, at once, a token logged out on instance 1 while Redis is down", async () => {
        const out = await logout(urls()[0]!, loggedOutDuring);
        assert.equal(out.status, 204, out.text);
        const statuses = await statusesOf(fleet, loggedOutDuring);
        console.log(`logout during the outage: the token on instances 1, 2, 3 → ${statuses.join(", ")}`);
        assert.deepEqual(statuses, [401, 401, 401]);
      });

      it("refuses on instances 2 and 3 the token of a user disabled on instance 1 while Redis is down", async () => {
        const patched = await client.call(urls()[0]!, `/admin/users/${disabledDuring.id}`, { method: "PATCH", token: admin, body: { disabled: true } });
        assert.equal(patched.status, 200, patched.text);
        const statuses = await statusesOf(fleet, disabledDuring.token);
        console.log(`user disabled during the outage: their token on instances 1, 2, 3 → ${statuses.join(", ")}`);
        assert.deepEqual(statuses, [401, 401, 401]);
      });

      it("recovers when Redis returns: /readyz 200 everywhere, every revocation still holds, fresh logins work", async () => {
        assertAlive(fleet);
        await redis.start();
        const restartedAt = performance.now();
        const ready = await Promise.all(
          urls().map(async (url) => {
            await waitFor(`${url}/readyz to answer 200`, 20_000, async () => (await client.call(url, "/readyz")).status === 200, 50);
            return Math.round(performance.now() - restartedAt);
          }),
        );
        console.log(`Redis restarted: /readyz 200 again after ${ready.join(", ")} ms`);
        await assertRevocationsHold(2000);
        await assertFreshLoginsWork();
      });

      it("kept every instance up and answering throughout, and never let the revoked token through", async () => {
        assert.ok(load, "the background load ran");
        const tally = await load.stop();
        console.log(`background load during the run: ${JSON.stringify(tally)}`);
        assertAlive(fleet);
        assert.deepEqual(tally.errors, [], "no connection error: no instance went away");
        assert.equal(tally.revokedAccepted, 0, "the token revoked before the outage was never accepted");
        assert.deepEqual(Object.keys(tally.liveStatuses), ["200"], "the live token was served throughout (failurePolicy open)");
      });

      /** For `forMs` after recovery (while instances resubscribe and catch up), every revoked token stays dead everywhere. */
      async function assertRevocationsHold(forMs: number): Promise<void> {
        const since = performance.now();
        let checks = 0;
        while (performance.now() - since < forMs) {
          for (const [what, token] of Object.entries({ revokedBefore, loggedOutDuring, disabledDuring: disabledDuring.token })) {
            assert.deepEqual(await statusesOf(fleet, token), [401, 401, 401], `${what}, ${Math.round(performance.now() - since)} ms after recovery`);
            checks++;
          }
          await sleep(100);
        }
        console.log(`after recovery: ${checks * 3} checks over ${forMs} ms, every revoked token refused on every instance`);
      }

      async function assertFreshLoginsWork(): Promise<void> {
        const user = await register(urls()[1]!);
        for (const url of urls()) {
          const { access_token } = await login(url, user.email);
          assert.deepEqual(await statusesOf(fleet, access_token), [200, 200, 200], `token issued by ${url} after recovery`);
        }
        // And the broadcast works again: a logout on instance 2 is refused at once on instances 1 and 3.
        const { access_token } = await login(urls()[1]!, user.email);
        assert.deepEqual(await statusesOf(fleet, access_token), [200, 200, 200]);
        assert.equal((await logout(urls()[1]!, access_token)).status, 204);
        assert.deepEqual(await statusesOf(fleet, access_token), [401, 401, 401], "logout after recovery");
      }
    });
  });

  describe("failurePolicy closed: one instance, Redis SIGKILLed and started again", () => {
    let server: ServerProcess | undefined;
    let base = "";
    let user = { id: "", email: "" };
    let token = "";

    before(async () => {
      await redis.start();
      [server] = await launch(1, "closed");
      base = server!.url;
      user = await register(base);
      token = (await login(base, user.email)).access_token;
      assert.equal((await me(base, token)).status, 200);
      await redis.kill();
      await waitFor("/readyz to answer 503", 10_000, async () => (await client.call(base, "/readyz")).status === 503, 20);
    });

    after(async () => {
      await stopFleet([server]);
      await redis.start();
    });

    it("refuses authenticated requests and logins with 503 problem+json, and stays up", async () => {
      const during = {
        me: await me(base, token),
        login: await client.call(base, "/auth/login", { method: "POST", body: { email: user.email, password }, from: client.freshAddress() }),
      };
      for (const [what, reply] of Object.entries(during)) {
        console.log(`failurePolicy closed, Redis down: ${what} → ${reply.status} (Retry-After ${reply.headers["retry-after"] ?? "none"}) ${reply.text}`);
        assertStoreUnavailable(reply);
      }
      assertAlive([server!]);
    });

    it("keeps liveness and readiness truthful: /healthz 200, /readyz 503 naming redis", async () => {
      const health = await client.call(base, "/healthz");
      const ready = await client.call(base, "/readyz");
      console.log(`failurePolicy closed, Redis down: /healthz → ${health.status} ${health.text}; /readyz → ${ready.status} ${ready.text}`);
      assert.equal(health.status, 200, "liveness does not depend on Redis: a 503 here makes an orchestrator restart a healthy process");
      assert.equal(ready.status, 503, ready.text);
      assert.deepEqual(ready.json<{ checks: unknown }>().checks, { storage: "ok", redis: "unavailable" });
    });

    it("serves again by itself once Redis returns", async () => {
      await redis.start();
      const restartedAt = performance.now();
      await waitFor("/auth/me to answer 200", 20_000, async () => (await me(base, token)).status === 200, 50);
      console.log(`failurePolicy closed: /auth/me 200 again ${Math.round(performance.now() - restartedAt)} ms after Redis started`);
      assert.equal((await client.call(base, "/readyz")).status, 200);
      assertAlive([server!]);
    });

    function assertStoreUnavailable(reply: Reply): void {
      assert.equal(reply.status, 503, reply.text);
      assert.match(String(reply.headers["content-type"]), /^application\/problem\+json/);
      const problem = reply.json<Problem>();
      assert.equal(problem.status, 503);
      assert.equal(problem.type, "https://rampart.dev/problems/store-unavailable");
      // No driver text or address reaches the client.
      assert.doesNotMatch(reply.text, /ECONNREFUSED|127\.0\.0\.1|ioredis|writeable/i);
      assert.ok(!reply.text.includes(String(redis.port)), "the Redis port");
    }
  });
});

interface Tally {
  requests: number;
  liveStatuses: Record<string, number>;
  revokedAccepted: number;
  errors: string[];
}

interface Load {
  stop(): Promise<Tally>;
}

/**
 * Authenticated requests against every instance until stopped: the live token (which must keep being
 * served) and a revoked one (which must never be), with a short pause so the fleet is loaded, not flooded.
 */
function startLoad(fleet: ServerProcess[], live: string, revoked: string): Load {
  const client = createFleetClient();
  const tally: Tally = { requests: 0, liveStatuses: {}, revokedAccepted: 0, errors: [] };
  let running = true;
  const loops = fleet.map(async (server, i) => {
    while (running) {
      try {
        const [a, b] = await Promise.all([client.call(server.url, "/auth/me", { token: live }), client.call(server.url, "/auth/me", { token: revoked })]);
        tally.requests += 2;
        tally.liveStatuses[a.status] = (tally.liveStatuses[a.status] ?? 0) + 1;
        if (b.status !== 401) tally.revokedAccepted++;
      } catch (error) {
        tally.errors.push(`instance ${i + 1}: ${(error as Error).message}`);
      }
      await sleep(20);
    }
  });
  let stopped: Promise<Tally> | undefined;
  return {
    stop() {
      running = false;
      stopped ??= Promise.all(loops).then(() => {
        client.close();
        return tally;
      });
      return stopped;
    },
  };
}
