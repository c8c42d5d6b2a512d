/**
 * Turns a soak run into numbers: latency percentiles per kind, memory trend (last third of the samples
 * against the middle third), a compact text report, and the JSON file under .tmp/.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { KindStats, TrafficResult, UnexpectedSample } from "./traffic.ts";

export interface MemorySample {
  /** Seconds since the traffic started (negative: before). */
  t: number;
  server: number;
  rssMB: number;
  /** Undefined when /metrics did not answer. */
  heapMB: number | undefined;
}

export interface Durability {
  notesLive: number;
  notesMissing: string[];
  notesResurrected: string[];
  notesWrongOwner: string[];
  notesUncertain: number;
  /** Audit event type → { driver: what the driver caused, stored: new rows in audit_events }. */
  audit: Record<string, { driver: number; stored: number }>;
  ambiguousAudited: number;
  ok: boolean;
}

export interface SetupReport {
  setup: string;
  servers: number;
  users: number;
  minutes: number;
  durationS: number;
  loops: number;
  requests: number;
  rps: number;
  statuses: Record<string, number>;
  expected: number;
  unexpected: number;
  kinds: Record<string, { count: number; statuses: Record<string, number>; unexpected: number; p50: number; p99: number; max: number }>;
  unexpectedSamples: UnexpectedSample[];
  /** 4xx answers without application/problem+json: reported, not failed on. */
  nonProblem: number;
  nonProblemSamples: UnexpectedSample[];
  memory: {
    samples: MemorySample[];
    perServer: { server: number; rssStartMB: number; rssEndMB: number; rssTrend: number; heapStartMB: number | null; heapEndMB: number | null; heapTrend: number | null }[];
  };
  serverErrorLogLines: number;
  serverErrorSamples: string[];
  serverExitCodes: (number | null)[];
  durability: Durability;
  passed: boolean;
}

const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;

export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
}

/** Average of the last third of the series over the average of the middle third (1 = flat). */
export function trendRatio(series: readonly number[]): number {
  if (series.length < 3) return 1;
  const third = Math.floor(series.length / 3);
  const avg = (values: readonly number[]) => values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);
  const middle = avg(series.slice(third, series.length - third));
  const last = avg(series.slice(series.length - third));
  return middle > 0 ? round(last / middle, 3) : 1;
}

function kindSummary(stats: KindStats) {
  const sorted = Float64Array.from(stats.latenciesMs).sort();
  return {
    count: stats.count,
    statuses: stats.statuses,
    unexpected: stats.unexpected,
    p50: round(percentile(sorted as unknown as number[], 0.5)),
    p99: round(percentile(sorted as unknown as number[], 0.99)),
    max: round(sorted.length ? (sorted[sorted.length - 1] ?? 0) : 0),
  };
}

export function buildReport(input: {
  setup: string;
  servers: number;
  users: number;
  minutes: number;
  traffic: TrafficResult;
  samples: MemorySample[];
  serverErrorLogLines: number;
  serverErrorSamples: string[];
  serverExitCodes: (number | null)[];
  durability: Durability;
}): SetupReport {
  const { traffic } = input;
  const statuses: Record<string, number> = {};
  let requests = 0;
  let expected = 0;
  let unexpected = 0;
  const kinds: SetupReport["kinds"] = {};
  for (const [kind, stats] of Object.entries(traffic.kinds).sort(([a], [b]) => a.localeCompare(b))) {
    requests += stats.count;
    expected += stats.expected;
    unexpected += stats.unexpected;
    for (const [status, n] of Object.entries(stats.statuses)) statuses[status] = (statuses[status] ?? 0) + n;
    kinds[kind] = kindSummary(stats);
  }
  const perServer = [...new Set(input.samples.map((s) => s.server))].sort((a, b) => a - b).map((server) => {
    const mine = input.samples.filter((s) => s.server === server);
    const during = mine.filter((s) => s.t >= 0);
    const heaps = during.map((s) => s.heapMB).filter((h): h is number => h !== undefined);
    const first = mine[0];
    const last = mine[mine.length - 1];
    return {
      server,
      rssStartMB: first?.rssMB ?? 0,
      rssEndMB: last?.rssMB ?? 0,
      rssTrend: trendRatio(during.map((s) => s.rssMB)),
      heapStartMB: first?.heapMB ?? null,
      heapEndMB: last?.heapMB ?? null,
      heapTrend: heaps.length >= 3 ? trendRatio(heaps) : null,
    };
  });
  const exitsClean = input.serverExitCodes.every((code) => code === 0);
  return {
    setup: input.setup,
    servers: input.servers,
    users: input.users,
    minutes: input.minutes,
    durationS: round(traffic.durationS),
    loops: traffic.loops,
    requests,
    rps: round(requests / Math.max(1, traffic.durationS)),
    statuses,
    expected,
    unexpected,
    kinds,
    unexpectedSamples: traffic.unexpectedSamples,
    nonProblem: Object.values(traffic.kinds).reduce((n, k) => n + k.nonProblem, 0),
    nonProblemSamples: traffic.nonProblemSamples,
    memory: { samples: input.samples, perServer },
    serverErrorLogLines: input.serverErrorLogLines,
    serverErrorSamples: input.serverErrorSamples,
    serverExitCodes: input.serverExitCodes,
    durability: input.durability,
    passed: unexpected === 0 && input.durability.ok && exitsClean,
  };
}

export function formatReport(report: SetupReport): string {
  const lines: string[] = [];
  const statuses = Object.entries(report.statuses)
    .map(([status, n]) => `${status}:${n}`)
    .join(" ");
  lines.push(
    `[${report.setup}] ${report.servers} server(s), ${report.users} users, ${report.durationS} s, ${report.loops} loops: ${report.requests} requests (${report.rps}/s) — ${statuses}`,
  );
  lines.push(`  expected ${report.expected}, UNEXPECTED ${report.unexpected}; server error log lines ${report.serverErrorLogLines}; exit codes ${report.serverExitCodes.join(",")}`);
  lines.push("  kind                      count   p50 ms   p99 ms   statuses");
  for (const [kind, k] of Object.entries(report.kinds)) {
    const s = Object.entries(k.statuses)
      .map(([status, n]) => `${status}:${n}`)
      .join(" ");
    lines.push(`  ${kind.padEnd(24)} ${String(k.count).padStart(6)} ${String(k.p50).padStart(8)} ${String(k.p99).padStart(8)}   ${s}${k.unexpected ? `  (${k.unexpected} unexpected)` : ""}`);
  }
  for (const m of report.memory.perServer) {
    lines.push(
      `  server ${m.server}: RSS ${m.rssStartMB}→${m.rssEndMB} MB (trend ${m.rssTrend}), heap ${m.heapStartMB ?? "?"}→${m.heapEndMB ?? "?"} MB (trend ${m.heapTrend ?? "?"})${
        m.rssTrend > 1.1 || (m.heapTrend ?? 1) > 1.1 ? "  ← growing?" : ""
      }`,
    );
  }
  const d = report.durability;
  lines.push(
    `  durability: ${d.notesLive - d.notesMissing.length}/${d.notesLive} live notes present, ${d.notesResurrected.length} deleted ones back, ${d.notesWrongOwner.length} wrong owner, ${d.notesUncertain} uncertain`,
  );
  lines.push(
    `  audit (driver/stored): ${Object.entries(d.audit)
      .map(([type, c]) => `${type} ${c.driver}/${c.stored}${c.driver === c.stored ? "" : " ✗"}`)
      .join(", ")}${d.ambiguousAudited ? `; ${d.ambiguousAudited} ambiguous` : ""}`,
  );
  if (report.nonProblem) {
    const first = report.nonProblemSamples[0];
    lines.push(`  note: ${report.nonProblem} 4xx answers were not problem+json, e.g. ${first?.method} ${first?.path.slice(0, 40)}… → ${first?.status}: ${first?.detail.slice(0, 100)}`);
  }
  for (const line of report.serverErrorSamples.slice(0, 3)) lines.push(`  server error log: ${line.slice(0, 240)}`);
  for (const sample of report.unexpectedSamples.slice(0, 8)) lines.push(`  ! ${sample.kind} ${sample.method} ${sample.path.slice(0, 60)} → ${sample.status}: ${sample.detail.slice(0, 160)}`);
  lines.push(`  ${report.passed ? "PASS" : "FAIL"}`);
  return lines.join("\n");
}

export function writeReport(root: string, reports: SetupReport[]): string {
  const dir = join(root, ".tmp");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `soak-${new Date().toISOString().replaceAll(":", "-").replace(/\..*/, "")}.json`);
  writeFileSync(file, `${JSON.stringify({ generatedAt: new Date().toISOString(), node: process.version, reports }, null, 2)}\n`);
  return file;
}
