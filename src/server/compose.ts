/**
 * Composes the reference server from its layers: configuration in, a ready Fastify app and a
 * `close()` that releases every store out. The CLI's `serve` and the end-to-end tests both use it.
 */
import type { FastifyInstance } from "fastify";
import type { Logger } from "pino";
import type { ResolvedConfig } from "../config/resolve.ts";
import { buildApp } from "../http/app.ts";

export interface RampartServer {
  app: FastifyInstance;
  /** Lines for the start-up banner (mode, storage, next steps). */
  banner: string[];
  close(): Promise<void>;
}

export async function composeServer(config: ResolvedConfig, logger: Logger): Promise<RampartServer> {
  const app = await buildApp({ config, logger });
  return {
    app,
    banner: [
      `mode: ${config.env}${config.https.enforce ? " (HTTPS enforced)" : ""}`,
      `storage: ${config.databaseUrl ? "PostgreSQL" : `embedded SQLite in ${config.dataDir}`}`,
      `shared state: ${config.redisUrl ? "Redis" : "in-process"}`,
    ],
    close: () => app.close(),
  };
}
