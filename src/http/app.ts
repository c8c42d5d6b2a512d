/**
 * Builds the Fastify application: server options that close the easy holes (header and body limits,
 * prototype poisoning, strict validation, no trust in forwarding headers), the pipeline in order,
 * problem+json for every error, and the routes.
 */
import cookie from "@fastify/cookie";
import Fastify, {
  LogController, type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import type { Logger } from "pino";
import type { ResolvedConfig } from "../config/resolve.ts";
import { RampartError } from "../core/errors.ts";
import { PROBLEM_CONTENT_TYPE, toProblem } from "../core/problems.ts";
import { parseJsonBody, toRampartError } from "./errors.ts";
import { lazyChildLoggerFactory } from "./logger.ts";
import { installPipeline, type Stage, type StageName } from "./pipeline.ts";
import { createAuthenticateStage, type Authenticator } from "./stages/authenticate.ts";
import { createAuthorizeStage } from "./stages/authorize.ts";
import { corsOptions, corsPlugin } from "./stages/cors.ts";
import { createHeadersStage } from "./stages/headers.ts";
import { createRequestIdGenerator, createTransportStage } from "./stages/transport.ts";
import { createClientErrorHandler } from "./client-errors.ts";
import { opsRoutes, type ReadinessCheck } from "./routes/ops.ts";
import { createRouteRegistry, type RouteEntry } from "./route-security.ts";
import { DOCS_PREFIX, registerOpenApi } from "./openapi.ts";
import "./request-state.ts";

export interface AppOptions {
  config: ResolvedConfig;
  logger: Logger;
  authenticator?: Authenticator;
  /** Extra pipeline stages provided by other layers (rate limits, CSRF, authorization). */
  stages?: Partial<Record<Exclude<StageName, "cors" | "transport" | "headers" | "authenticate">, Stage>>;
  readiness?: ReadinessCheck[];
  /** Serve /openapi.json and /docs (default true). */
  openApi?: boolean;
  /** Compiles per-route state (rate limits) at registration; throws to stop start-up. */
  onRoute?: (route: import("fastify").RouteOptions) => void;
  /** Registers feature routes (identity, admin, notes…). */
  routes?: (app: FastifyInstance) => Promise<void> | void;
}

declare module "fastify" {
  interface FastifyInstance {
    /** Every registered route with its security declaration (for `rampart routes` and docs). */
    rampartRoutes(): RouteEntry[];
  }
}

export const HTTP_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] as const;

export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const { config, logger } = options;
  const tls = config.https.tls;
  const app = Fastify({
    loggerInstance: logger,
    ...(tls
      ? { https: { cert: tls.cert, key: tls.key, minVersion: "TLSv1.2" as const, maxHeaderSize: config.limits.headerBytes } }
      : { http: { maxHeaderSize: config.limits.headerBytes } }),
    genReqId: createRequestIdGenerator(config.proxies),
    childLoggerFactory: lazyChildLoggerFactory as never,
    // One access-log line per request, written when the response is done (see onResponse below),
    // instead of Fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.limits.bodyBytes,
    onProtoPoisoning: "error",
    onConstructorPoisoning: "error",
    return503OnClosing: false,
    trustProxy: false,
    exposeHeadRoutes: true,
    clientErrorHandler: createClientErrorHandler(logger),
    routerOptions: { ignoreTrailingSlash: false, caseSensitive: true, maxParamLength: config.limits.paramLength },
  }) as unknown as FastifyInstance;

  app.decorateRequest("rampart", null as never);
  app.setValidatorCompiler((await import("./validation.ts")).createValidatorCompiler());
  // Only JSON bodies unless a route says otherwise: text/plain is how CSRF slips past preflight.
  app.removeContentTypeParser(["text/plain", "application/json"]);
  app.addContentTypeParser("application/json", { parseAs: "string" }, parseJsonBody);

  app.setErrorHandler((error, request, reply) => sendError(toRampartError(error), request, reply));
  app.setNotFoundHandler((request, reply) => {
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
  });
  // @fastify/cors answers preflights on its own OPTIONS * route; a preflight carries no credentials.
  app.addHook("onRoute", (route) => {
    if (route.url === "*" && route.method === "OPTIONS") route.config = { ...route.config, rampart: { auth: "public" } };
  });
  // The docs are public by nature; their routes come from @fastify/swagger-ui, so mark them here,
  // before the registry reads each route's declaration.
  app.addHook("onRoute", (route) => {
    if (route.url === DOCS_PREFIX || route.url.startsWith(`${DOCS_PREFIX}/`)) {
      route.config = { ...route.config, rampart: { auth: "public", produces: ["*/*"] } };
    }
  });
  const registry = createRouteRegistry();
  app.addHook("onRoute", registry.onRoute);
  app.decorate("rampartRoutes", registry.table);
  if (options.onRoute) app.addHook("onRoute", options.onRoute);

  // Cookie parsing on demand only (readCookies): no per-request hook.
  await app.register(cookie, { hook: false });

  app.addHook("onResponse", (request, reply, done) => {
    if ((request.log as unknown as Logger).isLevelEnabled("info")) {
      request.log.info({ req: request, res: reply, responseTime: reply.elapsedTime }, "request completed");
    }
    done();
  });

  let closing = false;
  app.addHook("preClose", (done) => {
    closing = true;
    done();
  });
  // While draining, responses close their connection: an idle keep-alive socket would otherwise hold
  // the shutdown open until its timeout.
  app.addHook("onSend", (_request, reply, payload, done) => {
    if (closing) reply.header("connection", "close");
    done(null, payload);
  });

  await installPipeline(
    app,
    {
      transport: createTransportStage(config, () => closing),
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

  if (options.openApi !== false) await registerOpenApi(app);
  await app.register(opsRoutes, { readiness: options.readiness ?? [] });
  if (options.routes) await app.register(async (scope) => options.routes?.(scope));
  return app;
}

function allowedMethods(app: FastifyInstance, request: FastifyRequest): string[] {
  const path = request.url.split("?")[0] ?? "/";
  return HTTP_METHODS.filter(
    (method) => method !== request.method && method !== "OPTIONS" && app.findRoute({ method, url: path }) !== null,
  );
}

export function sendError(error: RampartError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const log = request.log ?? reply.log;
  if (error.status >= 500) log.error({ err: error.cause ?? error, code: error.code }, "request failed");
  else log.info({ code: error.code, reason: error.reason }, error.detail);
  if (error.headers) reply.headers(error.headers);
  // Our own serializer: a route's response schema describes its successes, never a problem document.
  return reply.code(error.status).type(PROBLEM_CONTENT_TYPE).serializer(JSON.stringify).send(toProblem(error, String(request.id)));
}
