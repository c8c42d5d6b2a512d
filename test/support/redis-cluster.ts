/**
 * A real Redis Cluster of its own for a suite: three masters (no replicas) on free ports, started from the
 * machine's `redis-server`, joined with `redis-cli --cluster create`, in a temp dir removed by `stop()`.
 * It never touches the shared Redis on 6379. Locally a missing `redis-server`/`redis-cli` skips the suite
 * with a reason; in CI (`CI` or `RAMPART_REQUIRE_SERVICES` set) it fails loudly, like services.ts.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";

const run = promisify(execFile);
const required = () => Boolean(process.env.CI || process.env.RAMPART_REQUIRE_SERVICES);

export interface RedisClusterHandle {
  readonly ports: readonly number[];
  /** `redis+cluster://127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3`: Rampart's REDIS_URL for this cluster. */
  readonly url: string;
  /** Runs `redis-cli -p <port> <args>` against one node; returns its trimmed output. */
  cli(port: number, ...args: string[]): Promise<string>;
  stop(): Promise<void>;
}

async function which(binary: string): Promise<string | undefined> {
  try {
    return (await run("which", [binary])).stdout.trim() || undefined;
  } catch {
    return undefined;
  }
}

/** `false` when the suite may run; otherwise the skip reason. Throws in CI when the binaries are missing. */
export async function redisClusterSkip(): Promise<false | string> {
  const missing = [];
  for (const binary of ["redis-server", "redis-cli"]) if (!(await which(binary))) missing.push(binary);
  if (missing.length === 0) return false;
  const message = `${missing.join(" and ")} not found on PATH`;
  if (required()) throw new Error(`${message}; CI requires a local Redis Cluster`);
  return `${message}; install Redis (7+) to run the Redis Cluster suite`;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function until(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await sleep(50);
  }
  throw new Error(`redis cluster: timed out after ${timeoutMs} ms waiting for ${what}`);
}

export async function startRedisCluster(): Promise<RedisClusterHandle> {
  const dir = mkdtempSync(join(tmpdir(), "rampart-redis-cluster-"));
  const processes: ChildProcess[] = [];
  const ports: number[] = [];
  const cli = async (port: number, ...args: string[]) => (await run("redis-cli", ["-h", "127.0.0.1", "-p", String(port), ...args])).stdout.trim();
  const stop = async () => {
    await Promise.all(
      processes.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once("exit", () => resolve());
            child.kill("SIGKILL");
          }),
      ),
    );
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < 3; i++) {
      let port = await freePort();
      // The cluster bus listens on port + 10000: make sure that one is free too.
      while (port + 10000 > 65535 || !(await isFree(port + 10000)) || ports.includes(port)) port = await freePort();
      ports.push(port);
      // biome-ignore format: one flag per line reads like the command it is
      const child = spawn("redis-server", [
        "--port", String(port),
        "--cluster-enabled", "yes",
        "--cluster-config-file", join(dir, `nodes-${port}.conf`),
        "--cluster-node-timeout", "2000",
        "--appendonly", "no",
        "--save", "",
        "--dir", dir,
        "--bind", "127.0.0.1",
        "--daemonize", "no",
      ], { stdio: "ignore" });
      processes.push(child);
    }
    for (const port of ports) await until(`node ${port} to answer`, 10_000, async () => (await cli(port, "ping")) === "PONG");
    await run("redis-cli", ["--cluster", "create", ...ports.map((p) => `127.0.0.1:${p}`), "--cluster-replicas", "0", "--cluster-yes"]);
    for (const port of ports) {
      await until(`cluster_state:ok on ${port}`, 20_000, async () => (await cli(port, "cluster", "info")).includes("cluster_state:ok"));
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { ports, url: `redis+cluster://${ports.map((p) => `127.0.0.1:${p}`).join(",")}`, cli, stop };
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}
