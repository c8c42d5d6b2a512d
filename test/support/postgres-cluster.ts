/**
 * A PostgreSQL server of the suite's own (never the shared one on 5432), for tests that stop and start
 * it: initdb into a temp directory, trust auth on 127.0.0.1, a free port, the Unix socket in the temp
 * directory, database `test`. As root the binaries run as the `postgres` user (PostgreSQL refuses root).
 * Locally missing binaries skip the suite with a reason; in CI (`CI` or `RAMPART_REQUIRE_SERVICES`)
 * they fail loudly.
 */
import { execFileSync } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const ROOT = "/usr/lib/postgresql";

function binDir(): string | undefined {
  if (!existsSync(ROOT)) return undefined;
  const versions = readdirSync(ROOT)
    .filter((v) => existsSync(join(ROOT, v, "bin", "pg_ctl")))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? undefined : join(ROOT, versions[0], "bin");
}

const isRoot = () => process.getuid?.() === 0;

/** `false` when a private cluster can be run; otherwise the skip reason. Throws in CI. */
export function postgresClusterSkip(): false | string {
  let reason: string | undefined;
  if (binDir() === undefined) reason = `no PostgreSQL binaries under ${ROOT}/<version>/bin`;
  else if (isRoot()) {
    try {
      execFileSync("id", ["-u", "postgres"], { stdio: "ignore" });
    } catch {
      reason = "running as root and there is no postgres user to run PostgreSQL as";
    }
  }
  if (reason === undefined) return false;
  if (process.env.CI || process.env.RAMPART_REQUIRE_SERVICES) throw new Error(`${reason}; CI requires it`);
  return reason;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export interface PostgresCluster {
  /** `postgres://postgres@127.0.0.1:<port>/test` */
  readonly url: string;
  readonly port: number;
  start(): Promise<void>;
  /** Fast shutdown: sessions are terminated (57P01), in-flight transactions roll back. */
  stop(): Promise<void>;
  restart(): Promise<void>;
  /** Stops the server and deletes its directory. */
  destroy(): Promise<void>;
}

/** Creates, starts and returns a cluster with database `test`. */
export async function startPostgresCluster(): Promise<PostgresCluster> {
  const bin = binDir();
  if (bin === undefined) throw new Error(`no PostgreSQL binaries under ${ROOT}`);
  const dir = mkdtempSync(join(tmpdir(), "rampart-pg-"));
  const data = join(dir, "data");
  const log = join(dir, "server.log");
  const port = await freePort();
  if (isRoot()) {
    const uid = Number(execFileSync("id", ["-u", "postgres"]).toString().trim());
    const gid = Number(execFileSync("id", ["-g", "postgres"]).toString().trim());
    chownSync(dir, uid, gid);
  }
  const run = (program: string, args: string[]) => {
    const [file, argv] = isRoot() ? ["runuser", ["-u", "postgres", "--", join(bin, program), ...args]] : [join(bin, program), args];
    try {
      return execFileSync(file, argv, { cwd: dir, stdio: ["ignore", "pipe", "pipe"], timeout: 60_000 }).toString();
    } catch (error) {
      const e = error as { stderr?: Buffer; stdout?: Buffer };
      throw new Error(`${program} failed: ${e.stderr?.toString() ?? ""}${e.stdout?.toString() ?? ""}`, { cause: error });
    }
  };
  run("initdb", ["-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-instructions"]);
  writeFileSync(
    join(data, "postgresql.auto.conf"),
    [
      `port = ${port}`,
      "listen_addresses = '127.0.0.1'",
      `unix_socket_directories = '${dir}'`,
      "fsync = off",
      "synchronous_commit = off",
      "full_page_writes = off",
      "max_connections = 50",
      "",
    ].join("\n"),
  );
  if (isRoot()) execFileSync("chown", ["postgres:", join(data, "postgresql.auto.conf")]);

  const cluster: PostgresCluster = {
    url: `postgres://postgres@127.0.0.1:${port}/test`,
    port,
    async start() {
      run("pg_ctl", ["-D", data, "-l", log, "-w", "-t", "30", "start"]);
    },
    async stop() {
      run("pg_ctl", ["-D", data, "-m", "fast", "-w", "-t", "30", "stop"]);
    },
    async restart() {
      await cluster.stop();
      await cluster.start();
    },
    async destroy() {
      try {
        run("pg_ctl", ["-D", data, "-m", "immediate", "-w", "-t", "30", "stop"]);
      } catch {
        // already stopped
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await cluster.start();
  run("psql", ["-h", dir, "-p", String(port), "-U", "postgres", "-d", "postgres", "-qAtc", "create database test"]);
  return cluster;
}
