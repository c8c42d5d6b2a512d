/**
 * Profiles one benchmark server under the benchmark load: starts it (pinned, with --cpu-prof), warms
 * it up, loads it for a while, stops it (the profile is written on exit) and summarises the profile.
 *
 *   npx tsx bench/profile.ts [rampart|rampart-apitoken|fastify-plugins|…] [--duration 15] [--top 15]
 *   npx tsx bench/profile.ts bare-fastify-headers --busy 2000   (per-request JavaScript, calibrated)
 *
 * Profiles land in /tmp/prof (kept: open them in Chrome DevTools or speedscope for a flame graph), each
 * with a `.window.json` naming the measured window and its request count, so that
 * `npx tsx bench/profile-summary.ts A.cpuprofile --baseline B.cpuprofile` can compare two servers.
 */
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { runLoader, type ServerDefinition, startServer } from "./harness.ts";
import { formatSummary, summariseProfile } from "./profile-summary.ts";
import { ITEMS_PATH, ORIGIN } from "./servers/common.ts";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    duration: { type: "string", default: "15" },
    top: { type: "string", default: "15" },
    dir: { type: "string", default: "/tmp/prof" },
    // bare-fastify-headers only: N steps of plain JavaScript per request (a calibration, see that server).
    busy: { type: "string" },
  },
});

const VARIANTS: Record<string, Pick<ServerDefinition, "file" | "args" | "compiled">> = {
  rampart: { file: "rampart.ts" },
  "rampart-compiled": { file: "rampart.ts", compiled: true },
  "rampart-redis": { file: "rampart.ts", args: ["--redis"] },
  "rampart-apitoken": { file: "rampart.ts", args: ["--apitoken"] },
  "rampart-cold": { file: "rampart.ts", args: ["--cold", "20000"], compiled: true },
  "fastify-plugins-cold": { file: "fastify-plugins.ts", args: ["--cold", "20000"] },
  "rampart-cold-es256": { file: "rampart.ts", args: ["--cold", "20000", "--es256"], compiled: true },
  "fastify-plugins-cold-es256": { file: "fastify-plugins.ts", args: ["--cold", "20000", "--es256"] },
  "bare-fastify": { file: "bare-fastify.ts" },
  "bare-fastify-headers": { file: "bare-fastify-headers.ts" },
  "bare-fastify-headers-cold": { file: "bare-fastify-headers.ts", args: ["--cold", "20000"] },
  "bare-fastify-headers-cold-es256": { file: "bare-fastify-headers.ts", args: ["--cold", "20000", "--es256"] },
  "fastify-plugins": { file: "fastify-plugins.ts" },
  "fastify-plugins-hs256": { file: "fastify-plugins.ts", args: ["--hs256"] },
  express: { file: "express.ts" },
};

const name = positionals[0] ?? "rampart";
const variant = VARIANTS[name];
if (!variant) {
  console.error(`unknown server ${name}; one of ${Object.keys(VARIANTS).join(", ")}`);
  process.exit(2);
}
const dir = values.dir;
mkdirSync(dir, { recursive: true });
const before = new Set(readdirSync(dir));

const busyArgs = values.busy === undefined ? [] : ["--busy", values.busy];
const server = await startServer(
  { name, ...variant, args: [...(variant.args ?? []), ...busyArgs], guarded: true, description: name },
  { nodeArgs: ["--cpu-prof", `--cpu-prof-dir=${dir}`] },
);
const { token } = server.announcement;
const spec = {
  url: server.url(`${ITEMS_PATH}?limit=10`),
  connections: 50,
  durationS: 5,
  headers: { origin: ORIGIN, ...(token ? { authorization: `Bearer ${token}` } : {}) },
  serverPid: server.pid,
  ...(server.announcement.tokensFile ? { tokensFile: server.announcement.tokensFile } : {}),
};
const warm = await runLoader(spec); // warm-up: part of the profile too
const nowUs = () => Number(process.hrtime.bigint() / 1000n);
const fromUs = nowUs();
const measured = await runLoader({ ...spec, durationS: Number(values.duration) });
const toUs = nowUs();
await server.stop();

// One profile per thread (CPU.<date>.<time>.<pid>.<thread>.<seq>): with tsx the module-loader hooks run on
// a worker; the main thread is thread 0.
const written = readdirSync(dir)
  .filter((f) => /\.0\.\d+\.cpuprofile$/.test(f) && !before.has(f))
  .map((f) => join(dir, f))
  .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
const file = written[0];
if (!file) throw new Error(`no new .cpuprofile in ${dir}`);
console.log(
  `${name}: ${Math.round(measured.rps)} req/s under the profiler, server CPU ${(((measured.serverCpuS ?? 0) / measured.ok) * 1e6).toFixed(1)} µs/req; profile ${file}`,
);
// Only the measured run (the loader's own start-up, ~0.3 s of idle, falls inside the window too).
// Kept beside the profile so `bench/profile-summary.ts` can summarise or compare it later.
writeFileSync(`${file}.window.json`, JSON.stringify({ server: name, fromUs, toUs, requests: measured.ok }));
const { entries, totalMs } = summariseProfile(JSON.parse(readFileSync(file, "utf8")), { fromUs, toUs });
console.log(`warm-up: ${warm.ok} requests (outside the window summarised below)`);
console.log(formatSummary(entries, totalMs, { top: Number(values.top), requests: measured.ok, filter: "src/" }));
