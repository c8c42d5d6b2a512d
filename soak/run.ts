/**
 * `npm run soak [-- --minutes N] [--setup sqlite|postgres|both] [--users N] [--attack-rate R] [--think-ms T]`
 *
 * Bounded mixed traffic (soak/traffic.ts) against real `rampart serve` processes:
 *   sqlite    one server on the embedded SQLite default (a temporary data directory);
 *   postgres  three servers on PostgreSQL (a fresh schema in TEST_DATABASE_URL, dropped afterwards) and
 *             Redis (TEST_REDIS_URL), no proxy: the driver spreads requests over the three URLs.
 * While it runs, each server's RSS (/proc/<pid>/status) and heap (/metrics, with an API token of an admin
 * created through the CLI) are sampled every 15 s. Afterwards the database is checked: every note that got
 * a 201 and no 204 on delete exists, and the audit table holds the events the driver caused.
 * Prints a report (soak/report.ts), writes .tmp/soak-<timestamp>.json, exits 1 on any unexpected answer
 * or failed check. Servers only listen on 127.0.0.1. Not part of `npm test`.
 */
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { openDatabase } from "../src/store/index.ts";
import { startServer, type ServerProcess } from "../test/support/server-process.ts";
import { postgresUrl, redisUrl, serviceSkip } from "../test/support/services.ts";
import { buildReport, type Durability, formatReport, type MemorySample, type SetupReport, writeReport } from "./report.ts";
import { type Ledger, runTraffic } from "./traffic.ts";

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const SAMPLE_EVERY_MS = 15_000;
const AUDITED = ["user.registered", "login.success", "login.failure", "login.throttled", "logout", "token.created", "token.deleted"];

const { values } = parseArgs({
  options: {
    minutes: { type: "string", default: "5" },
    setup: { type: "string", default: "both" },
    users: { type: "string", default: "50" },
    "attack-rate": { type: "string", default: "5" },
    "think-ms": { type: "string", default: "40" },
  },
  strict: true,
});
const minutes = Number(values.minutes);
const users = Number(values.users);
if (!(minutes > 0 && minutes <= 120) || !(users >= 1 && users <= 500)) {
  console.error("soak: --minutes must be in (0, 120] and --users in [1, 500]");
  process.exit(2);
}
const setups = values.setup === "both" ? ["sqlite", "postgres"] : [String(values.setup)];
if (setups.some((s) => s !== "sqlite" && s !== "postgres")) {
  console.error("soak: --setup is sqlite, postgres or both");
  process.exit(2);
}

/** Every request comes from 127.0.0.1: the per-IP limits are raised so they measure the server, not the limiter. */
function writeConfig(dir: string): string {
  const file = join(dir, "rampart.json");
  writeFileSync(
    file,
    JSON.stringify({
      logging: { level: "warn" },
      rateLimit: {
        perIp: ["100000/second burst 100000"],
        login: ["100000/minute burst 10000"],
        register: ["100000/minute burst 10000"],
      },
      // The attacker's failures must not lock 127.0.0.1 out for the users (per-email back-off stays default).
      loginThrottle: { clientFailuresPerHour: 1_000_000 },
    }),
  );
  return file;
}

/** Runs the CLI (`node --import tsx src/cli/entry.ts …`) with the servers' environment. */
function cli(env: Record<string, string>, args: string[], stdin?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", "src/cli/entry.ts", ...args], {
      cwd: ROOT,
      env: { ...process.env, NODE_ENV: "test", ...env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (chunk) => {
      out += chunk;
    });
    child.stderr.on("data", (chunk) => {
      out += chunk;
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.once("exit", (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`rampart ${args.slice(0, 2).join(" ")} exited with ${code}: ${out}`));
    });
    child.stdin.end(stdin ?? "");
  });
}

function rssMB(pid: number): number {
  try {
    const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Math.round(Number(match[1]) / 102.4) / 10 : 0;
  } catch {
    return 0;
  }
}

async function heapMB(url: string, token: string): Promise<number | undefined> {
  try {
    const response = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(5000) });
    const match = /^rampart_nodejs_heap_size_used_bytes (\S+)$/m.exec(await response.text());
    return match ? Math.round(Number(match[1]) / 104857.6) / 10 : undefined;
  } catch {
    return undefined;
  }
}

async function auditCounts(env: Record<string, string>): Promise<Record<string, number>> {
  const store = await openDatabase({ databaseUrl: env.DATABASE_URL, dataDir: env.RAMPART_DATA_DIR as string });
  try {
    const rows = await store.db
      .selectFrom("audit_events")
      .select(["type", store.db.fn.countAll<string | number>().as("n")])
      .where("type", "in", AUDITED)
      .groupBy("type")
      .execute();
    return Object.fromEntries(rows.map((row) => [row.type, Number(row.n)]));
  } finally {
    await store.close();
  }
}

async function checkDurability(env: Record<string, string>, ledger: Ledger, before: Record<string, number>): Promise<Durability> {
  const after = await auditCounts(env);
  const store = await openDatabase({ databaseUrl: env.DATABASE_URL, dataDir: env.RAMPART_DATA_DIR as string });
  const found = new Map<string, string>();
  try {
    const ids = [...ledger.created.keys()];
    for (let i = 0; i < ids.length; i += 500) {
      const rows = await store.db
        .selectFrom("notes")
        .select(["id", "owner_id"])
        .where("id", "in", ids.slice(i, i + 500))
        .execute();
      for (const row of rows) found.set(row.id, row.owner_id);
    }
  } finally {
    await store.close();
  }
  const live = [...ledger.created.keys()].filter((id) => !ledger.deleted.has(id) && !ledger.uncertain.has(id));
  const notesMissing = live.filter((id) => !found.has(id));
  const notesResurrected = [...ledger.deleted].filter((id) => found.has(id));
  const notesWrongOwner = live.filter((id) => found.has(id) && found.get(id) !== ledger.created.get(id));
  const audit: Durability["audit"] = {};
  for (const type of AUDITED) audit[type] = { driver: ledger.events[type] ?? 0, stored: (after[type] ?? 0) - (before[type] ?? 0) };
  // With an ambiguous request (no answer), the stored count may exceed the driver's by at most that many.
  const auditOk = Object.values(audit).every((c) => c.stored >= c.driver && c.stored <= c.driver + ledger.ambiguousAudited);
  return {
    notesLive: live.length,
    notesMissing,
    notesResurrected,
    notesWrongOwner,
    notesUncertain: ledger.uncertain.size,
    audit,
    ambiguousAudited: ledger.ambiguousAudited,
    ok: notesMissing.length === 0 && notesResurrected.length === 0 && notesWrongOwner.length === 0 && auditOk,
  };
}

async function runSetup(setup: "sqlite" | "postgres"): Promise<SetupReport> {
  const dataDir = mkdtempSync(join(tmpdir(), `rampart-soak-${setup}-`));
  const env: Record<string, string> = { RAMPART_CONFIG: writeConfig(dataDir), RAMPART_DATA_DIR: dataDir };
  const schema = `rampart_soak_${randomUUID().replaceAll("-", "")}`;
  const servers: ServerProcess[] = [];
  try {
    if (setup === "postgres") {
      const admin = await openDatabase({ databaseUrl: postgresUrl(), dataDir });
      await admin.db.schema.createSchema(schema).execute();
      await admin.close();
      const url = new URL(postgresUrl());
      url.searchParams.set("options", `-c search_path=${schema}`);
      env.DATABASE_URL = url.toString();
      env.REDIS_URL = redisUrl();
    }
    const count = setup === "postgres" ? 3 : 1;
    // One after the other: the first one migrates the fresh schema.
    for (let i = 0; i < count; i++) servers.push(await startServer(env, 60_000));
    const urls = servers.map((s) => s.url);
    console.log(`[${setup}] servers: ${urls.join(" ")}`);

    const adminEmail = `soak-admin-${randomUUID().slice(0, 8)}@example.com`;
    await cli(env, ["users", "create", "--email", adminEmail, "--role", "admin", "--password-stdin"], "soak admin passphrase, long enough\n");
    const printed = await cli(env, ["tokens", "create", "--email", adminEmail, "--name", "soak-metrics", "--scope", "metrics:read", "--expires-days", "1"]);
    const token = /^\s+(rmp_\S+)\s*$/m.exec(printed)?.[1];
    if (!token) throw new Error(`no API token in: ${printed}`);

    const samples: MemorySample[] = [];
    let t0 = Date.now();
    const sample = async () => {
      const t = Math.round((Date.now() - t0) / 100) / 10;
      await Promise.all(servers.map(async (s, i) => samples.push({ t, server: i, rssMB: rssMB(s.child.pid ?? 0), heapMB: await heapMB(s.url, token) })));
    };
    t0 = Date.now() + 1;
    await sample();
    const before = await auditCounts(env);
    t0 = Date.now();
    const timer = setInterval(() => void sample(), SAMPLE_EVERY_MS);
    const durationMs = minutes * 60_000;
    let watchdogTimer: NodeJS.Timeout | undefined;
    const watchdog = new Promise<never>((_, reject) => {
      watchdogTimer = setTimeout(() => reject(new Error("traffic did not stop within 2 minutes of its deadline")), durationMs + 120_000);
    });
    let traffic: Awaited<ReturnType<typeof runTraffic>>;
    try {
      traffic = await Promise.race([
        runTraffic({ urls, users, durationMs, attackRate: Number(values["attack-rate"]), thinkMs: Number(values["think-ms"]), maxLoops: 100_000, requestTimeoutMs: 15_000 }),
        watchdog,
      ]);
    } finally {
      clearInterval(timer);
      clearTimeout(watchdogTimer);
    }
    await sample();

    const errorLines = servers.flatMap((s) => s.output().split("\n").filter((line) => /"level":(50|60)/.test(line)));
    const serverErrorLogLines = errorLines.length;
    const serverErrorSamples = [...new Set(errorLines.map((line) => line.replace(/"(time|pid|hostname|reqId|requestId)":[^,]*,?/g, "").slice(0, 400)))].slice(0, 5);
    const serverExitCodes: (number | null)[] = [];
    for (const s of servers.splice(0)) serverExitCodes.push(await s.stop());
    const durability = await checkDurability(env, traffic.ledger, before);
    return buildReport({ setup, servers: count, users, minutes, traffic, samples, serverErrorLogLines, serverErrorSamples, serverExitCodes, durability });
  } finally {
    for (const s of servers) await s.stop("SIGKILL").catch(() => undefined);
    if (setup === "postgres") {
      const admin = await openDatabase({ databaseUrl: postgresUrl(), dataDir }).catch(() => undefined);
      await admin?.db.schema.dropSchema(schema).ifExists().cascade().execute();
      await admin?.close();
    }
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const reports: SetupReport[] = [];
let failed = false;
for (const setup of setups as ("sqlite" | "postgres")[]) {
  if (setup === "postgres") {
    const skip = (await serviceSkip("postgres")) || (await serviceSkip("redis"));
    if (skip) {
      console.error(`[postgres] not run: ${skip}`);
      failed = true;
      continue;
    }
  }
  try {
    const report = await runSetup(setup);
    reports.push(report);
    console.log(formatReport(report));
    if (!report.passed) failed = true;
  } catch (error) {
    console.error(`[${setup}] failed: ${(error as Error).stack ?? error}`);
    failed = true;
  }
}
console.log(`report: ${writeReport(ROOT, reports)}`);
process.exit(failed ? 1 : 0);
