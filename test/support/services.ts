/**
 * Where the backing services for integration suites live. Suites that need PostgreSQL or Redis call
 * these: locally an unreachable service skips the suite with a reason; in CI (`CI` or
 * `RAMPART_REQUIRE_SERVICES` set) it fails loudly, so those suites can never silently not run.
 */
import net from "node:net";

const required = () => Boolean(process.env.CI || process.env.RAMPART_REQUIRE_SERVICES);

export const postgresUrl = () => process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
export const redisUrl = () => process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

function reachable(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect({ host: hostname, port: Number(port) });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

/** `false` when the suite may run; otherwise the skip reason. Throws in CI when the service is down. */
export async function serviceSkip(name: "postgres" | "redis"): Promise<false | string> {
  const url = name === "postgres" ? postgresUrl() : redisUrl();
  if (await reachable(url)) return false;
  const message = `${name} is not reachable at ${url}`;
  if (required()) throw new Error(`${message}; CI requires it`);
  return `${message}; set TEST_${name === "postgres" ? "DATABASE" : "REDIS"}_URL or start it`;
}
