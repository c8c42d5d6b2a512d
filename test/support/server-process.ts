/**
 * Starts a server as a child process on a free port and waits for its "listening on <url>" line: the
 * real `rampart serve` / `rampart gateway` (`startServer`), or any program (`startListening`: the packed
 * examples, the installed CLI), for end-to-end tests.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  output: () => string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export function startServer(env: Record<string, string> = {}, timeoutMs = 20000, command: "serve" | "gateway" = "serve"): Promise<ServerProcess> {
  return startListening(process.execPath, ["--import", "tsx", "src/cli/entry.ts", command], {
    env: { ...process.env, HOST: "127.0.0.1", PORT: "0", NODE_ENV: "test", ...env },
    timeoutMs,
  });
}

export async function startListening(
  program: string,
  args: string[],
  options: { cwd?: string; env: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<ServerProcess> {
  const child = spawn(program, args, { cwd: options.cwd, env: options.env, stdio: ["ignore", "pipe", "pipe"] });
  let text = "";
  child.stdout?.on("data", (chunk) => {
    text += chunk;
  });
  child.stderr?.on("data", (chunk) => {
    text += chunk;
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${args.join(" ")} did not start:\n${text}`)), options.timeoutMs ?? 20000);
    const onData = () => {
      const match = /listening on (https?:\/\/[^\s]+)/.exec(text);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout?.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${args.join(" ")} exited with ${code}:\n${text}`));
    });
  });
  return {
    url,
    child,
    output: () => text,
    async stop(signal = "SIGTERM") {
      if (child.exitCode !== null) return child.exitCode;
      child.kill(signal);
      const [code] = await once(child, "exit");
      return code as number | null;
    },
  };
}
