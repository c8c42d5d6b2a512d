/**
 * Rate limits across instances that share one Redis (REDIS_URL), over HTTP on the reference server:
 * a limit is a limit however requests are spread; when Redis is unreachable the configured failure policy
 * holds (`closed`: 503, `open`: a local limiter), quickly and without a crash; when it returns, limits are
 * decided in Redis again with the state it kept. Skipped when Redis is not reachable (fails in CI).
 *
 * Redis outlives the test run and the store's prefix is fixed, so every test uses client addresses drawn at
 * random from 198.18.0.0/15 and deletes the buckets of those addresses (SCAN + DEL) at the end.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomInt } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import type { LightMyRequestResponse } from "fastify";
import { Redis } from "ioredis";
import pino from "pino";
import { loadConfig } from "../../../src/config/load.ts";
import { composeServer, type RampartServer } from "../../../src/server/compose.ts";
import { TcpProxy } from "../../core/ratelimit/tcp-proxy.ts";
import { redisUrl, serviceSkip } from "../../support/services.ts";

const skip = await serviceSkip("redis");
const ROOT = fileURLToPath(new URL("../../../", import.meta.url));

const used = new Set<string>();
/** A client address no other run uses (198.18.0.0/15, benchmarking space), remembered for clean-up. */
function freshIp(): string {
  for (;;) {
    const ip = `198.${18 + randomInt(2)}.${randomInt(256)}.${1 + randomInt(254)}`;
    if (!used.has(ip)) {
      used.add(ip);
      return ip;
    }
  }
}

/** Deletes every bucket of the addresses this run used, and nothing else (one SCAN pass over 198.18/15). */
async function deleteOurKeys(): Promise<void> {
  if (skip || used.size === 0) return;
  const client = new Redis(redisUrl(), { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await client.connect();
    let cursor = "0";
    do {
      const [next, keys] = await client.scan(cursor, "MATCH", "rampart:rl:{ip:198.1[89].*}*", "COUNT", 1000);
      cursor = next;
      const ours = keys.filter((key) => used.has(/^rampart:rl:\{ip:([^}]+)\}/.exec(key)?.[1] ?? ""));
      if (ours.length > 0) await client.del(...ours);
    } while (cursor !== "0");
  } finally {
    client.disconnect();
  }
}

async function start(url: string, rateLimit: Record<string, unknown>): Promise<RampartServer> {
  const config = loadConfig({
    env: { RAMPART_DATA_DIR: mkdtempSync(join(tmpdir(), "rampart-rl-redis-")), REDIS_URL: url },
    overrides: { rateLimit },
  });
  const server = await composeServer(config, pino({ level: "silent" }));
  await server.app.ready();
  return server;
}

// The JWKS: public, cheap and limited per IP like any route (the health probes are exempt from "closed").
const LIMITED = "/.well-known/jwks.json";
const get = (server: RampartServer, ip: string, url = LIMITED) => server.app.inject({ method: "GET", url, remoteAddress: ip });

/** `GET /.well-known/jwks.json` from `ip`, `n` times in a row: statuses, and how long the slowest took. */
async function burst(server: RampartServer, ip: string, n: number): Promise<{ statuses: number[]; slowestMs: number; last: LightMyRequestResponse }> {
  const statuses: number[] = [];
  let slowestMs = 0;
  let last: LightMyRequestResponse | undefined;
  for (let i = 0; i < n; i++) {
    const started = performance.now();
    last = await get(server, ip);
    slowestMs = Math.max(slowestMs, performance.now() - started);
    statuses.push(last.statusCode);
  }
  return { statuses, slowestMs, last: last! };
}

function remaining(res: LightMyRequestResponse): number {
  const match = /^"ip";r=(\d+);t=\d+$/.exec(String(res.headers.ratelimit));
  assert.ok(match, `RateLimit: ${JSON.stringify(res.headers.ratelimit)}`);
  return Number(match[1]);
}

function assertUnavailable(res: LightMyRequestResponse): void {
  assert.equal(res.statusCode, 503, res.body);
  assert.match(String(res.headers["content-type"]), /^application\/problem\+json/);
  const body = res.json();
  assert.equal(body.status, 503);
  assert.equal(body.requestId, res.headers["x-request-id"]);
  assert.doesNotMatch(res.body, /ECONNREFUSED|127\.0\.0\.1|redis:\/\//i, "no internal detail");
}

/** Polls `/readyz` (fresh address each time, so probes spend nobody's quota) until Redis answers. */
async function untilReady(server: RampartServer, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await get(server, freshIp(), "/readyz")).statusCode === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.fail(`Redis not ready again within ${timeoutMs} ms`);
}

after(deleteOurKeys);

describe("three instances sharing one Redis", { skip }, () => {
  const servers: RampartServer[] = [];
  before(async () => {
    for (let i = 0; i < 3; i++) servers.push(await start(redisUrl(), { perIp: ["20/minute burst 20"] }));
  });
  after(async () => {
    for (const server of servers) await server.close();
  });

  it("90 concurrent requests from one client, round-robin over the instances: exactly 20 are served", async () => {
    const ip = freshIp();
    const responses = await Promise.all(Array.from({ length: 90 }, (_, i) => get(servers[i % 3]!, ip)));
    const count = (status: number) => responses.filter((res) => res.statusCode === status).length;
    assert.equal(count(200), 20, `statuses: ${JSON.stringify(responses.map((res) => res.statusCode))}`);
    assert.equal(count(429), 70);
    for (const res of responses.filter((r) => r.statusCode === 429)) assert.equal(res.json().policy, "ip");
    // Every instance now sees the client's bucket as empty.
    for (const server of servers) assert.equal((await get(server, ip)).statusCode, 429);
    // Another client is unaffected.
    assert.equal((await get(servers[0]!, freshIp())).statusCode, 200);
  });

  it("RateLimit counts down across instances", async () => {
    const ip = freshIp();
    const seen: number[] = [];
    for (let i = 0; i < 6; i++) seen.push(remaining(await get(servers[i % 3]!, ip)));
    assert.deepEqual(seen, [19, 18, 17, 16, 15, 14]);
  });

  it("route-scoped limits (POST /auth/login) hold across instances too", async () => {
    const ip = freshIp();
    const statuses: number[] = [];
    for (let i = 0; i < 11; i++) {
      const res = await servers[i % 3]!.app.inject({
        method: "POST",
        url: "/auth/login",
        remoteAddress: ip,
        payload: { email: `nobody-${i}-${randomInt(1e9)}@example.com`, password: "correct horse battery staple" },
      });
      if (res.statusCode === 429) assert.equal(res.json().policy, "login", res.body);
      statuses.push(res.statusCode);
    }
    assert.deepEqual(statuses, [...Array(10).fill(401), 429]);
  });
});

/**
 * The server is started in a child process: if start-up hangs or crashes with Redis down, the child is
 * killed at the deadline and the test fails with what it saw, instead of the test process hanging.
 */
function startWithRedisDown(failurePolicy: "open" | "closed", deadlineMs = 10_000): Promise<{ events: Record<string, unknown>[]; exit: string }> {
  const script = `
    import { mkdtempSync } from "node:fs";
    import { tmpdir } from "node:os";
    import { join } from "node:path";
    import pino from "pino";
    const { loadConfig } = await import(${JSON.stringify(new URL("src/config/load.ts", `file://${ROOT}`).href)});
    const { composeServer } = await import(${JSON.stringify(new URL("src/server/compose.ts", `file://${ROOT}`).href)});
    const say = (event) => process.stdout.write(JSON.stringify(event) + "\\n");
    const started = performance.now();
    const config = loadConfig({
      env: { RAMPART_DATA_DIR: mkdtempSync(join(tmpdir(), "rampart-rl-down-")), REDIS_URL: "redis://127.0.0.1:1" },
      overrides: { rateLimit: { perIp: ["5/minute burst 5"], failurePolicy: ${JSON.stringify(failurePolicy)} } },
    });
    const server = await composeServer(config, pino({ level: "silent" }));
    await server.app.ready();
    say({ started: performance.now() - started });
    for (let i = 0; i < 7; i++) {
      const t = performance.now();
      const res = await server.app.inject({ method: "GET", url: "/.well-known/jwks.json", remoteAddress: "198.18.0.1" });
      say({ status: res.statusCode, ms: performance.now() - t, type: res.headers["content-type"], body: res.body });
    }
    const closing = performance.now();
    await server.close();
    say({ closed: performance.now() - closing });
  `;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (chunk) => (out += chunk));
    child.stderr.on("data", (chunk) => (err += chunk));
    const timer = setTimeout(() => child.kill("SIGKILL"), deadlineMs);
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      const events = out
        .split("\n")
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      resolve({ events, exit: signal ? `killed (${signal}) at the ${deadlineMs} ms deadline; stderr: ${err.slice(-500)}` : `exit ${code}; stderr: ${err.slice(-500)}` });
    });
  });
}

describe("Redis unreachable from start-up (REDIS_URL=redis://127.0.0.1:1)", { concurrency: true }, () => {

  it('failurePolicy "closed": starts, answers 503 problem+json quickly, exits cleanly', async () => {
    const { events, exit } = await startWithRedisDown("closed");
    const started = events.find((e) => "started" in e);
    assert.ok(started, `the server started (${exit})`);
    const answers = events.filter((e) => "status" in e);
    assert.equal(answers.length, 7, exit);
    for (const answer of answers) {
      assert.equal(answer.status, 503, String(answer.body));
      assert.match(String(answer.type), /^application\/problem\+json/);
      assert.ok((answer.ms as number) < 1000, `answered in ${answer.ms} ms`);
    }
    assert.ok(events.some((e) => "closed" in e), exit);
    assert.match(exit, /^exit 0/);
  });

  it('failurePolicy "open": starts, serves and still limits locally (6th of a burst of 5 is 429)', async () => {
    const { events, exit } = await startWithRedisDown("open");
    assert.ok(events.some((e) => "started" in e), `the server started (${exit})`);
    const answers = events.filter((e) => "status" in e);
    assert.deepEqual(
      answers.map((a) => a.status),
      [200, 200, 200, 200, 200, 429, 429],
      exit,
    );
    for (const answer of answers) assert.ok((answer.ms as number) < 1000, `answered in ${answer.ms} ms`);
    assert.match(exit, /^exit 0/);
  });
});

describe("Redis lost and regained mid-run (TCP proxy in front of the real Redis)", { skip }, () => {
  let proxy: TcpProxy;
  const servers: RampartServer[] = [];
  before(async () => {
    proxy = new TcpProxy(redisUrl());
    await proxy.start();
  });
  after(async () => {
    for (const server of servers) await server.close();
    await proxy?.stop();
  });

  async function startBehindProxy(failurePolicy: "open" | "closed"): Promise<RampartServer> {
    // Each test leaves the proxy up and forwarding.
    const server = await start(proxy.url, { perIp: ["5/minute burst 5"], failurePolicy });
    servers.push(server);
    await untilReady(server);
    return server;
  }

  /**
   * Stops the proxy and waits until the server has seen the connection close (a `/readyz` probe fails),
   * so no request of the test is in flight on the dying connection.
   */
  async function lose(server: RampartServer): Promise<void> {
    await proxy.stop();
    const deadline = Date.now() + 5000;
    while ((await get(server, freshIp(), "/readyz")).statusCode === 200) {
      assert.ok(Date.now() < deadline, "the server never noticed that Redis was gone");
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  async function restore(server: RampartServer): Promise<void> {
    await proxy.start();
    await untilReady(server);
  }

  it('"closed": 503 while Redis is gone, then limits from the state Redis kept', async () => {
    const server = await startBehindProxy("closed");
    const ip = freshIp();
    const before = await burst(server, ip, 3);
    assert.deepEqual(before.statuses, [200, 200, 200]);
    assert.equal(remaining(before.last), 2);

    await lose(server);
    const during = await burst(server, ip, 5);
    assert.deepEqual(during.statuses, [503, 503, 503, 503, 503]);
    assert.ok(during.slowestMs < 1000, `slowest refusal took ${during.slowestMs} ms`);
    assertUnavailable(during.last);
    assertUnavailable(await get(server, freshIp()));

    await restore(server);
    // Redis kept 3 of 5 spent; the refusals during the outage spent nothing.
    const afterward = await burst(server, ip, 3);
    assert.deepEqual(afterward.statuses, [200, 200, 429]);
  });

  it('"open": served and limited locally while Redis is gone, then limited in Redis again', async () => {
    const server = await startBehindProxy("open");
    const ip = freshIp();
    assert.deepEqual((await burst(server, ip, 3)).statuses, [200, 200, 200]);

    await lose(server);
    // The local fallback starts empty: a limit still holds, on this instance.
    const stranger = await burst(server, freshIp(), 6);
    assert.deepEqual(stranger.statuses, [200, 200, 200, 200, 200, 429]);
    assert.ok(stranger.slowestMs < 1000, `slowest answer took ${stranger.slowestMs} ms`);
    assert.equal(stranger.last.json().policy, "ip");
    const local = await burst(server, ip, 6);
    assert.deepEqual(local.statuses, [200, 200, 200, 200, 200, 429]);

    await restore(server);
    // Decided in Redis again: 2 of the 5 left there (the local bucket, now empty, would refuse at once).
    const afterward = await burst(server, ip, 3);
    assert.deepEqual(afterward.statuses, [200, 200, 429]);
  });

  it(
    '"closed", Redis hanging: each request is refused within the timeout, and refusals are not replayed on reconnect',
    async () => {
    const server = await startBehindProxy("closed");
    const ip = freshIp();
    assert.deepEqual((await burst(server, ip, 1)).statuses, [200]);

    proxy.hang();
    const during = await burst(server, ip, 4);
    assert.deepEqual(during.statuses, [503, 503, 503, 503]);
    assert.ok(during.slowestMs < 1000, `slowest refusal took ${during.slowestMs} ms (redisTimeoutMs is 100)`);

    // The hung connection is dropped; ioredis reconnects to the restarted proxy.
    await proxy.stop();
    await restore(server);
    const afterward = await burst(server, ip, 5);
    assert.deepEqual(afterward.statuses, [200, 200, 200, 200, 429], "1 of 5 spent before the hang, none by the 4 refusals");
    },
  );

  it(
    '"closed", Redis gone: the probes still answer — /healthz 200, /readyz 503 naming redis — while other routes get 503',
    async () => {
      const server = await startBehindProxy("closed");
      await proxy.stop();
      try {
        const deadline = Date.now() + 5000;
        let res = await get(server, freshIp(), "/readyz");
        while (res.statusCode === 200 && Date.now() < deadline) res = await get(server, freshIp(), "/readyz");
        assert.equal(res.statusCode, 503, res.body);
        assert.deepEqual(res.json().checks, { storage: "ok", redis: "unavailable" });
        assert.doesNotMatch(res.body, /FST_|serializ/i);
        assert.equal((await get(server, freshIp(), "/healthz")).statusCode, 200, "liveness does not depend on Redis");
        assertUnavailable(await get(server, freshIp()));
      } finally {
        await restore(server);
      }
    },
  );
});
