/**
 * Prometheus metrics at `GET /metrics` (permission `metrics:read`): the app's registry (src/http/telemetry.ts)
 * with process metrics, request counts by route and status, refusals by stage and code, 429s by policy,
 * login failures, refresh reuse, revocations, the rate-limit store and the database pool. The hooks count
 * every request of the scope this plugin is registered in (`fastify-plugin`: the whole app's routes).
 */
import type { FastifyInstance } from "fastify";
import { type AppTelemetry, createAppTelemetry } from "../telemetry.ts";

export interface MetricsRoutesOptions {
  /** The app's telemetry (`IdentityLayer.telemetry`); default: a registry of its own. */
  telemetry?: AppTelemetry;
  /** Where the route is served (the library may mount it under a prefix). Default `/metrics`. */
  path?: string;
}

export function metricsRoutes(options: MetricsRoutesOptions = {}) {
  const { telemetry = createAppTelemetry(), path = "/metrics" } = options;
  return async function routes(app: FastifyInstance) {
    telemetry.collectProcessMetrics();
    app.addHook("onResponse", (request, reply, done) => {
      telemetry.observeResponse(request, reply);
      done();
    });
    // Errors only (no cost on success), before the error handler turns them into problem+json.
    app.addHook("onError", (request, _reply, error, done) => {
      telemetry.observeError(request, error);
      done();
    });
    app.get(
      path,
      { config: { rampart: { permissions: ["metrics:read"], produces: ["text/plain", "application/openmetrics-text"] } }, schema: { tags: ["ops"] } },
      async (_request, reply) => {
        reply.type(telemetry.registry.contentType);
        return telemetry.registry.metrics();
      },
    );
  };
}
