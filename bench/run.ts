/**
 * `npm run bench`: every server in one run on this machine, each its own process pinned to core 1,
 * loaded by autocannon from another process pinned to core 0 (50 connections, keep-alive), after a
 * warm-up, in alternating rounds. Guarded servers are first checked to enforce what they claim (401
 * without a token, 403 without the role, 400 on a bad query): a benchmark of a server that does not
 * enforce is void, and the run exits non-zero.
 *
 *   npm run bench                      3 rounds × 10 s per server, then the login benchmark; writes BENCHMARKS.md
 *   npm run bench -- --quick           1 round × 3 s (smoke run; BENCHMARKS.md untouched unless --write)
 *   npm run bench -- login             the login benchmark only (see bench/login.ts)
 *   npm run bench -- gateway           the gateway benchmark only (see bench/gateway.ts; --rate N)
 *   options: --rounds N  --duration S  --warmup S  --only a,b  --skip-login  --write  --no-write
 *
 * Reported per server: median requests/s over rounds (and the min–max), median p50/p99 latency, the
 * server's CPU time per request (from /proc: robust when other work shares the machine), and ratios
 * to bare Fastify. Then the DESIGN.md targets, pass or miss.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import {
  CAN_PIN,
  describeMachine,
  LOADER_CORE,
  type Machine,
  median,
  ROOT,
  type RunningServer,
  redisAnswers,
  SERVER_CORE,
  type ServerDefinition,
  runLoader,
  startServer,
} from "./harness.ts";
import { gatewayMarkdown, runGatewayBenchmark } from "./gateway.ts";
import { type LoginBenchmark, loginMarkdown, runLoginBenchmark } from "./login.ts";
import type { LoadResult } from "./loader.ts";
import { ITEMS_PATH, ORIGIN } from "./servers/common.ts";

const SERVERS: ServerDefinition[] = [
  { name: "bare-http", file: "bare-http.ts", guarded: false, description: "node:http, no protections (ceiling)" },
  { name: "bare-fastify", file: "bare-fastify.ts", guarded: false, description: "Fastify 5, no plugins (baseline)" },
  {
    name: "bare-fastify-headers",
    file: "bare-fastify-headers.ts",
    guarded: false,
    description: "Fastify 5 answering with exactly the headers Rampart's guarded route sends, no checks (the physical limit)",
  },
  {
    name: "rampart",
    file: "rampart.ts",
    guarded: true,
    description: "Rampart: EdDSA JWT + revocation + RBAC + per-IP limit + 2 stacked principal limits + CORS + headers + query & response schema",
  },
  {
    name: "rampart-compiled",
    file: "rampart.ts",
    compiled: true,
    guarded: true,
    description: "the same, run by plain node from the compiled package (dist/, as production runs it) instead of through tsx",
  },
  { name: "rampart-redis", file: "rampart.ts", args: ["--redis"], guarded: true, description: "the same, rate limits in Redis" },
  { name: "rampart-apitoken", file: "rampart.ts", args: ["--apitoken"], guarded: true, description: "the same, API token scoped notes:read" },
  {
    name: "fastify-plugins",
    file: "fastify-plugins.ts",
    guarded: true,
    description: "Fastify + @fastify/jwt EdDSA + rate-limit + helmet + cors + role check + schemas",
  },
  { name: "fastify-plugins-hs256", file: "fastify-plugins.ts", args: ["--hs256"], guarded: true, description: "the same, HS256" },
  { name: "express", file: "express.ts", guarded: true, description: "Express 5 + helmet + cors + express-rate-limit + passport-jwt HS256 + role check + ajv" },
  // Cold tokens: every request carries the next of 20,000 distinct valid tokens (twice Rampart's
  // verified-token cache, sent in turn: no cache hit), as after a deploy or with short-lived tokens.
  { name: "rampart-cold", file: "rampart.ts", args: ["--cold", "20000"], compiled: true, guarded: true, description: "compiled Rampart, EdDSA, a different token on every request (20,000 distinct tokens in turn)" },
  { name: "fastify-plugins-cold", file: "fastify-plugins.ts", args: ["--cold", "20000"], guarded: true, description: "fastify-plugins (EdDSA), the same 20,000-token rotation" },
  { name: "rampart-cold-es256", file: "rampart.ts", args: ["--cold", "20000", "--es256"], compiled: true, guarded: true, description: "compiled Rampart, ES256, the same rotation" },
  { name: "fastify-plugins-cold-es256", file: "fastify-plugins.ts", args: ["--cold", "20000", "--es256"], guarded: true, description: "fastify-plugins ES256, the same rotation" },
  // The ceiling of the two cold-token targets: what the response and one signature check cost alone.
  {
    name: "bare-fastify-headers-cold",
    file: "bare-fastify-headers.ts",
    args: ["--cold", "20000"],
    guarded: false,
    description: "`bare-fastify-headers` plus one Ed25519 signature check per request with Rampart's check, nothing else (the cold-token limit), the same rotation",
  },
  {
    name: "bare-fastify-headers-cold-es256",
    file: "bare-fastify-headers.ts",
    args: ["--cold", "20000", "--es256"],
    guarded: false,
    description: "the same with a P-256 check (node:crypto)",
  },
];

const CONNECTIONS = 50;
const FIXED_RATE = 2000;
const FIXED_RATE_CONNECTIONS = 10;

interface Measurement {
  round: number;
  result: LoadResult;
}

interface Summary {
  name: string;
  description: string;
  note: string;
  rps: number;
  rpsMin: number;
  rpsMax: number;
  p50: number;
  p99: number;
  cpuUsPerRequest: number;
  cpuShare: number;
  loaderShare: number;
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    quick: { type: "boolean", default: false },
    rounds: { type: "string" },
    duration: { type: "string" },
    warmup: { type: "string" },
    only: { type: "string" },
    rate: { type: "string" },
    login: { type: "boolean", default: false },
    "skip-login": { type: "boolean", default: false },
    write: { type: "boolean", default: false },
    "no-write": { type: "boolean", default: false },
  },
});

const quick = values.quick;
const rounds = Number(values.rounds ?? (quick ? 1 : 3));
const durationS = Number(values.duration ?? (quick ? 3 : 10));
const warmupS = Number(values.warmup ?? (quick ? 1 : 5));
const write = values["no-write"] ? false : values.write || !quick;
const loginOnly = values.login || positionals.includes("login");
const gatewayOnly = positionals.includes("gateway");

const machine = describeMachine();
const startedAt = new Date();
console.log(machineLine(machine));
if (!CAN_PIN) console.log("taskset unavailable or fewer than 2 cores: servers and load generator run UNPINNED");

if (gatewayOnly) {
  const gateway = await runGatewayBenchmark({ durationS, rounds, rate: Number(values.rate ?? 1000) });
  const markdown = gatewayMarkdown(gateway);
  console.log(`\n${markdown}`);
  if (write) writeRegion("gateway", `Run of ${startedAt.toISOString().slice(0, 16).replace("T", " ")} UTC (${machine.nproc} cores, ${machine.cpuModel}, node ${machine.node}).\n\n${markdown}`);
  process.exit(0);
}

if (loginOnly) {
  const login = await runLoginBenchmark({ durationS, rounds });
  const markdown = loginMarkdown(login);
  console.log(`\n${markdown}`);
  if (write) writeRegion("login", loginSection(login, machine, startedAt));
  process.exit(0);
}

const notes: string[] = [];
let definitions = SERVERS;
if (values.only) {
  const wanted = new Set(values.only.split(",").map((s) => s.trim()));
  wanted.add("bare-fastify"); // every ratio needs the baseline
  definitions = SERVERS.filter((s) => wanted.has(s.name));
}
if (definitions.some((d) => d.name === "rampart-redis") && !(await redisAnswers())) {
  notes.push("rampart-redis skipped: no Redis answered PING at REDIS_URL (default redis://127.0.0.1:6379).");
  definitions = definitions.filter((d) => d.name !== "rampart-redis");
}

const running: RunningServer[] = [];
const announced = new Map<string, string>();
const stopAll = () => Promise.all(running.map((s) => s.stop()));
process.on("SIGINT", () => void stopAll().finally(() => process.exit(130)));

try {
  for (const definition of definitions) {
    process.stdout.write(`starting ${definition.name}… `);
    const server = await startServer(definition);
    running.push(server);
    announced.set(definition.name, server.announcement.note ?? "");
    const problems = await checkServer(server);
    if (problems.length > 0) {
      console.log("FAILED");
      console.error(`\n${definition.name} does not enforce what it claims; a benchmark of a server that does not enforce is void:`);
      for (const p of problems) console.error(`  - ${p}`);
      await stopAll();
      process.exit(1);
    }
    console.log(`pid ${server.pid}, port ${server.announcement.port}${definition.guarded ? ", enforcement checked (401/403/400)" : ""}`);
  }

  for (const server of running) {
    process.stdout.write(`warm-up ${server.definition.name} (${warmupS} s)… `);
    const warm = await runLoader(loadSpec(server, warmupS));
    console.log(`${Math.round(warm.rps)} req/s`);
  }

  const measurements = new Map<string, Measurement[]>(running.map((s) => [s.definition.name, []]));
  const void2xx: string[] = [];
  for (let round = 0; round < rounds; round++) {
    // Rotate the order each round so no server always follows the same neighbour.
    const order = running.map((_, i) => running[(i + round) % running.length] as RunningServer);
    for (const server of order) {
      const result = await runLoader(loadSpec(server, durationS));
      const bad = Object.entries(result.statuses).filter(([code]) => !code.startsWith("2"));
      if (bad.length > 0 || result.errors > 0 || result.timeouts > 0) {
        void2xx.push(`${server.definition.name} round ${round + 1}: statuses ${JSON.stringify(result.statuses)}, errors ${result.errors}, timeouts ${result.timeouts}`);
      }
      measurements.get(server.definition.name)?.push({ round, result });
      console.log(
        `round ${round + 1}/${rounds} ${server.definition.name.padEnd(22)} ${Math.round(result.rps).toString().padStart(6)} req/s  ` +
          `p50 ${result.latency.p50.toFixed(2)} ms  p99 ${result.latency.p99.toFixed(2)} ms  ` +
          `server CPU ${((result.serverCpuS ?? 0) / Math.max(1, result.ok) * 1e6).toFixed(1)} µs/req (${((result.serverCpuShare ?? 0) * 100).toFixed(0)}% of a core)`,
      );
    }
  }

  // Redis: added latency at a fixed, moderate rate (at saturation p99 is queueing, not added work).
  const fixedRate = new Map<string, LoadResult["latency"][]>();
  const pair = running.filter((s) => s.definition.name === "rampart" || s.definition.name === "rampart-redis");
  if (pair.length === 2) {
    for (let round = 0; round < rounds; round++) {
      for (const server of round % 2 ? [...pair].reverse() : pair) {
        const result = await runLoader({ ...loadSpec(server, durationS), connections: FIXED_RATE_CONNECTIONS, overallRate: FIXED_RATE });
        const list = fixedRate.get(server.definition.name) ?? [];
        list.push(result.latency);
        fixedRate.set(server.definition.name, list);
        console.log(`fixed ${FIXED_RATE} req/s round ${round + 1}/${rounds} ${server.definition.name.padEnd(14)} p50 ${result.latency.p50.toFixed(2)} ms  p99 ${result.latency.p99.toFixed(2)} ms`);
      }
    }
  }
  // A server that complained during the run (a Redis store falling back to memory, say) measured
  // something else part of the time: say so next to the table.
  for (const server of running) {
    const complaints = server.stderr().trim();
    if (complaints) {
      const lines = complaints.split("\n");
      notes.push(`${server.definition.name} wrote on stderr during the run (${lines.length} line(s)), last: \`${lines.at(-1)?.slice(0, 200)}\``);
    }
  }
  await stopAll();
  running.length = 0;

  if (void2xx.length > 0) {
    console.error("\nmeasurements with non-2xx responses or errors are void:");
    for (const line of void2xx) console.error(`  - ${line}`);
    process.exit(1);
  }

  const summaries = definitions.map((d) => summarise(d, measurements.get(d.name) ?? []));
  let login: LoginBenchmark | undefined;
  if (!values["skip-login"] && !values.only) {
    console.log("\nlogin benchmark…");
    login = await runLoginBenchmark({ durationS, rounds });
  }

  const raw = join(tmpdir(), `rampart-bench-${startedAt.toISOString().replace(/[:.]/g, "-")}.json`);
  writeFileSync(raw, JSON.stringify({ machine, settings: { rounds, durationS, warmupS, connections: CONNECTIONS }, measurements: Object.fromEntries(measurements), fixedRate: Object.fromEntries(fixedRate), login }, null, 2));
  console.log(`raw results: ${raw}`);
  const table = tableMarkdown(summaries);
  const targets = targetsMarkdown(summaries, fixedRate);
  console.log(`\n${table}\n\n${targets}${login ? `\n\n${loginMarkdown(login)}` : ""}${notes.length ? `\n\n${notes.join("\n")}` : ""}`);
  if (write) {
    writeRegion("throughput", throughputSection(machine, startedAt, table, targets, summaries, fixedRate));
    if (login) writeRegion("login", loginSection(login, machine, startedAt));
    console.log("\nBENCHMARKS.md updated.");
  }
} catch (error) {
  await stopAll();
  throw error;
}

function loadSpec(server: RunningServer, seconds: number) {
  const { token } = server.announcement;
  return {
    url: server.url(`${ITEMS_PATH}?limit=10`),
    connections: CONNECTIONS,
    durationS: seconds,
    headers: { origin: ORIGIN, ...(token ? { authorization: `Bearer ${token}` } : {}) },
    serverPid: server.pid,
    ...(server.announcement.tokensFile ? { tokensFile: server.announcement.tokensFile } : {}),
  };
}

/** What a server must do before it is measured; returns the problems found. */
async function checkServer(server: RunningServer): Promise<string[]> {
  const problems: string[] = [];
  const { token, forbiddenToken } = server.announcement;
  const get = async (query: string, headers: Record<string, string>) => {
    const response = await fetch(server.url(`${ITEMS_PATH}?${query}`), { headers });
    const text = await response.text();
    return { status: response.status, headers: response.headers, text };
  };
  const bearer = (t: string | undefined) => (t ? { authorization: `Bearer ${t}` } : ({} as Record<string, string>));
  const expect = (label: string, status: number, got: { status: number; text: string }) => {
    if (got.status !== status) problems.push(`${label}: expected ${status}, got ${got.status} ${got.text.slice(0, 160)}`);
  };

  const ok = await get("limit=10", { origin: ORIGIN, ...bearer(token) });
  expect("valid request", 200, ok);
  if (ok.status === 200) {
    const items = (JSON.parse(ok.text) as { items?: unknown[] }).items;
    if (!Array.isArray(items) || items.length !== 10) problems.push(`valid request: expected 10 items, got ${ok.text.slice(0, 160)}`);
  }
  if (!server.definition.guarded) return problems;

  if (!token || !forbiddenToken) problems.push("the server announced no token / forbidden token");
  if (ok.headers.get("access-control-allow-origin") !== ORIGIN) problems.push("no access-control-allow-origin for the allowed origin");
  if (ok.headers.get("x-content-type-options") !== "nosniff") problems.push("no security headers (x-content-type-options)");
  if (!ok.headers.has("ratelimit") && !ok.headers.has("x-ratelimit-limit")) problems.push("no rate-limit headers: is a limiter running?");
  expect("no token", 401, await get("limit=10", { origin: ORIGIN }));
  expect("tampered token", 401, await get("limit=10", { origin: ORIGIN, ...bearer(tamper(token ?? "x.y.z")) }));
  expect("token lacking the role / permission", 403, await get("limit=10", { origin: ORIGIN, ...bearer(forbiddenToken) }));
  expect("limit=0", 400, await get("limit=0", { origin: ORIGIN, ...bearer(token) }));
  expect("limit=abc", 400, await get("limit=abc", { origin: ORIGIN, ...bearer(token) }));
  const stranger = await get("limit=10", { origin: "https://evil.example", ...bearer(token) });
  if (stranger.headers.get("access-control-allow-origin")) problems.push("a foreign origin got access-control-allow-origin");
  return problems;
}

/** Changes one character well inside the token (the last base64url character may only carry padding bits). */
function tamper(token: string): string {
  const at = token.length - 10;
  const replacement = token[at] === "A" ? "B" : "A";
  return token.slice(0, at) + replacement + token.slice(at + 1);
}

function summarise(definition: ServerDefinition, list: Measurement[]): Summary {
  const results = list.map((m) => m.result);
  const rps = results.map((r) => r.rps);
  return {
    name: definition.name,
    description: definition.description,
    note: announced.get(definition.name) ?? "",
    rps: median(rps),
    rpsMin: Math.min(...rps),
    rpsMax: Math.max(...rps),
    p50: median(results.map((r) => r.latency.p50)),
    p99: median(results.map((r) => r.latency.p99)),
    cpuUsPerRequest: median(results.map((r) => ((r.serverCpuS ?? 0) / Math.max(1, r.ok)) * 1e6)),
    cpuShare: median(results.map((r) => r.serverCpuShare ?? 0)),
    loaderShare: median(results.map((r) => r.loaderCpuShare)),
  };
}

function fmt(n: number, digits = 2): string {
  return Number.isFinite(n) ? n.toFixed(digits) : "–";
}

function thousands(n: number): string {
  return Number.isFinite(n) ? Math.round(n).toLocaleString("en") : "–";
}

function tableMarkdown(summaries: Summary[]): string {
  const base = summaries.find((s) => s.name === "bare-fastify");
  const lines = [
    "| server | req/s (median) | min–max | p50 ms | p99 ms | × bare Fastify | server CPU µs/req | × bare Fastify by CPU | server core busy | loader core busy |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const s of summaries) {
    lines.push(
      `| \`${s.name}\` | ${thousands(s.rps)} | ${thousands(s.rpsMin)}–${thousands(s.rpsMax)} | ${fmt(s.p50)} | ${fmt(s.p99)} | ` +
        `${base ? fmt(s.rps / base.rps) : "–"} | ${fmt(s.cpuUsPerRequest, 1)} | ${base ? fmt(base.cpuUsPerRequest / s.cpuUsPerRequest) : "–"} | ${fmt(s.cpuShare * 100, 0)}% | ${fmt(s.loaderShare * 100, 0)}% |`,
    );
  }
  return lines.join("\n");
}

function targetsMarkdown(summaries: Summary[], fixedRate: Map<string, LoadResult["latency"][]>): string {
  const by = (name: string) => summaries.find((s) => s.name === name);
  const lines = ["| target (DESIGN.md, issue #14) | measured (req/s) | by CPU per request | result |", "|---|---:|---:|---|"];
  const compare = (name: string, against: string, min: number, label: string, hard = true) => {
    const server = by(name);
    const other = by(against);
    if (!server || !other) return;
    const r = server.rps / other.rps;
    const c = other.cpuUsPerRequest / server.cpuUsPerRequest;
    const verdict = r >= min ? "pass" : hard ? "**miss**" : "below";
    lines.push(`| ${label} | ${fmt(r)}× | ${fmt(c)}× | ${verdict}${hard ? "" : " (informative)"} |`);
  };
  const ratio = (against: string, min: number, label: string, hard = true) => compare("rampart", against, min, label, hard);
  compare("rampart-compiled", "bare-fastify", 0.75, "guarded Rampart, compiled ≥ 0.75 × bare Fastify");
  compare("rampart-compiled", "bare-fastify-headers", 1, "guarded Rampart, compiled, against the header-only limit (`bare-fastify-headers`)", false);
  compare("bare-fastify-headers", "bare-fastify", 1, "the header-only limit itself against bare Fastify", false);
  compare("rampart-apitoken", "rampart", 0.9, "`rampart-apitoken` ≥ 0.9 × `rampart`");
  compare("rampart-cold", "fastify-plugins-cold", 1.3, "cold tokens, EdDSA: Rampart ≥ 1.3 × fastify-plugins");
  compare("rampart-cold-es256", "fastify-plugins-cold-es256", 1.3, "cold tokens, ES256: Rampart ≥ 1.3 × fastify-plugins");
  compare("bare-fastify-headers-cold", "fastify-plugins-cold", 1.3, "the cold-token limit itself (`bare-fastify-headers-cold`) against fastify-plugins, EdDSA", false);
  compare("bare-fastify-headers-cold-es256", "fastify-plugins-cold-es256", 1.3, "the cold-token limit itself against fastify-plugins, ES256", false);
  compare("rampart-cold", "bare-fastify-headers-cold", 1, "cold Rampart against the cold-token limit, EdDSA", false);
  compare("rampart-cold-es256", "bare-fastify-headers-cold-es256", 1, "cold Rampart against the cold-token limit, ES256", false);
  ratio("bare-fastify", 0.75, "guarded Rampart (tsx) ≥ 0.75 × bare Fastify", false);
  ratio("fastify-plugins", 1.5, "guarded Rampart ≥ 1.5 × fastify-plugins (EdDSA, same algorithm)");
  ratio("express", 3, "guarded Rampart ≥ 3 × Express (HS256)");
  ratio("fastify-plugins-hs256", 2, "guarded Rampart ≈ 2 × fastify-plugins HS256 (\"about 2×\")", false);
  const plain = fixedRate.get("rampart") ?? [];
  const redis = fixedRate.get("rampart-redis") ?? [];
  if (plain.length > 0 && redis.length > 0) {
    const added = (q: "p50" | "p99") => median(redis.map((l) => l[q])) - median(plain.map((l) => l[q]));
    // The p99 of one 10 s window at 2,000 req/s moves by several ms on a shared machine: when the
    // baseline's own rounds differ by more than the 1 ms being judged, say so instead of a verdict.
    const spread = (list: LoadResult["latency"][]) => Math.max(...list.map((l) => l.p99)) - Math.min(...list.map((l) => l.p99));
    const noisy = Math.max(spread(plain), spread(redis)) > 1;
    const p99 = added("p99");
    const verdict = noisy ? `inconclusive (p99 varies by ${fmt(Math.max(spread(plain), spread(redis)))} ms between rounds)` : p99 < 1 ? "pass" : "**miss**";
    lines.push(
      `| Redis store: p99 added latency < 1 ms, at a fixed ${FIXED_RATE} req/s (median p50 added: ${fmt(added("p50"))} ms) | ${fmt(p99)} ms | | ${verdict} |`,
    );
  }
  return lines.join("\n");
}

function machineLine(m: Machine): string {
  return (
    `machine: ${m.nproc} cores (nproc), ${m.cpuModel}, ${m.memoryGiB} GiB, Linux ${m.kernel}, node ${m.node}; ` +
    `load average at start ${m.loadAverage}; ${m.pinned ? `servers pinned to core ${SERVER_CORE}, load generator to core ${LOADER_CORE}` : "unpinned"}`
  );
}

function throughputSection(
  m: Machine,
  at: Date,
  table: string,
  targets: string,
  summaries: Summary[],
  fixedRate: Map<string, LoadResult["latency"][]>,
): string {
  const settings = `${rounds} round(s) × ${durationS} s per server after a ${warmupS} s warm-up, ${CONNECTIONS} connections, keep-alive, \`GET ${ITEMS_PATH}?limit=10\``;
  return [
    `Run of ${at.toISOString().slice(0, 16).replace("T", " ")} UTC — ${settings}.`,
    "",
    `Machine: ${machineLine(m).replace(/^machine: /, "")}; load average at the end ${describeMachine().loadAverage}.`,
    "",
    table,
    "",
    "What each row runs:",
    "",
    ...summaries.map((s) => `- \`${s.name}\`: ${s.description}.`),
    ...(fixedRate.size
      ? [
          "",
          `Fixed-rate latency (${FIXED_RATE} req/s, ${FIXED_RATE_CONNECTIONS} connections; Redis itself runs unpinned), p50 / p99 per round: ` +
            [...fixedRate].map(([k, v]) => `${k} ${v.map((l) => `${fmt(l.p50)} / ${fmt(l.p99)}`).join(", ")} ms`).join("; ") +
            ".",
        ]
      : []),
    ...(notes.length ? ["", ...notes] : []),
    "",
    "Targets:",
    "",
    targets,
  ].join("\n");
}

function loginSection(login: LoginBenchmark, m: Machine, at: Date): string {
  return [`Run of ${at.toISOString().slice(0, 16).replace("T", " ")} UTC on the same machine (${m.nproc} cores, ${m.cpuModel}, node ${m.node}).`, "", loginMarkdown(login)].join("\n");
}

/** Replaces the generated block between `<!-- bench:NAME:start -->` and `<!-- bench:NAME:end -->`. */
function writeRegion(name: string, content: string): void {
  const path = join(ROOT, "BENCHMARKS.md");
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    text = "# Benchmarks\n\nGenerated by `npm run bench`.\n";
  }
  const start = `<!-- bench:${name}:start -->`;
  const end = `<!-- bench:${name}:end -->`;
  const block = `${start}\n${content}\n${end}`;
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  text = from !== -1 && to > from ? text.slice(0, from) + block + text.slice(to + end.length) : `${text.trimEnd()}\n\n${block}\n`;
  writeFileSync(path, text);
}
