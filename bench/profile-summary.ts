/**
 * Summarises a V8 `.cpuprofile` (from `node --cpu-prof`): self time and inclusive time by function,
 * file and line, optionally per request.
 *
 *   npx tsx bench/profile-summary.ts <file.cpuprofile> [--top 15] [--requests N] [--filter src/] [--baseline other.cpuprofile]
 *
 * A `<file>.window.json` written by bench/profile.ts ({ fromUs, toUs, requests }) limits the summary to
 * the measured run and supplies the request count. `--baseline` adds a table of the functions whose
 * self time per request grew most against another server's profile (e.g. bare Fastify).
 *
 * TypeScript locations are mapped back to source lines through the source maps tsx keeps in its
 * transform cache (`<tmpdir>/tsx-<uid>/`); `?line:column` marks a location that could not be mapped.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { SourceMap } from "node:module";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { ROOT } from "./harness.ts";

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface Entry {
  key: string;
  functionName: string;
  location: string;
  selfMs: number;
  totalMs: number;
}

/**
 * Sums self and inclusive time per function. `window` (µs on the monotonic clock that V8 and
 * `process.hrtime` share on Linux) keeps only the samples taken inside it, e.g. the measured run.
 */
export function summariseProfile(profile: CpuProfile, window?: { fromUs: number; toUs: number }): { entries: Entry[]; totalMs: number } {
  const parent = new Map<number, number>();
  const byId = new Map<number, ProfileNode>();
  for (const node of profile.nodes) {
    byId.set(node.id, node);
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  const entries = new Map<string, Entry>();
  const keyOf = new Map<number, Entry>();
  for (const node of profile.nodes) {
    const frame = node.callFrame;
    const location = describeLocation(frame);
    const functionName = frame.functionName || "(anonymous)";
    const key = `${functionName} ${location}`;
    let entry = entries.get(key);
    if (!entry) {
      entry = { key, functionName, location, selfMs: 0, totalMs: 0 };
      entries.set(key, entry);
    }
    keyOf.set(node.id, entry);
  }
  let totalMs = 0;
  let at = profile.startTime;
  profile.samples.forEach((id, i) => {
    at += profile.timeDeltas[i] ?? 0;
    if (window && (at < window.fromUs || at > window.toUs)) return;
    const ms = (profile.timeDeltas[i] ?? 0) / 1000;
    totalMs += ms;
    const self = keyOf.get(id);
    if (self) self.selfMs += ms;
    const seen = new Set<Entry>();
    for (let node: number | undefined = id; node !== undefined; node = parent.get(node)) {
      const entry = keyOf.get(node);
      if (entry && !seen.has(entry)) {
        seen.add(entry);
        entry.totalMs += ms;
      }
    }
  });
  return { entries: [...entries.values()], totalMs };
}

/** `path:line` (1-based), relative to the repository for our own files. */
function describeLocation(frame: CallFrame): string {
  if (!frame.url) return "(native)";
  let path = frame.url;
  if (path.startsWith("file://")) path = fileURLToPath(path);
  const shown = path.startsWith(ROOT) ? relative(ROOT, path) : path;
  const line = path.endsWith(".ts") ? originalLine(path, frame) : frame.lineNumber + 1;
  return `${shown}:${line ?? `?${frame.lineNumber + 1}:${frame.columnNumber + 1}`}`;
}

interface Transpiled {
  code: string;
  map: SourceMap;
  mtimeMs: number;
}

let tsxCache: Map<string, Transpiled[]> | undefined;

/**
 * tsx transpiles each .ts file with esbuild into ONE minified line, so V8's line numbers say nothing;
 * tsx keeps every result, with its source map, in `<tmpdir>/tsx-<uid>/`. Index those by source path.
 */
function transpiledVersions(path: string): Transpiled[] {
  if (!tsxCache) {
    tsxCache = new Map();
    const uid = typeof process.getuid === "function" ? process.getuid() : 0;
    const dir = join(tmpdir(), `tsx-${uid}`);
    for (const name of existsSync(dir) ? readdirSync(dir) : []) {
      try {
        const file = join(dir, name);
        const entry = JSON.parse(readFileSync(file, "utf8")) as { code?: string; map?: { sources?: string[] } };
        const source = entry.map?.sources?.[0];
        if (!entry.code || !source?.startsWith(ROOT)) continue;
        const list = tsxCache.get(source) ?? [];
        list.push({ code: entry.code, map: new SourceMap(entry.map as never), mtimeMs: statSync(file).mtimeMs });
        tsxCache.set(source, list);
      } catch {
        // not a transform cache entry
      }
    }
    for (const list of tsxCache.values()) list.sort((a, b) => b.mtimeMs - a.mtimeMs);
  }
  return tsxCache.get(path) ?? [];
}

/**
 * The 1-based source line of a function, through tsx's source map. When the file was edited after the
 * run, several transpiled versions exist: use the newest whose code names the function where V8 says it
 * starts. Undefined when no version fits.
 */
function originalLine(path: string, frame: CallFrame): number | undefined {
  for (const version of transpiledVersions(path)) {
    const generated = version.code.split("\n")[frame.lineNumber];
    if (generated === undefined) continue;
    const name = frame.functionName.split(".").at(-1) ?? "";
    const around = generated.slice(Math.max(0, frame.columnNumber - 40), frame.columnNumber + 40);
    if (name && !around.includes(name)) continue;
    const entry = version.map.findEntry(frame.lineNumber, frame.columnNumber) as { originalLine?: number };
    if (typeof entry.originalLine === "number") return entry.originalLine + 1;
  }
  return undefined;
}

interface Window {
  fromUs: number;
  toUs: number;
  requests?: number;
}

function loadProfile(file: string): { entries: Entry[]; totalMs: number; requests: number | undefined } {
  const window = existsSync(`${file}.window.json`) ? (JSON.parse(readFileSync(`${file}.window.json`, "utf8")) as Window) : undefined;
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  return { ...summariseProfile(profile, window), requests: window?.requests };
}

/** Functions whose self time per request grew most from `baseline` to `subject`. */
export function formatDiff(subject: Entry[], subjectRequests: number, baseline: Entry[], baselineRequests: number, top: number): string {
  const rows = new Map<string, { entry: Entry; us: number; baseUs: number }>();
  for (const e of subject) if (e.functionName !== "(idle)") rows.set(e.key, { entry: e, us: (e.selfMs * 1000) / subjectRequests, baseUs: 0 });
  for (const e of baseline) {
    if (e.functionName === "(idle)") continue;
    const row = rows.get(e.key) ?? { entry: e, us: 0, baseUs: 0 };
    row.baseUs = (e.selfMs * 1000) / baselineRequests;
    rows.set(e.key, row);
  }
  const all = [...rows.values()];
  const total = all.reduce((a, r) => a + r.us, 0);
  const baseTotal = all.reduce((a, r) => a + r.baseUs, 0);
  const out = [
    `Busy time per request: ${total.toFixed(1)} µs against the baseline's ${baseTotal.toFixed(1)} µs (+${(total - baseTotal).toFixed(1)} µs).`,
    "",
    "| # | function | location | µs/request | baseline µs/request | added µs |",
    "|---:|---|---|---:|---:|---:|",
  ];
  all
    .sort((a, b) => b.us - b.baseUs - (a.us - a.baseUs))
    .slice(0, top)
    .forEach((r, i) => {
      out.push(`| ${i + 1} | \`${r.entry.functionName}\` | ${r.entry.location} | ${r.us.toFixed(2)} | ${r.baseUs.toFixed(2)} | ${(r.us - r.baseUs).toFixed(2)} |`);
    });
  return out.join("\n");
}

if (process.argv[1]?.endsWith("profile-summary.ts")) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      top: { type: "string", default: "15" },
      requests: { type: "string" },
      filter: { type: "string" },
      baseline: { type: "string" },
    },
  });
  const file = positionals[0];
  if (!file) {
    console.error("usage: npx tsx bench/profile-summary.ts <file.cpuprofile> [--top 15] [--requests N] [--filter src/] [--baseline other.cpuprofile]");
    process.exit(2);
  }
  const top = Number(values.top);
  const subject = loadProfile(file);
  const requests = Number(values.requests) || subject.requests;
  console.log(formatSummary(subject.entries, subject.totalMs, { top, requests, filter: values.filter }));
  if (values.baseline) {
    const baseline = loadProfile(values.baseline);
    if (!requests || !baseline.requests) {
      console.error("--baseline needs request counts for both profiles (their .window.json files)");
      process.exit(2);
    }
    console.log(`\n${formatDiff(subject.entries, requests, baseline.entries, baseline.requests, top)}`);
  }
}

export function formatSummary(entries: Entry[], totalMs: number, options: { top: number; requests?: number; filter?: string | undefined }): string {
  const per = (ms: number) => (options.requests ? ` | ${((ms * 1000) / options.requests).toFixed(2)}` : "");
  const head = options.requests ? " | µs/request" : "";
  const out: string[] = [];
  const idle = entries.filter((e) => e.functionName === "(idle)").reduce((a, e) => a + e.selfMs, 0);
  out.push(`profile: ${totalMs.toFixed(0)} ms sampled, ${idle.toFixed(0)} ms idle${options.requests ? `, ${options.requests} requests` : ""}`);
  out.push("", "Top self time:", "", `| # | function | location | self ms | self %${head} |`, `|---:|---|---|---:|---:|${options.requests ? "---:|" : ""}`);
  const busy = totalMs - idle;
  entries
    .filter((e) => e.functionName !== "(idle)")
    .sort((a, b) => b.selfMs - a.selfMs)
    .slice(0, options.top)
    .forEach((e, i) => {
      out.push(`| ${i + 1} | \`${e.functionName}\` | ${e.location} | ${e.selfMs.toFixed(0)} | ${((100 * e.selfMs) / busy).toFixed(1)}%${per(e.selfMs)} |`);
    });
  if (options.filter) {
    const filter = options.filter;
    out.push("", `Inclusive time of functions under ${filter}:`, "", `| # | function | location | total ms | total % | self ms${head} (total) |`, `|---:|---|---|---:|---:|---:|${options.requests ? "---:|" : ""}`);
    entries
      .filter((e) => e.location.startsWith(filter))
      .sort((a, b) => b.totalMs - a.totalMs)
      .slice(0, options.top)
      .forEach((e, i) => {
        out.push(
          `| ${i + 1} | \`${e.functionName}\` | ${e.location} | ${e.totalMs.toFixed(0)} | ${((100 * e.totalMs) / busy).toFixed(1)}% | ${e.selfMs.toFixed(0)}${per(e.totalMs)} |`,
        );
      });
  }
  return out.join("\n");
}
