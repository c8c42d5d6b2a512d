/**
 * Composes the reference server from its layers: configuration in, a ready Fastify app and a
 * `close()` that releases every store out. The CLI's `serve` and the end-to-end tests both use it.
 */
import type { FastifyInstance } from "fastify";
import fp from "fastify-plugin";
import type { Logger } from "pino";
import type { ResolvedConfig } from "../config/resolve.ts";
import { buildApp } from "../http/app.ts";
import { consoleRoutes } from "../console/routes.ts";
import { adminRoutes } from "../http/routes/admin.ts";
import { authRoutes } from "../http/routes/auth.ts";
import { clientsRoutes } from "../http/routes/clients.ts";
import { metricsRoutes } from "../http/routes/metrics.ts";
import { notesRoutes } from "../http/routes/notes.ts";
import { oauthRoutes } from "../http/routes/oauth.ts";
import { openIdentityLayer } from "./layers.ts";

export interface RampartServer {
  app: FastifyInstance;
  /** Lines for the start-up banner (mode, storage, next steps). */
  banner: string[];
  close(): Promise<void>;
}

export async function composeServer(config: ResolvedConfig, logger: Logger): Promise<RampartServer> {
  const layer = await openIdentityLayer(config, logger);
  const { identity } = layer;
  const { identity: _identity, telemetry, close: closeLayer, ...protection } = layer;
  const app = await buildApp({
    config,
    logger,
    ...protection,
    routes: async (scope) => {
      await scope.register(authRoutes(identity));
      await scope.register(adminRoutes(identity));
      await scope.register(clientsRoutes(identity));
      // Its own scope: form bodies and OAuth error JSON stay on the /oauth endpoints.
      await scope.register(oauthRoutes(identity));
      await scope.register(notesRoutes(identity.repos.notes));
      await scope.register(fp(metricsRoutes({ telemetry })));
      if (config.console.enabled) await scope.register(consoleRoutes());
    },
  });
  const admins = await identity.repos.users.countAdmins();
  return {
    app,
    banner: [
      `mode: ${config.env}${config.https.enforce ? " (HTTPS enforced)" : ""}`,
      `storage: ${identity.database.engine === "postgres" ? "PostgreSQL" : `embedded SQLite in ${config.dataDir}`}`,
      `shared state: ${config.redisUrl ? "Redis" : "in-process"}`,
      `registration: ${config.registration}`,
      `admin console: ${config.console.enabled ? "/console" : "off"}`,
      ...(admins === 0 ? ["no admin yet: create one with `npx rampart users create --email you@example.com --role admin`"] : []),
    ],
    async close() {
      await app.close();
      await closeLayer();
    },
  };
}
