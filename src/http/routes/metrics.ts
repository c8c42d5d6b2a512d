/**
 * Prometheus metrics at `GET /metrics` (permission `metrics:read`): process metrics plus request counts
 * by route and status, and the security events worth alerting on (rate-limit refusals, authentication
 * failures). Each app gets its own registry, so tests and several apps in one process never collide.
 */
import type { FastifyInstance } from "fastify";
import { Counter, collectDefaultMetrics, Registry } from "prom-client";

/** `path`: where the route is served (the library may mount it under a prefix); the hook counts every request. */
export function metricsRoutes(path = "/metrics") {
  return async function routes(app: FastifyInstance) {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry, prefix: "rampart_" });
    const requests = new Counter({
      name: "rampart_http_requests_total",
      help: "HTTP requests by method, route pattern and status code.",
      labelNames: ["method", "route", "status"],
      registers: [registry],
    });
    const refusals = new Counter({
      name: "rampart_security_refusals_total",
      help: "Requests refused by a security stage, by status (401 authentication, 403 authorization/CSRF/HTTPS, 429 rate limits).",
      labelNames: ["status"],
      registers: [registry],
    });
    app.addHook("onResponse", (request, reply, done) => {
      const status = reply.statusCode;
      requests.inc({ method: request.method, route: request.routeOptions.url ?? "unmatched", status });
      if (status === 401 || status === 403 || status === 429) refusals.inc({ status });
      done();
    });
    app.get(
      path,
      { config: { rampart: { permissions: ["metrics:read"], produces: ["text/plain", "application/openmetrics-text"] } }, schema: { tags: ["ops"] } },
      async (_request, reply) => {
        reply.type(registry.contentType);
        return registry.metrics();
      },
    );
  };
}
