/**
 * Process plumbing shared by the runner (run.ts) and the login benchmark (login.ts): starting a server
 * as its own process pinned to one core, running the load generator as another process pinned to the
 * other, reading a process's CPU time, and describing the machine.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { connect } from "node:net";
import { availableParallelism, cpus, loadavg, release, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { Announcement } from "./servers/common.ts";
import type { LoadResult, LoadSpec } from "./loader.ts";

export const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
export const ROOT = dirname(BENCH_DIR);
export const SERVER_CORE = 1;
export const LOADER_CORE = 0;

const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** Whether processes can be pinned: taskset exists, works, and there are at least two cores. */
export const CAN_PIN = (() => {
  if (availableParallelism() < 2) return false;
  try {
    execFileSync("taskset", ["-c", "0", "true"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

/** User + system CPU seconds of a process (all its threads), from /proc; 0 when unreadable. */
export function cpuSecondsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // After the command name: state is field 3, utime 14, stime 15 (1-based) → indexes 11 and 12 here.
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}

function pinned(core: number | undefined, command: string, args: string[]): [string, string[]] {
  if (core === undefined || !CAN_PIN) return [command, args];
  return ["taskset", ["-c", String(core), command, ...args]];
}

export interface ServerDefinition {
  name: string;
  /** File under bench/servers/. */
  file: string;
  args?: string[];
  env?: Record<string, string>;
  /** Guarded servers are checked to refuse (401, 403, 400) before they are measured. */
  guarded: boolean;
  /**
   * Run by plain node from compiled JavaScript (Rampart's modules from dist/, the package build) instead
   * of through tsx from the TypeScript sources: see `compileServers`.
   */
  compiled?: boolean;
  description: string;
}

export interface RunningServer {
  definition: ServerDefinition;
  announcement: Announcement;
  pid: number;
  url(path: string): string;
  /** The last few KB the server wrote on stderr (e.g. "Redis unavailable" fallbacks). */
  stderr(): string;
  stop(): Promise<void>;
}

export class ServerStartError extends Error {
  constructor(
    message: string,
    readonly exitCode: number | null,
  ) {
    super(message);
  }
}

const COMPILED_DIR = join(ROOT, ".tmp", "bench-compiled");
let compiledServers = false;

/**
 * For the `compiled` servers, once per process: builds the package (`scripts/build.js`: src/ → dist/, so
 * what is measured is the current source), then compiles bench/servers/ with tsc into .tmp/bench-compiled/
 * (bench/tsconfig.compiled.json, the build's compiler options). That also emits a copy of src/, deleted
 * here: the server's imports of Rampart modules are resolved to dist/ by bench/dist-hooks.js.
 */
export function compileServers(): void {
  if (compiledServers) return;
  const run = (args: string[]) => {
    try {
      execFileSync(process.execPath, args, { cwd: ROOT, encoding: "utf8", stdio: "pipe" });
    } catch (error) {
      const { stdout = "", stderr = "" } = error as { stdout?: string; stderr?: string };
      throw new Error(`compiling the benchmark servers: ${args.join(" ")} failed\n${stdout}${stderr}`);
    }
  };
  run([join(ROOT, "scripts", "build.js")]);
  rmSync(COMPILED_DIR, { recursive: true, force: true });
  const require = createRequire(import.meta.url);
  const manifest = require.resolve("typescript/package.json");
  run([join(dirname(manifest), (require(manifest) as { bin: { tsc: string } }).bin.tsc), "-p", join(BENCH_DIR, "tsconfig.compiled.json")]);
  rmSync(join(COMPILED_DIR, "src"), { recursive: true, force: true });
  compiledServers = true;
}

/** Starts `bench/servers/<file>` pinned to the server core; resolves once it has announced itself. */
export function startServer(definition: ServerDefinition, options: { pin?: boolean; nodeArgs?: string[] } = {}): Promise<RunningServer> {
  if (definition.compiled) compileServers();
  const script = definition.compiled
    ? join(COMPILED_DIR, "bench", "servers", definition.file.replace(/\.ts$/, ".js"))
    : join(BENCH_DIR, "servers", definition.file);
  const loader = definition.compiled ? pathToFileURL(join(BENCH_DIR, "dist-loader.js")).href : "tsx";
  const [command, args] = pinned(options.pin === false ? undefined : SERVER_CORE, process.execPath, [
    ...(options.nodeArgs ?? []),
    "--import",
    loader,
    script,
    ...(definition.args ?? []),
  ]);
  const child = spawn(command, args, {
    cwd: ROOT,
    env: { ...process.env, ...definition.env, BENCH_PARENT: "1", NODE_ENV: "production" },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  return new Promise((resolve, reject) => {
    let buffered = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new ServerStartError(`${definition.name}: no announcement within 120 s\n${stderr}`, null));
    }, 120_000);
    const onExit = (code: number | null) => {
      clearTimeout(timer);
      reject(new ServerStartError(`${definition.name}: exited with ${code} before announcing\n${stderr}`, code));
    };
    child.once("exit", onExit);
    child.stdout?.on("data", function onData(chunk: Buffer) {
      buffered += chunk.toString();
      const newline = buffered.indexOf("\n");
      if (newline === -1) return;
      child.stdout?.off("data", onData);
      child.stdout?.resume();
      clearTimeout(timer);
      child.off("exit", onExit);
      let announcement: Announcement;
      try {
        announcement = JSON.parse(buffered.slice(0, newline)) as Announcement;
      } catch {
        child.kill("SIGKILL");
        reject(new ServerStartError(`${definition.name}: unreadable announcement ${buffered.slice(0, 200)}`, null));
        return;
      }
      resolve({
        definition,
        announcement,
        pid: child.pid ?? 0,
        url: (path) => `http://127.0.0.1:${announcement.port}${path}`,
        stderr: () => stderr,
        stop: () => stopChild(child),
      });
    });
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill("SIGTERM");
  });
}

/** Runs bench/loader.ts as its own process pinned to the loader core. */
export function runLoader(spec: LoadSpec, options: { pin?: boolean } = {}): Promise<LoadResult> {
  const [command, args] = pinned(options.pin === false ? undefined : LOADER_CORE, process.execPath, [
    "--import",
    "tsx",
    join(BENCH_DIR, "loader.ts"),
    JSON.stringify(spec),
  ]);
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4000);
    });
    child.once("exit", (code) => {
      if (code !== 0) return reject(new Error(`loader exited with ${code}: ${stderr}`));
      try {
        resolve(JSON.parse(stdout.trim().split("\n").at(-1) ?? "") as LoadResult);
      } catch {
        reject(new Error(`loader printed no result: ${stdout.slice(0, 300)} ${stderr}`));
      }
    });
  });
}

/** True when a Redis server answers PING at host:port within a second. */
export function redisAnswers(url = process.env.REDIS_URL ?? "redis://127.0.0.1:6379"): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname || "127.0.0.1", port: Number(port) || 6379 });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once("error", () => done(false));
    socket.once("connect", () => socket.write("PING\r\n"));
    socket.once("data", (data) => done(data.toString().startsWith("+PONG")));
  });
}

export interface Machine {
  nproc: number;
  cpuModel: string;
  node: string;
  kernel: string;
  memoryGiB: number;
  pinned: boolean;
  loadAverage: string;
}

export function describeMachine(): Machine {
  let cpuModel = cpus()[0]?.model ?? "unknown";
  try {
    const line = readFileSync("/proc/cpuinfo", "utf8")
      .split("\n")
      .find((l) => l.startsWith("model name"));
    if (line) cpuModel = line.slice(line.indexOf(":") + 1).trim();
  } catch {
    // not Linux: keep os.cpus()
  }
  return {
    nproc: availableParallelism(),
    cpuModel,
    node: process.version,
    kernel: release(),
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    pinned: CAN_PIN,
    loadAverage: loadavg()
      .map((l) => l.toFixed(2))
      .join(" "),
  };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}
