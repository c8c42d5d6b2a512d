/**
 * Login benchmark: logins per second at the configured argon2id parameters against the Rampart bench
 * server, and whether hashing stalls the event loop — the p99 of a cheap authenticated route
 * (GET /auth/me) at a fixed rate while logins are hammered, against its p99 when idle (target ≤ 2×).
 *
 *   npm run bench -- login [--quick] [--duration 10]
 *
 * Two placements: the server pinned to one core (its libuv hashing threads share that core with the
 * event loop, so this measures CPU contention as well as blocking), and unpinned (hashing threads may
 * use the other core: what remains is blocking of the event loop itself). Each placement alternates
 * idle and storm phases for several rounds and compares the medians: at 200 req/s the idle p99 is
 * mostly the machine's wake-up jitter, which varies a lot from one 10 s window to the next on a VM.
 */
import { loadConfig } from "../src/config/load.ts";
import { median, type RunningServer, runLoader, sleep, startServer } from "./harness.ts";
import type { LoadResult } from "./loader.ts";
import { ORIGIN } from "./servers/common.ts";

export interface LoginRound {
  logins: LoadResult;
  idle: LoadResult;
  storm: LoadResult;
}

export interface LoginScenario {
  placement: "pinned" | "unpinned";
  rounds: LoginRound[];
  /** Medians over rounds. */
  loginsPerSecond: number;
  loginStatuses: Record<string, number>;
  loginP50: number;
  loginP99: number;
  idleP99: number;
  stormP99: number;
  /** median storm p99 / median idle p99 of the cheap route. */
  ratio: number;
  serverCpuShare: number;
}

export interface LoginBenchmark {
  argon2: { memoryCost: number; timeCost: number; parallelism: number };
  probeRate: number;
  loginConnections: number;
  durationS: number;
  rounds: number;
  scenarios: LoginScenario[];
}

const PROBE_RATE = 200;
const PROBE_CONNECTIONS = 4;
const LOGIN_CONNECTIONS = 16;

export async function runLoginBenchmark(options: {
  durationS: number;
  rounds: number;
  placements?: LoginScenario["placement"][];
}): Promise<LoginBenchmark> {
  const { argon2 } = loadConfig({ env: {} }).passwords;
  const scenarios: LoginScenario[] = [];
  for (const placement of options.placements ?? ["pinned", "unpinned"]) {
    const server = await startServer(
      { name: "rampart (login)", file: "rampart.ts", guarded: true, description: "Rampart reference routes" },
      { pin: placement === "pinned" },
    );
    try {
      scenarios.push(await scenario(server, placement, options.durationS, options.rounds));
    } finally {
      await server.stop();
    }
  }
  return { argon2, probeRate: PROBE_RATE, loginConnections: LOGIN_CONNECTIONS, durationS: options.durationS, rounds: options.rounds, scenarios };
}

async function scenario(server: RunningServer, placement: LoginScenario["placement"], durationS: number, roundCount: number): Promise<LoginScenario> {
  const { token, login, cheapPath } = server.announcement;
  if (!token || !login || !cheapPath) throw new Error("the rampart server did not announce a token, login and cheap route");
  const probe = (seconds: number) =>
    runLoader({
      url: server.url(cheapPath),
      connections: PROBE_CONNECTIONS,
      durationS: seconds,
      overallRate: PROBE_RATE,
      headers: { authorization: `Bearer ${token}`, origin: ORIGIN },
    });
  const storm = (seconds: number) =>
    runLoader({
      url: server.url("/auth/login"),
      connections: LOGIN_CONNECTIONS,
      durationS: seconds,
      method: "POST",
      headers: { "content-type": "application/json", origin: ORIGIN },
      body: JSON.stringify(login),
      serverPid: server.pid,
    });

  await probe(2); // warm-up
  await storm(2);
  const rounds: LoginRound[] = [];
  for (let round = 0; round < roundCount; round++) {
    await sleep(1000); // let the last logins of the previous storm drain
    const idle = await probe(durationS);
    const logins = storm(durationS + 2);
    await sleep(1000);
    const busy = await probe(durationS);
    rounds.push({ logins: await logins, idle, storm: busy });
  }
  const statuses: Record<string, number> = {};
  for (const r of rounds) for (const [code, n] of Object.entries(r.logins.statuses)) statuses[code] = (statuses[code] ?? 0) + n;
  const idleP99 = median(rounds.map((r) => r.idle.latency.p99));
  const stormP99 = median(rounds.map((r) => r.storm.latency.p99));
  return {
    placement,
    rounds,
    loginsPerSecond: median(rounds.map((r) => r.logins.rps)),
    loginStatuses: statuses,
    loginP50: median(rounds.map((r) => r.logins.latency.p50)),
    loginP99: median(rounds.map((r) => r.logins.latency.p99)),
    idleP99,
    stormP99,
    ratio: stormP99 / idleP99,
    serverCpuShare: median(rounds.map((r) => r.logins.serverCpuShare ?? 0)),
  };
}

export function loginMarkdown(result: LoginBenchmark): string {
  const { memoryCost, timeCost, parallelism } = result.argon2;
  const lines = [
    `argon2id m=${memoryCost} KiB, t=${timeCost}, p=${parallelism} (the configured defaults); ${result.loginConnections} connections ` +
      `hammering \`POST /auth/login\`; \`GET /auth/me\` probed at a fixed ${result.probeRate} req/s (p99 corrected for coordinated ` +
      `omission), ${result.rounds} round(s) per placement of ${result.durationS} s idle then ${result.durationS} s during the storm; medians over rounds.`,
    "",
    "| server placement | logins/s | login p50 / p99 ms | server CPU (cores) | /auth/me p99 idle ms | /auth/me p99 under logins ms | ratio | per-round ratios | target ≤ 2× |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---|",
  ];
  for (const s of result.scenarios) {
    const okLogins = Object.keys(s.loginStatuses).every((code) => code === "200");
    const perRound = s.rounds.map((r) => (r.storm.latency.p99 / r.idle.latency.p99).toFixed(2)).join(" / ");
    lines.push(
      `| ${s.placement === "pinned" ? "pinned to 1 core" : "unpinned (2 cores)"} | ${s.loginsPerSecond.toFixed(1)}${okLogins ? "" : ` (statuses ${JSON.stringify(s.loginStatuses)})`} | ` +
        `${s.loginP50.toFixed(1)} / ${s.loginP99.toFixed(1)} | ${s.serverCpuShare.toFixed(2)} | ${s.idleP99.toFixed(2)} | ` +
        `${s.stormP99.toFixed(2)} | ${s.ratio.toFixed(2)}× | ${perRound} | ${s.ratio <= 2 ? "pass" : "**miss**"} |`,
    );
  }
  return lines.join("\n");
}

if (process.argv[1]?.endsWith("login.ts")) {
  const quick = process.argv.includes("--quick");
  const result = await runLoginBenchmark({ durationS: quick ? 3 : 10, rounds: quick ? 1 : 3 });
  console.log(loginMarkdown(result));
}
