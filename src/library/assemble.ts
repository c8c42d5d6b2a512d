/**
 * The library's one recipe, shared by its adapters (the Fastify plugin, rampart/express): refuse an
 * unsafe production set-up, open the protection layer the options ask for, and mount Rampart's own
 * routes on a Fastify instance the same way everywhere. An adapter adds only its framework's glue.
 */
import type { FastifyInstance } from "fastify";
import fp from "fastify-plugin";
import type { Logger } from "pino";
import { formatFindings, runDeployChecks } from "../config/deploy-checks.ts";
import type { ResolvedConfig } from "../config/resolve.ts";
import { BUILTIN_ROLES } from "../core/authz/index.ts";
import type { ProtectOptions } from "../http/protect.ts";
import { adminRoutes } from "../http/routes/admin.ts";
import { authRoutes } from "../http/routes/auth.ts";
import { metricsRoutes } from "../http/routes/metrics.ts";
import { type IdentityLayer, openIdentityLayer, type ProtectionLayer } from "../server/layers.ts";
import { openVerifyLayer } from "../verify/layer.ts";
import type { ParsedOptions } from "./options.ts";

/** In production mode, the deploy checks' errors stop start-up. `nativeTls`: the application serves HTTPS itself. */
export function assertDeployable(config: ResolvedConfig, nativeTls: boolean): void {
  if (!config.production) return;
  const errors = runDeployChecks(config, { nativeTls }).filter((f) => f.severity === "error");
  if (errors.length > 0) throw new Error(`rampart: refusing to start in production mode:\n${formatFindings(errors)}`);
}

/** The identity layer (users, tokens, sessions, limits, audit) or, in verify-only mode, the remote-JWKS one. */
export function openLayer(parsed: ParsedOptions, logger: Logger): Promise<ProtectionLayer | IdentityLayer> {
  return parsed.verify
    ? openVerifyLayer(parsed.config, logger, parsed.verify, parsed.roles)
    : openIdentityLayer(parsed.config, logger, parsed.roles);
}

/** `protectPlugin`'s options for these options and this layer. */
export function protectOptions(parsed: ParsedOptions, layer: ProtectionLayer): Omit<ProtectOptions, "isClosing"> {
  const { close: _close, routeLimits: _routeLimits, telemetry: _telemetry, ...protection } = layer;
  const mount = parsed.identity;
  return {
    config: parsed.config,
    ...protection,
    roles: { ...BUILTIN_ROLES, ...parsed.roles },
    openApi: false,
    ops: mount === false ? false : mount.prefix,
  };
}

/** The identity, admin and metrics routes where `identity` mounts them; none with `identity: false` or in verify-only mode. */
export async function registerIdentityRoutes(app: FastifyInstance, parsed: ParsedOptions, layer: ProtectionLayer): Promise<void> {
  const mount = parsed.identity;
  const identity = "identity" in layer ? (layer as IdentityLayer).identity : undefined;
  if (mount === false || !identity) return;
  await app.register(
    async (scope) => {
      await scope.register(authRoutes(identity));
      await scope.register(adminRoutes(identity));
    },
    { prefix: mount.prefix },
  );
  await app.register(fp(metricsRoutes({ telemetry: layer.telemetry, path: `${mount.prefix}/metrics` })));
}
