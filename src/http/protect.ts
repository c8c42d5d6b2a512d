/**
 * Everything Rampart installs on a Fastify instance, as one encapsulation-free plugin: the pipeline in
 * order, strict validation and JSON parsing, problem+json for every error and every 404/405, route
 * declarations checked at registration, and the operations routes. The reference server (`buildApp`)
 * and the library (`rampart`, src/index.ts) both install exactly this; only the Fastify constructor
 * options (which a plugin cannot set) and the features they mount differ.
 */
import cookie from "@fastify/cookie";
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from "fastify";
import fp from "fastify-plugin";
import type { ResolvedConfig } from "../config/resolve.ts";
import type { RoleTable } from "../core/authz/index.ts";
import { RampartError } from "../core/errors.ts";
import { PROBLEM_CONTENT_TYPE, toProblem } from "../core/problems.ts";
import { logRequestError, parseJsonBody, toRampartError } from "./errors.ts";
import { createFrameworkErrorResponder, hasFrameworkErrorsOption, installFrameworkErrors } from "./framework-errors.ts";
import { capConnectionsPerAddress } from "./server-limits.ts";
import { DOCS_PREFIX, registerOpenApi } from "./openapi.ts";
import { installPipeline, type Stage, type StageName } from "./pipeline.ts";
import { createRouteRegistry, type RouteEntry } from "./route-security.ts";
import { opsRoutes, type ReadinessCheck } from "./routes/ops.ts";
import { createAuthenticateStage, type Authenticator } from "./stages/authenticate.ts";
import { createAuthorizeStage } from "./stages/authorize.ts";
import { corsOptions, corsPlugin } from "./stages/cors.ts";
import { createHeadersStage } from "./stages/headers.ts";
import { createTransportStage } from "./stages/transport.ts";
import { createValidatorCompiler } from "./validation.ts";
import "./request-state.ts";

export interface ProtectOptions {
  config: ResolvedConfig;
  authenticator?: Authenticator;
  /** Extra pipeline stages provided by other layers (rate limits, CSRF, authorization). */
  stages?: Partial<Record<Exclude<StageName, "cors" | "transport" | "headers" | "authenticate">, Stage>>;
  readiness?: ReadinessCheck[];
  /** Serve /openapi.json and /docs. */
  openApi?: boolean;
  /** Serve /healthz and /readyz, under this prefix ("" = at the root); `false` = not at all. */
  ops?: string | false;
  /** Roles a route permission may be granted by (start-up check); default the built-ins. */
  roles?: RoleTable;
  /** Permissions routes may require although no role grants them yet (the app's catalogue). */
  knownPermissions?: readonly string[];
  /** Compiles per-route state (rate limits) at registration; throws to stop start-up. */
  onRoute?: (route: RouteOptions) => void;
  /** Tells the transport stage that the server is draining (new requests get 503). */
  isClosing?: () => boolean;
}

declare module "fastify" {
  interface FastifyInstance {
    /** Every registered route with its security declaration (for `rampart routes` and docs). */
    rampartRoutes(): RouteEntry[];
  }
}

export const HTTP_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] as const;

async function protect(app: FastifyInstance, options: ProtectOptions): Promise<void> {
  const { config } = options;
  app.decorateRequest("rampart", null as never);
  app.setValidatorCompiler(createValidatorCompiler());
  // Only JSON bodies unless a route says otherwise: text/plain is how CSRF slips past preflight.
  for (const type of ["text/plain", "application/json"]) if (app.hasContentTypeParser(type)) app.removeContentTypeParser(type);
  app.addContentTypeParser("application/json", { parseAs: "string", bodyLimit: config.limits.bodyBytes }, parseJsonBody);

  app.setErrorHandler((error, request, reply) => sendError(toRampartError(error), request, reply));
  // Errors before routing (a path that does not decode…) reach no hook: only the `frameworkErrors`
  // constructor option sees them (framework-errors.ts). buildApp passes it; an application must.
  installFrameworkErrors(app, createFrameworkErrorResponder(config, options.isClosing));
  if (hasFrameworkErrorsOption(app) === false) {
    app.log.warn(
      { code: "RAMPART_WARN_FRAMEWORK_ERRORS" },
      "Fastify was built without frameworkErrors: a request whose path does not decode (/%ff) gets Fastify's own JSON error without X-Request-Id or security headers. Pass Fastify({ frameworkErrors: rampartFrameworkErrors }) (import { rampartFrameworkErrors } from \"rampart\").",
    );
  }
  app.setNotFoundHandler((request, reply) => sendNotFound(app, request, reply));
  // @fastify/cors answers preflights on its own OPTIONS * route; a preflight carries no credentials.
  app.addHook("onRoute", (route) => {
    if (route.url === "*" && route.method === "OPTIONS") route.config = { ...route.config, rampart: { auth: "public" } };
  });
  // The docs are public by nature; their routes come from @fastify/swagger-ui, so mark them here,
  // before the registry reads each route's declaration.
  const docs = `${options.ops || ""}${DOCS_PREFIX}`;
  app.addHook("onRoute", (route) => {
    if (options.openApi && (route.url === docs || route.url.startsWith(`${docs}/`))) {
      route.config = { ...route.config, rampart: { auth: "public", produces: ["*/*"] } };
    }
  });
  // The per-address connection cap needs only the server's `connection` event, so it applies to the
  // library's instances too. The slow-client timeouts are constructor options (server-limits.ts):
  // Fastify's default requestTimeout 0 means "none", so say so when the application kept it.
  capConnectionsPerAddress(app.server, config.limits.connectionsPerAddress, config.proxies, (address) =>
    app.log.warn({ code: "RAMPART_CONNECTION_CAP", address, max: config.limits.connectionsPerAddress }, "connection refused: too many open connections from one address"),
  );
  if (app.server.requestTimeout === 0) {
    app.log.warn(
      { code: "RAMPART_WARN_SERVER_TIMEOUTS" },
      "Fastify was built with requestTimeout 0: a client that trickles its request keeps its connection for ever. Pass Fastify({ ...rampartServerOptions() }) (import { rampartServerOptions } from \"rampart\").",
    );
  }

  const registry = createRouteRegistry({ knownPermissions: options.knownPermissions, roles: options.roles });
  app.addHook("onRoute", registry.onRoute);
  app.decorate("rampartRoutes", registry.table);
  if (options.onRoute) app.addHook("onRoute", options.onRoute);

  // Cookie parsing on demand only (readCookies): no per-request hook. An app may have registered it.
  if (!app.hasDecorator("parseCookie")) await app.register(cookie, { hook: false });

  await installPipeline(
    app,
    {
      transport: createTransportStage(config, options.isClosing),
      headers: createHeadersStage(config),
      authenticate: createAuthenticateStage(options.authenticator),
      // Declared permissions are enforced even when the caller passes no authorize stage of its own.
      authorize: createAuthorizeStage(),
      ...options.stages,
    },
    async (instance) => {
      await instance.register(corsPlugin, corsOptions(config));
    },
  );

  if (options.openApi) await registerOpenApi(app, options.ops || "");
  if (options.ops !== false) await app.register(opsRoutes, { readiness: options.readiness ?? [], prefix: options.ops ?? "" });
}

/** The plugin: `skip-override`, so the pipeline and handlers apply to the whole application. */
export const protectPlugin = fp(protect, { name: "rampart-protect", fastify: "5.x" });

function sendNotFound(app: FastifyInstance, request: FastifyRequest, reply: FastifyReply) {
  const allowed = allowedMethods(app, request);
  if (allowed.length > 0) {
    return sendError(
      new RampartError("RAMPART_ERR_METHOD_NOT_ALLOWED", {
        detail: `${request.method} is not allowed here; use ${allowed.join(", ")}.`,
        headers: { allow: allowed.join(", ") },
      }),
      request,
      reply,
    );
  }
  return sendError(new RampartError("RAMPART_ERR_NOT_FOUND"), request, reply);
}

function allowedMethods(app: FastifyInstance, request: FastifyRequest): string[] {
  const path = request.url.split("?")[0] ?? "/";
  return HTTP_METHODS.filter(
    (method) => method !== request.method && method !== "OPTIONS" && app.findRoute({ method, url: path }) !== null,
  );
}

export function sendError(error: RampartError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  logRequestError(request.log ?? reply.log, error);
  if (error.headers) reply.headers(error.headers);
  // Our own serializer: a route's response schema describes its successes, never a problem document.
  return reply.code(error.status).type(PROBLEM_CONTENT_TYPE).serializer(JSON.stringify).send(toProblem(error, String(request.id)));
}
