/**
 * What rate limiting costs a route over HTTP, measured side by side in one run:
 *
 *   (a) a public JSON route on `buildApp` with rate limiting off (no limit stages): the baseline;
 *   (b) the same with two stacked per-IP policies in the memory store;
 *   (c) the same with the Redis store (one Lua round trip per request for both policies).
 *
 * The policies are generous enough never to deny; every variant is checked to answer 2xx only. The three
 * servers live in this process on 127.0.0.1 (port 0) so the Redis store's `stats().roundTrips` can be read;
 * the load comes from autocannon's CLI in a separate process (`-c 50`, 2 s warm-up, 10 s measured), the
 * variants alternating over 2 rounds; the table shows medians. When `taskset` works, this process is pinned
 * to core 1 and autocannon to core 0 (Redis, if local, is not pinned). Figures only, no assertions.
 *
 *   npx tsx bench/ratelimit-route.ts            (REDIS_URL or TEST_REDIS_URL, default redis://127.0.0.1:6379)
 */
import { execFileSync, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { randomUUID } from "node:crypto";
import { availableParallelism, cpus } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { FastifyInstance } from "fastify";
import { Redis } from "ioredis";
import pino from "pino";
import { loadConfig } from "../src/config/load.ts";
import type { ResolvedConfig } from "../src/config/resolve.ts";
import { MemoryRateLimitStore, type RateLimitStore, RedisRateLimitStore } from "../src/core/ratelimit/index.ts";
import { buildApp } from "../src/http/app.ts";
import { createRateLimitStages } from "../src/http/stages/rate-limit.ts";

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const AUTOCANNON = join(ROOT, "node_modules/.bin/autocannon");
const CONNECTIONS = 50;
const WARMUP_S = 2;
const MEASURE_S = 10;
const ROUNDS = 2;
const PATH = "/items";
const REDIS_URL = process.env.REDIS_URL ?? process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
// Two stacked per-IP policies that never deny at any rate this machine reaches (one client address).
const GENEROUS = ["100000/second burst 100000", "1000000000/hour"];
const SERVER_CORE = 1;
const LOADER_CORE = 0;

const CAN_PIN = (() => {
  if (availableParallelism() < 2) return false;
  try {
    execFileSync("taskset", ["-c", "0", "true"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

interface Variant {
  key: "a" | "b" | "c";
  label: string;
  app: FastifyInstance;
  port: number;
  store?: RateLimitStore;
  /** Requests that reached the handler. */
  handled(): number;
}

interface Measurement {
  /** CPU used meanwhile by processes other than this one, autocannon and redis-server, in cores (at least). */
  otherCores: number;
  rps: number;
  p50: number;
  p99: number;
  requests: number;
  non2xx: number;
  errors: number;
  roundTripsPerRequest?: number;
}

const ITEMS = Array.from({ length: 10 }, (_, i) => ({ id: `item-${i + 1}`, title: `Item number ${i + 1}`, done: i % 3 === 0 }));
const ItemList = {
  type: "array",
  items: {
    type: "object",
    properties: { id: { type: "string" }, title: { type: "string" }, done: { type: "boolean" } },
    required: ["id", "title", "done"],
    additionalProperties: false,
  },
} as const;

async function serve(key: Variant["key"], label: string, config: ResolvedConfig, store?: RateLimitStore): Promise<Variant> {
  let handled = 0;
  const limits = store ? createRateLimitStages(config, store) : undefined;
  const app = await buildApp({
    config,
    logger: pino({ level: "silent" }),
    openApi: false,
    ...(limits ? { onRoute: limits.onRoute, stages: { "limit-client": limits.limitClient, "limit-principal": limits.limitPrincipal } } : {}),
    routes: (scope) => {
      scope.get(PATH, { config: { rampart: { auth: "public" } }, schema: { response: { 200: ItemList } } }, async () => {
        handled++;
        return ITEMS;
      });
    },
  });
  await app.listen({ host: "127.0.0.1", port: 0 });
  const address = app.server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return { key, label, app, port, ...(store ? { store } : {}), handled: () => handled };
}

/** The parts of autocannon's `-j` report used here (latencies in ms). */
interface AutocannonReport {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number };
  non2xx?: number;
  errors?: number;
  timeouts?: number;
}

const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU ticks (user + system) of each process but the excluded ones, from /proc; empty where unreadable. */
function foreignTicks(exclude: ReadonlySet<number>): Map<number, number> {
  const ticks = new Map<number, number>();
  let entries: string[] = [];
  try {
    entries = readdirSync("/proc");
  } catch {
    return ticks;
  }
  for (const entry of entries) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || exclude.has(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      if (stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")) === "redis-server") continue;
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ticks.set(pid, Number(fields[11]) + Number(fields[12]));
    } catch {
      // The process ended meanwhile.
    }
  }
  return ticks;
}

/** Ticks used between two snapshots by processes alive at the second (a process that ended is missed). */
function ticksBetween(before: Map<number, number>, after: Map<number, number>): number {
  let total = 0;
  for (const [pid, ticks] of after) total += Math.max(0, ticks - (before.get(pid) ?? 0));
  return total;
}

/** autocannon's CLI in its own process; its `-j` JSON report and the CPU others used meanwhile. */
function autocannon(port: number, seconds: number): Promise<AutocannonReport & { otherCores: number }> {
  const args = ["-c", String(CONNECTIONS), "-d", String(seconds), "-j", `http://127.0.0.1:${port}${PATH}`];
  const [command, argv] = CAN_PIN ? ["taskset", ["-c", String(LOADER_CORE), AUTOCANNON, ...args]] : [AUTOCANNON, args];
  return new Promise((resolve, reject) => {
    const child = spawn(command, argv, { stdio: ["ignore", "pipe", "pipe"] });
    const exclude = new Set([process.pid, child.pid ?? -1]);
    const started = performance.now();
    const ticksBefore = foreignTicks(exclude);
    let ticksAfter = ticksBefore;
    let sampledAt = started;
    // Sampled just before the end, while autocannon (excluded by pid) still runs.
    const sampler = setTimeout(() => {
      ticksAfter = foreignTicks(exclude);
      sampledAt = performance.now();
    }, Math.max(0, seconds * 1000 - 300));
    let out = "";
    let err = "";
    child.stdout.on("data", (chunk) => (out += chunk));
    child.stderr.on("data", (chunk) => (err += chunk));
    const timer = setTimeout(() => child.kill("SIGKILL"), (seconds + 20) * 1000);
    child.on("exit", (code) => {
      clearTimeout(timer);
      clearTimeout(sampler);
      const otherCores = sampledAt > started ? ticksBetween(ticksBefore, ticksAfter) / CLOCK_TICKS / ((sampledAt - started) / 1000) : 0;
      try {
        resolve({ ...(JSON.parse(out.trim().split("\n").at(-1) ?? "") as AutocannonReport), otherCores });
      } catch {
        reject(new Error(`autocannon exited ${code} without a JSON report: ${err.slice(-300)}`));
      }
    });
  });
}

async function measure(variant: Variant): Promise<Measurement> {
  await autocannon(variant.port, WARMUP_S);
  const tripsBefore = redisStats(variant)?.roundTrips ?? 0;
  const handledBefore = variant.handled();
  const report = await autocannon(variant.port, MEASURE_S);
  const handled = variant.handled() - handledBefore;
  const stats = redisStats(variant);
  return {
    otherCores: report.otherCores,
    rps: report.requests.average,
    p50: report.latency.p50,
    p99: report.latency.p99,
    requests: report.requests.total,
    non2xx: report.non2xx ?? 0,
    errors: (report.errors ?? 0) + (report.timeouts ?? 0),
    ...(stats ? { roundTripsPerRequest: (stats.roundTrips - tripsBefore) / Math.max(1, handled) } : {}),
  };
}

function redisStats(variant: Variant) {
  return variant.store instanceof RedisRateLimitStore ? variant.store.stats() : undefined;
}

async function redisReachable(url: string): Promise<boolean> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1000 });
  client.on("error", () => {});
  try {
    await client.connect();
    return (await client.ping()) === "PONG";
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

/** Deletes the buckets this run wrote under its own prefix. */
async function cleanRedis(url: string, prefix: string): Promise<void> {
  const client = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    let cursor = "0";
    do {
      const [next, keys] = await client.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
      cursor = next;
      if (keys.length > 0) await client.del(...keys);
    } while (cursor !== "0");
  } finally {
    client.disconnect();
  }
}

const median = (values: number[]) => {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

async function main(): Promise<void> {
  if (CAN_PIN) execFileSync("taskset", ["-a", "-c", "-p", String(SERVER_CORE), String(process.pid)], { stdio: "ignore" });
  console.log(
    `node ${process.version}, ${cpus().length} × ${cpus()[0]?.model.trim()}; ${CAN_PIN ? `server pinned to core ${SERVER_CORE}, autocannon to core ${LOADER_CORE}` : "no pinning"}`,
  );
  console.log(
    `autocannon -c ${CONNECTIONS}, ${WARMUP_S} s warm-up + ${MEASURE_S} s measured per variant, ${ROUNDS} rounds alternating, medians; GET ${PATH} (10-item JSON list, response schema)\n`,
  );

  const silent = { logging: { level: "silent" } };
  const off = loadConfig({ env: {}, overrides: { ...silent, rateLimit: { enabled: false } } });
  const on = loadConfig({ env: {}, overrides: { ...silent, rateLimit: { perIp: GENEROUS, redisTimeoutMs: 1000 } } });
  const prefix = `rampart:bench:${randomUUID().slice(0, 8)}:`;

  const variants: Variant[] = [
    await serve("a", "(a) no rate limiting", off),
    await serve("b", "(b) memory store, 2 stacked per-IP", on, new MemoryRateLimitStore({ maxKeys: on.rateLimit.maxKeys })),
  ];
  const withRedis = await redisReachable(REDIS_URL);
  if (withRedis) {
    // failure "closed": if Redis stopped answering, the run would show non-2xx instead of quietly going local.
    const store = new RedisRateLimitStore({ url: REDIS_URL, failure: "closed", prefix, timeoutMs: on.rateLimit.redisTimeoutMs });
    variants.push(await serve("c", "(c) Redis store, 2 stacked per-IP", on, store));
  } else {
    console.log(`Redis not reachable at ${REDIS_URL}: variant (c) skipped\n`);
  }

  const results = new Map<Variant["key"], Measurement[]>(variants.map((v) => [v.key, []]));
  try {
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? variants : [...variants].reverse();
      for (const variant of order) {
        const m = await measure(variant);
        results.get(variant.key)!.push(m);
        console.log(
          `  round ${round + 1} ${variant.label.padEnd(38)} ${Math.round(m.rps).toString().padStart(7)} req/s  p50 ${m.p50} ms  p99 ${m.p99} ms` +
            `  (${m.requests} requests, non-2xx ${m.non2xx}, errors ${m.errors}, other processes ${m.otherCores.toFixed(2)} cores${m.roundTripsPerRequest === undefined ? "" : `, ${m.roundTripsPerRequest.toFixed(2)} round trips/request`})`,
        );
      }
    }
  } finally {
    for (const variant of variants) {
      await variant.app.close();
      await variant.store?.close();
    }
    if (withRedis) await cleanRedis(REDIS_URL, prefix);
  }

  const summary = variants.map((variant) => {
    const runs = results.get(variant.key)!;
    return {
      variant,
      rps: median(runs.map((m) => m.rps)),
      p50: median(runs.map((m) => m.p50)),
      p99: median(runs.map((m) => m.p99)),
      failures: runs.reduce((sum, m) => sum + m.non2xx + m.errors, 0),
      trips: runs.some((m) => m.roundTripsPerRequest !== undefined) ? median(runs.map((m) => m.roundTripsPerRequest ?? 0)) : undefined,
    };
  });
  const baseline = summary[0]!.rps;
  console.log(`\n${"variant".padEnd(38)} ${"req/s".padStart(8)} ${"p50 ms".padStart(7)} ${"p99 ms".padStart(7)} ${"× (a)".padStart(6)} ${"Redis RT/req".padStart(12)}`);
  for (const row of summary) {
    console.log(
      `${row.variant.label.padEnd(38)} ${Math.round(row.rps).toString().padStart(8)} ${row.p50.toFixed(2).padStart(7)} ${row.p99.toFixed(2).padStart(7)} ` +
        `${(row.rps / baseline).toFixed(2).padStart(6)} ${(row.trips === undefined ? "—" : row.trips.toFixed(2)).padStart(12)}`,
    );
  }
  const ratio = (key: Variant["key"]) => summary.find((row) => row.variant.key === key);
  const b = ratio("b");
  const c = ratio("c");
  console.log(`\nb/a = ${b ? (b.rps / baseline).toFixed(2) : "n/a"}   c/a = ${c ? (c.rps / baseline).toFixed(2) : "n/a"}   Redis round trips per request (c) = ${c?.trips?.toFixed(2) ?? "n/a"}`);
  const busiest = Math.max(...[...results.values()].flat().map((m) => m.otherCores));
  if (busiest > 0.15) {
    console.log(`WARNING: other processes used up to ${busiest.toFixed(2)} cores during a measurement: the figures are disturbed; rerun on a quiet machine`);
  }
  const failures = summary.filter((row) => row.failures > 0);
  if (failures.length > 0) {
    console.log(`WARNING: non-2xx or errors in ${failures.map((row) => row.variant.key).join(", ")}: those figures do not measure what they claim`);
  }
}

await main();
