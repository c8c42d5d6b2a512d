/**
 * The load generator, run by the runner as its own process (pinned to core 0 when taskset exists):
 * autocannon's API with our own latency recording at microsecond resolution (autocannon's histogram
 * has 1 ms resolution, too coarse for p50s around a millisecond).
 *
 *   node --import tsx bench/loader.ts '<LoadSpec as JSON>'
 *
 * Prints one JSON line (`LoadResult`). When `serverPid` is given, also reports the CPU time the server
 * process used during the run (from /proc), so cost per request can be told apart from machine noise.
 */
import { readFileSync } from "node:fs";
import autocannon from "autocannon";
import { cpuSecondsOf } from "./harness.ts";

export interface LoadSpec {
  url: string;
  connections: number;
  durationS: number;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** Fixed offered rate (requests/s over all connections); unset = closed loop, as fast as answered. */
  overallRate?: number;
  serverPid?: number;
  /** A file of tokens, one per line: each request carries the next one as `Authorization: Bearer`. */
  tokensFile?: string;
}

export interface LoadResult {
  durationS: number;
  requests: number;
  rps: number;
  ok: number;
  statuses: Record<string, number>;
  errors: number;
  timeouts: number;
  /** Milliseconds, over 2xx responses; for a fixed rate, corrected for coordinated omission. */
  latency: { p50: number; p90: number; p99: number; p999: number; max: number; mean: number };
  /** CPU seconds used by the server process during the run, and that as a share of one core. */
  serverCpuS?: number;
  serverCpuShare?: number;
  /** CPU share of one core used by this load generator. */
  loaderCpuShare: number;
}

class Recorder {
  private values = new Float64Array(1 << 16);
  private size = 0;

  record(value: number): void {
    if (this.size === this.values.length) {
      const grown = new Float64Array(this.values.length * 2);
      grown.set(this.values);
      this.values = grown;
    }
    this.values[this.size++] = value;
  }

  summary(): LoadResult["latency"] {
    const sorted = this.values.subarray(0, this.size).sort();
    const at = (q: number) => (sorted.length === 0 ? 0 : (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0));
    let sum = 0;
    for (const v of sorted) sum += v;
    const round = (v: number) => Math.round(v * 1000) / 1000;
    return {
      p50: round(at(0.5)),
      p90: round(at(0.9)),
      p99: round(at(0.99)),
      p999: round(at(0.999)),
      max: round(sorted.length ? (sorted[sorted.length - 1] ?? 0) : 0),
      mean: round(sorted.length ? sum / sorted.length : 0),
    };
  }
}

/** Cycles through the file's tokens, one per request. */
function rotateTokens(file: string, headers: Record<string, string>) {
  const tokens = readFileSync(file, "utf8").split("\n").filter(Boolean);
  let next = 0;
  return (request: { headers?: Record<string, string> }) => {
    request.headers = { ...headers, authorization: `Bearer ${tokens[next]}` };
    next = (next + 1) % tokens.length;
    return request;
  };
}

export function runLoad(spec: LoadSpec): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const recorder = new Recorder();
    // With a fixed rate, a stalled response also delays the requests that should have been sent
    // meanwhile; record those as the wait they would have seen (HdrHistogram's expected-interval fix).
    const expectedMs = spec.overallRate ? (spec.connections * 1000) / spec.overallRate : 0;
    const statuses: Record<string, number> = {};
    let serverStart = 0;
    let wallStart = 0;
    let cpuStart = process.cpuUsage();
    const instance = autocannon(
      {
        url: spec.url,
        connections: spec.connections,
        duration: spec.durationS,
        method: spec.method ?? "GET",
        headers: spec.headers ?? {},
        ...(spec.body ? { body: spec.body } : {}),
        ...(spec.overallRate ? { overallRate: spec.overallRate } : {}),
        ...(spec.tokensFile ? { requests: [{ setupRequest: rotateTokens(spec.tokensFile, spec.headers ?? {}) }] } : {}),
        timeout: 10,
      },
      (error, result) => {
        if (error) return reject(error);
        const wall = (performance.now() - wallStart) / 1000;
        const cpu = process.cpuUsage(cpuStart);
        const serverCpuS = spec.serverPid ? cpuSecondsOf(spec.serverPid) - serverStart : undefined;
        const requests = Object.values(statuses).reduce((a, b) => a + b, 0);
        const ok = Object.entries(statuses).reduce((a, [code, n]) => (code.startsWith("2") ? a + n : a), 0);
        resolve({
          durationS: wall,
          requests,
          rps: ok / wall,
          ok,
          statuses,
          errors: result.errors,
          timeouts: result.timeouts,
          latency: recorder.summary(),
          ...(serverCpuS !== undefined ? { serverCpuS, serverCpuShare: serverCpuS / wall } : {}),
          loaderCpuShare: (cpu.user + cpu.system) / 1e6 / wall,
        });
      },
    );
    instance.once("start", () => {
      wallStart = performance.now();
      cpuStart = process.cpuUsage();
      if (spec.serverPid) serverStart = cpuSecondsOf(spec.serverPid);
    });
    instance.on("response", (_client: unknown, statusCode: number, _bytes: number, responseTime: number) => {
      const key = String(statusCode);
      statuses[key] = (statuses[key] ?? 0) + 1;
      if (statusCode < 200 || statusCode > 299) return;
      recorder.record(responseTime);
      if (expectedMs > 0) for (let missed = responseTime - expectedMs; missed >= expectedMs; missed -= expectedMs) recorder.record(missed);
    });
  });
}

if (process.argv[1]?.endsWith("loader.ts")) {
  const spec = JSON.parse(process.argv[2] ?? "{}") as LoadSpec;
  const result = await runLoad(spec);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
