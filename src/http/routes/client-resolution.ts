/**
 * `GET /admin/diagnostics/client-resolution`: how the last requests' client address and scheme were
 * resolved (socket peers, resolved clients, schemes, with counts) against the proxy configuration, and
 * what looks wrong, e.g. every request "coming from" one proxy that is not trusted. It lists client
 * addresses, so it needs `users:admin` (an admin) and is never cached.
 */
import { Type as T } from "@sinclair/typebox";
import type { FastifyInstance } from "fastify";
import type { ResolvedConfig } from "../../config/resolve.ts";
import { describeClientResolution, honouredHeaders, summariseClientResolution, type Tally } from "../../core/client-diagnosis.ts";
import { clientResolutionRecorderOf, clientResolutionSetup } from "../client-diagnostics.ts";

const Counts = (item: string) => T.Array(T.Object({ [item]: T.String(), count: T.Integer({ minimum: 1 }) }), { description: "Most frequent first, at most 10." });

export const ClientResolutionOut = T.Object({
  configuration: T.Object({
    trusted_proxies: T.Array(T.String(), { description: "trustedProxies as configured (env RAMPART_TRUSTED_PROXIES)." }),
    proxy_headers: T.Union([T.Literal("both"), T.Literal("x-forwarded"), T.Literal("forwarded")]),
    honoured_headers: T.Array(T.String(), { description: "Forwarding headers read from a trusted proxy; empty without trusted proxies." }),
    https_enforced: T.Boolean(),
    https_redirect: T.Boolean(),
    native_tls: T.Boolean(),
    client_ip: T.String({ description: "Where the client address comes from, in words." }),
    scheme: T.String({ description: "Where the scheme comes from, in words." }),
    https: T.String({ description: "What HTTPS enforcement does to plain HTTP." }),
  }),
  sample: T.Object({
    size: T.Integer({ minimum: 0, description: "Requests in the sample (the most recent ones)." }),
    capacity: T.Integer({ minimum: 1 }),
    oldest: T.Union([T.String({ format: "date-time" }), T.Null()]),
    newest: T.Union([T.String({ format: "date-time" }), T.Null()]),
    with_proxy_headers: T.Integer({ minimum: 0 }),
    from_trusted_proxies: T.Integer({ minimum: 0 }),
    proxy_headers_ignored: T.Integer({ minimum: 0, description: "Requests whose forwarding headers came from an untrusted peer and were not read." }),
  }),
  peers: Counts("address"),
  clients: Counts("address"),
  schemes: Counts("scheme"),
  warnings: T.Array(T.Object({ code: T.String(), message: T.String() })),
});

export function clientResolutionRoutes(config: ResolvedConfig) {
  const recorder = clientResolutionRecorderOf(config);
  const setup = clientResolutionSetup(config);
  const described = describeClientResolution(setup);
  const configuration = {
    trusted_proxies: [...setup.trustedProxies],
    proxy_headers: setup.proxyHeaders,
    honoured_headers: honouredHeaders(setup),
    https_enforced: setup.httpsEnforced,
    https_redirect: setup.httpsRedirect,
    native_tls: setup.nativeTls,
    client_ip: described.clientIp,
    scheme: described.scheme,
    https: described.https,
  };
  const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());
  const as = <K extends string>(key: K, tallies: Tally[]) => tallies.map((t) => ({ [key]: t.value, count: t.count }) as Record<K, string> & { count: number });

  return async function routes(app: FastifyInstance) {
    app.get(
      "/admin/diagnostics/client-resolution",
      {
        config: { rampart: { permissions: ["users:admin"] } },
        schema: {
          tags: ["admin"],
          description: "How the last requests' client IP and scheme were resolved, with warnings (e.g. a proxy that is not trusted).",
          response: { 200: ClientResolutionOut },
        },
      },
      async (_request, reply) => {
        // Client addresses are personal data: never in a shared cache.
        reply.header("cache-control", "no-store");
        const summary = summariseClientResolution(recorder.samples(), setup);
        return {
          configuration,
          sample: {
            size: summary.size,
            capacity: recorder.capacity,
            oldest: iso(summary.oldest),
            newest: iso(summary.newest),
            with_proxy_headers: summary.withProxyHeaders,
            from_trusted_proxies: summary.fromTrustedProxies,
            proxy_headers_ignored: summary.proxyHeadersIgnored,
          },
          peers: as("address", summary.peers),
          clients: as("address", summary.clients),
          schemes: as("scheme", summary.schemes),
          warnings: summary.warnings,
        };
      },
    );
  };
}
