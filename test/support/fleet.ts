/**
 * A fleet of real `rampart serve` processes for fault tests: a `redis-server` of the suite's own (a temp
 * dir and a free port, never the shared one on 6379) that a test may SIGKILL and start again on the same
 * port, several servers sharing it and one PostgreSQL, and an HTTP client that can speak from any loopback
 * address (127.x.y.z), so each test is its own client IP for the per-IP limits and the login throttle.
 * Locally a missing `redis-server` skips the suite with a reason; in CI (`CI` or
 * `RAMPART_REQUIRE_SERVICES`) it fails loudly, like the PostgreSQL and Redis Cluster helpers.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import http, { type IncomingHttpHeaders } from "node:http";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { createRepositories, openDatabase } from "../../src/store/index.ts";
import { freePort } from "./redis-cluster.ts";
import { type ServerProcess, startServer } from "./server-process.ts";

/** `false` when `redis-server` can be run; otherwise the skip reason. Throws in CI. */
export function redisServerSkip(): false | string {
  try {
    execFileSync("redis-server", ["--version"], { stdio: "ignore" });
    return false;
  } catch {
    const reason = "redis-server not found on PATH";
    if (process.env.CI || process.env.RAMPART_REQUIRE_SERVICES) throw new Error(`${reason}; CI requires it`);
    return `${reason}; install Redis to run the fleet suite`;
  }
}

/** Polls `check` every `intervalMs` until it is true; throws naming `what` after `timeoutMs`. */
export async function waitFor(what: string, timeoutMs: number, check: () => Promise<boolean>, intervalMs = 50): Promise<number> {
  const started = performance.now();
  while (performance.now() - started < timeoutMs) {
    if (await check().catch(() => false)) return Math.round(performance.now() - started);
    await sleep(intervalMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

function redisPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1", () => socket.write("PING\r\n"));
    socket.setTimeout(500, () => socket.destroy());
    socket.once("data", (data) => {
      socket.destroy();
      resolve(data.toString().startsWith("+PONG"));
    });
    socket.once("error", () => resolve(false));
    socket.once("close", () => resolve(false));
  });
}

export interface OwnRedis {
  readonly port: number;
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  /** Starts redis-server on the same port (after `kill`; a no-op while it runs); resolves once it answers PING. */
  start(): Promise<void>;
  /** SIGKILL: no shutdown, sockets reset, nothing saved. */
  kill(): Promise<void>;
  /** Kills the server and deletes its directory. */
  destroy(): Promise<void>;
}

async function killChild(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, "exit");
  child.kill("SIGKILL");
  await exited;
}

/** A standalone redis-server without persistence, in a temp dir, on a free port. */
export async function startOwnRedis(): Promise<OwnRedis> {
  const dir = mkdtempSync(join(tmpdir(), "rampart-fleet-redis-"));
  const port = await freePort();
  let child: ChildProcess | undefined;
  const redis: OwnRedis = {
    port,
    url: `redis://127.0.0.1:${port}`,
    async start() {
      if (child && child.exitCode === null && child.signalCode === null) return;
      // biome-ignore format: one flag per line reads like the command it is
      child = spawn("redis-server", [
        "--port", String(port),
        "--bind", "127.0.0.1",
        "--save", "",
        "--appendonly", "no",
        "--dir", dir,
        "--daemonize", "no",
      ], { stdio: "ignore" });
      const started = child;
      await waitFor(`redis-server on ${port}`, 10_000, async () => {
        if (started.exitCode !== null) throw new Error(`redis-server exited with ${started.exitCode}`);
        return redisPing(port);
      });
    },
    kill: () => killChild(child),
    async destroy() {
      await killChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await redis.start();
  } catch (error) {
    await redis.destroy();
    throw error;
  }
  return redis;
}

/**
 * Starts `count` servers with the same environment, each with a data dir of its own under `dataRoot`.
 * The first starts alone: it migrates the empty database and creates the signing key, so the others
 * load that key instead of racing to create their own.
 */
export async function startFleet(count: number, env: Record<string, string>, dataRoot: string): Promise<ServerProcess[]> {
  const start = (i: number) => {
    const dataDir = mkdtempSync(join(dataRoot, `instance-${i}-`));
    return startServer({ ...env, RAMPART_DATA_DIR: dataDir }, 60_000);
  };
  const first = await start(1);
  const rest = await Promise.allSettled(Array.from({ length: count - 1 }, (_, i) => start(i + 2)));
  const started = [first, ...rest.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []))];
  const failed = rest.find((r) => r.status === "rejected");
  if (failed) {
    await stopFleet(started);
    throw failed.reason;
  }
  return started;
}

export async function stopFleet(servers: readonly (ServerProcess | undefined)[]): Promise<void> {
  await Promise.all(servers.map((server) => server?.stop()));
}

/** Gives an existing user the admin role, straight in the database (as `rampart users create --role admin` would). */
export async function makeAdmin(databaseUrl: string, userId: string): Promise<void> {
  const store = await openDatabase({ databaseUrl, dataDir: tmpdir() });
  try {
    await createRepositories(store.db).users.setRoles(userId, ["admin"]);
  } finally {
    await store.close();
  }
}

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  json<T = Record<string, unknown>>(): T;
}

export interface CallOptions {
  method?: string;
  /** A bearer access token. */
  token?: string;
  body?: unknown;
  /** The loopback source address the request is sent from (the client IP the server sees). */
  from?: string;
  timeoutMs?: number;
}

export interface FleetClient {
  call(base: string, path: string, options?: CallOptions): Promise<Reply>;
  /** A loopback address no earlier request of this client was sent from: a fresh client IP. */
  freshAddress(): string;
  close(): void;
}

/** node:http over keep-alive connections (pooled per source address), so polling costs no handshakes. */
export function createFleetClient(): FleetClient {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  let next = 0;
  return {
    freshAddress() {
      next++;
      return `127.77.${Math.floor(next / 250)}.${(next % 250) + 1}`;
    },
    call(base, path, options = {}) {
      const url = new URL(path, base);
      const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
      const headers: Record<string, string> = {};
      if (payload !== undefined) headers["content-type"] = "application/json";
      if (options.token) headers.authorization = `Bearer ${options.token}`;
      return new Promise<Reply>((resolve, reject) => {
        const request = http.request(
          { agent, host: url.hostname, port: url.port, path: url.pathname + url.search, method: options.method ?? "GET", headers, localAddress: options.from },
          (response) => {
            let text = "";
            response.setEncoding("utf8");
            response.on("data", (chunk: string) => {
              text += chunk;
            });
            response.on("end", () =>
              resolve({ status: response.statusCode ?? 0, headers: response.headers, text, json: <T>() => JSON.parse(text) as T }),
            );
            response.on("error", reject);
          },
        );
        request.setTimeout(options.timeoutMs ?? 10_000, () => request.destroy(new Error(`${options.method ?? "GET"} ${url} timed out`)));
        request.on("error", reject);
        request.end(payload);
      });
    },
    close: () => agent.destroy(),
  };
}
