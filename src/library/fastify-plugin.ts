/**
 * The `rampart` Fastify plugin: the reference server's protection installed on the application's own
 * instance. Options are checked first (options.ts); then the identity layer (users, tokens, sessions,
 * limits, audit on the configured storage) or, in verify-only mode, the remote-JWKS layer; then the
 * same `protectPlugin` the reference server runs, and the identity routes where asked.
 *
 * Register it before any route: routes registered earlier were never checked, and refuse to serve.
 */
import type { FastifyInstance, FastifyPluginAsync } from "fastify";
import fp from "fastify-plugin";
import type { Logger } from "pino";
import { protectPlugin } from "../http/protect.ts";
import { assertDeployable, openLayer, protectOptions, registerIdentityRoutes } from "./assemble.ts";
import { parseOptions, type RampartOptions } from "./options.ts";

async function rampartPlugin(app: FastifyInstance, options: RampartOptions): Promise<void> {
  const parsed = parseOptions(options);
  for (const { key, message } of parsed.notApplied) app.log.warn({ code: "RAMPART_WARN_OPTION_NOT_APPLIED", option: key }, `rampart: option ${key} is not applied by the plugin: ${message}`);
  assertDeployable(parsed.config, Boolean(app.initialConfig.https));
  const layer = await openLayer(parsed, app.log as unknown as Logger);
  app.addHook("onClose", async () => layer.close());
  try {
    await app.register(protectPlugin, protectOptions(parsed, layer));
    await registerIdentityRoutes(app, parsed, layer);
  } catch (error) {
    await layer.close();
    throw error;
  }
}

/**
 * Registers Rampart on a Fastify 5 application.
 *
 * @example
 * await app.register(rampart, { dataDir: "./data", roles: { reader: ["items:read"] } });
 * app.get("/api/items", { config: { rampart: { permissions: ["items:read"] } } }, handler);
 * @throws RampartOptionsError naming each bad option; RouteDeclarationError naming the route and key.
 */
export const rampart: FastifyPluginAsync<RampartOptions> = fp(rampartPlugin, { name: "rampart", fastify: "5.x" });
