/** Builds an app for `inject()` tests with a config from env-style values and captured log lines. */
import { Writable } from "node:stream";
import type { FastifyInstance } from "fastify";
import { loadConfig } from "../../src/config/load.ts";
import type { ResolvedConfig } from "../../src/config/resolve.ts";
import { buildApp, type AppOptions } from "../../src/http/app.ts";
import { createLogger } from "../../src/http/logger.ts";

export interface TestApp {
  app: FastifyInstance;
  config: ResolvedConfig;
  logs: string[];
}

export async function makeApp(
  options: {
    env?: Record<string, string>;
    overrides?: Record<string, unknown>;
    routes?: AppOptions["routes"];
    extra?: Partial<AppOptions>;
  } = {},
): Promise<TestApp> {
  const config = loadConfig({ env: options.env ?? {}, overrides: { logging: { level: "info" }, ...options.overrides } });
  const logs: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, callback) {
      logs.push(String(chunk));
      callback();
    },
  });
  const app = await buildApp({ config, logger: createLogger(config, stream), routes: options.routes, ...options.extra });
  await app.ready();
  return { app, config, logs };
}

/** A production config that passes the deploy checks via a trusted proxy at 10.0.0.1. */
export const PRODUCTION_BEHIND_PROXY = { RAMPART_ENV: "production", RAMPART_TRUSTED_PROXIES: "10.0.0.1" };
