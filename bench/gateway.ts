/**
 * Gateway benchmark: the same upstream (bench/servers/upstream.ts, a bare node:http JSON API) called
 * directly and through `rampart gateway` on an authenticated rule (EdDSA bearer token, revocation and
 * user state, two stacked limits, RBAC, canonical path, header rewriting, a signed X-Rampart-Assertion
 * per request, undici to the upstream), in one run, alternating rounds:
 * - latency one request at a time (1 connection, 100 req/s): what the gateway adds to each request;
 * - latency at a fixed offered rate under load (10 connections): added p50 and p99 with queueing;
 * - throughput closed-loop (50 connections): requests per second and the ratio.
 * A third path is the floor of any Node proxy: bare Fastify + @fastify/reply-from, checking nothing.
 * Nothing is pinned: three processes share two cores, as gateway, upstream and clients would on one
 * small machine (pinning the gateway and the upstream to one core measures context switches instead). Before measuring, the gateway must refuse (401 without a token, 403 for a
 * caller lacking the permission) and forward (200 with the reader's token).
 *
 *   npm run bench -- gateway [--rounds 3] [--duration 10] [--rate 1000]
 */
import { median, type RunningServer, runLoader, startServer } from "./harness.ts";
import type { LoadResult } from "./loader.ts";
import { ITEMS_PATH } from "./servers/common.ts";

export interface GatewayBenchmark {
  rate: number;
  durationS: number;
  rounds: number;
  direct: Side;
  proxy: Side;
  gateway: Side;
}

interface Side {
  single: LoadResult[];
  fixed: LoadResult[];
  closed: LoadResult[];
}

type PathName = "direct" | "proxy" | "gateway";

async function expectStatus(url: string, headers: Record<string, string>, status: number, what: string): Promise<void> {
  const response = await fetch(url, { headers });
  await response.arrayBuffer();
  if (response.status !== status) throw new Error(`gateway benchmark: ${what} answered ${response.status}, expected ${status}`);
}

export async function runGatewayBenchmark(options: { durationS: number; rounds: number; rate: number }): Promise<GatewayBenchmark> {
  const upstream = await startServer({ name: "upstream", file: "upstream.ts", guarded: false, description: "bare node:http JSON" }, { pin: false });
  const env = { RAMPART_UPSTREAM: `http://127.0.0.1:${upstream.announcement.port}` };
  let gateway: RunningServer | undefined;
  let proxy: RunningServer | undefined;
  try {
    proxy = await startServer({ name: "proxy-baseline", file: "proxy-baseline.ts", guarded: false, env, description: "bare reply-from" }, { pin: false });
    gateway = await startServer({ name: "gateway", file: "gateway.ts", guarded: true, env, description: "rampart gateway, authenticated rule" }, { pin: false });
    const token = gateway.announcement.token as string;
    const viaGateway = gateway.url(ITEMS_PATH);
    await expectStatus(viaGateway, {}, 401, "an anonymous call");
    await expectStatus(viaGateway, { authorization: `Bearer ${gateway.announcement.forbiddenToken}` }, 403, "a caller without items:read");
    await expectStatus(viaGateway, { authorization: `Bearer ${token}` }, 200, "the reader");

    const empty = (): Side => ({ single: [], fixed: [], closed: [] });
    const result: GatewayBenchmark = { rate: options.rate, durationS: options.durationS, rounds: options.rounds, direct: empty(), proxy: empty(), gateway: empty() };
    const targets: { key: PathName; url: string; headers: Record<string, string>; pid: number }[] = [
      { key: "direct", url: upstream.url(ITEMS_PATH), headers: {}, pid: upstream.pid },
      { key: "proxy", url: proxy.url(ITEMS_PATH), headers: {}, pid: proxy.pid },
      { key: "gateway", url: viaGateway, headers: { authorization: `Bearer ${token}` }, pid: gateway.pid },
    ];
    const load = (target: (typeof targets)[number], spec: { connections: number; durationS: number; overallRate?: number }) =>
      runLoader({ url: target.url, headers: target.headers, serverPid: target.pid, ...spec }, { pin: false });
    for (const target of targets) await load(target, { connections: 10, durationS: 3 }); // warm-up
    for (let round = 0; round < options.rounds; round++) {
      for (const target of round % 2 === 0 ? targets : [...targets].reverse()) {
        const single = await load(target, { connections: 1, durationS: options.durationS, overallRate: 100 });
        const fixed = await load(target, { connections: 10, durationS: options.durationS, overallRate: options.rate });
        const closed = await load(target, { connections: 50, durationS: options.durationS });
        for (const load of [single, fixed, closed]) {
          if (load.ok !== load.requests) throw new Error(`gateway benchmark: ${target.key} answered non-2xx: ${JSON.stringify(load.statuses)}`);
        }
        result[target.key].single.push(single);
        result[target.key].fixed.push(fixed);
        result[target.key].closed.push(closed);
        console.log(
          `  round ${round + 1} ${target.key.padEnd(7)} one at a time p50 ${single.latency.p50.toFixed(3)} ms;  @${options.rate}/s p50 ${fixed.latency.p50.toFixed(3)} p99 ${fixed.latency.p99.toFixed(3)} ms;  ${Math.round(closed.rps)} req/s closed-loop`,
        );
      }
    }
    return result;
  } finally {
    await gateway?.stop();
    await proxy?.stop();
    await upstream.stop();
  }
}

export function gatewayMarkdown(b: GatewayBenchmark): string {
  const figures = (side: Side) => ({
    single50: median(side.single.map((r) => r.latency.p50)),
    single99: median(side.single.map((r) => r.latency.p99)),
    p50: median(side.fixed.map((r) => r.latency.p50)),
    p99: median(side.fixed.map((r) => r.latency.p99)),
    rps: median(side.closed.map((r) => r.rps)),
    cpu: median(side.closed.map((r) => ((r.serverCpuS ?? 0) * 1e6) / Math.max(1, r.requests))),
  });
  const direct = figures(b.direct);
  const proxy = figures(b.proxy);
  const gateway = figures(b.gateway);
  const row = (name: string, f: ReturnType<typeof figures>) =>
    `| ${name} | ${f.single50.toFixed(3)} | ${f.single99.toFixed(3)} | ${f.p50.toFixed(3)} | ${f.p99.toFixed(3)} | ${Math.round(f.rps).toLocaleString("en")} | ${f.cpu.toFixed(1)} |`;
  const added = gateway.single50 - direct.single50;
  return [
    `Medians of ${b.rounds} alternating rounds × ${b.durationS} s, nothing pinned. "One at a time": 1 connection at 100 req/s. "Loaded": ${b.rate} req/s over 10 connections. Throughput closed-loop (50 connections); CPU µs/request of the process in front (the upstream's own for the direct path).`,
    "",
    "| path | one at a time p50 ms | p99 ms | loaded p50 ms | p99 ms | req/s closed-loop | CPU µs/req |",
    "|---|---:|---:|---:|---:|---:|---:|",
    row("upstream directly", direct),
    row("bare reply-from proxy (checks nothing)", proxy),
    row("rampart gateway, authenticated rule", gateway),
    "",
    `Added by the gateway, one request at a time: **p50 +${added.toFixed(3)} ms**, p99 +${(gateway.single99 - direct.single99).toFixed(3)} ms against the upstream directly ` +
      `(+${(gateway.single50 - proxy.single50).toFixed(3)} ms at p50 against a bare proxy). Loaded: p50 +${(gateway.p50 - direct.p50).toFixed(3)} ms, p99 +${(gateway.p99 - direct.p99).toFixed(3)} ms. ` +
      `Throughput ${(gateway.rps / direct.rps).toFixed(2)} × the upstream's, ${(gateway.rps / proxy.rps).toFixed(2)} × the bare proxy's.`,
    "",
    `Target: added p50 < 1 ms — ${added < 1 ? "pass" : "**miss**"}.`,
  ].join("\n");
}
