/** Runs the real `rampart` CLI in a child process against a given data dir, for end-to-end tests. */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));

export interface CliRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function spawnCli(dataDir: string, args: string[], options: { input?: string; env?: Record<string, string> } = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", "src/cli/entry.ts", ...args], {
      cwd: ROOT,
      // Unset what could point the CLI elsewhere (empty means unset to the config loader).
      env: { ...process.env, RAMPART_DATA_DIR: dataDir, RAMPART_CONFIG: "", DATABASE_URL: "", REDIS_URL: "", ...options.env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
    });
    // Only a hung CLI should hit this; a busy machine can make a single start take several seconds.
    const timer = setTimeout(() => child.kill(), 120_000);
    child.once("error", reject);
    child.once("close", (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
    child.stdin.on("error", () => undefined); // EPIPE when the CLI exits without reading stdin
    child.stdin.end(options.input ?? "");
  });
}
