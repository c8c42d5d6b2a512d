/**
 * Builds the reference server's Fastify application: server options that close the easy holes (header
 * and body limits, prototype poisoning, no trust in forwarding headers, request ids, one access-log
 * line), then Rampart's protection (src/http/protect.ts) and the routes. The library installs the same
 * protection on an application the user builds.
 */
import type { IncomingMessage } from "node:http";
import Fastify, { LogController, type FastifyInstance } from "fastify";
import type { Logger } from "pino";
import type { ResolvedConfig } from "../config/resolve.ts";
import { createClientErrorHandler } from "./client-errors.ts";
import { rampartFrameworkErrors } from "./framework-errors.ts";
import { lazyChildLoggerFactory } from "./logger.ts";
import { type ProtectOptions, protectPlugin } from "./protect.ts";
import { serverTimeoutOptions } from "./server-limits.ts";
import { createRequestIdGenerator } from "./stages/transport.ts";

export { HTTP_METHODS, sendError } from "./protect.ts";

export interface AppOptions extends Omit<ProtectOptions, "isClosing" | "openApi"> {
  config: ResolvedConfig;
  logger: Logger;
  /** Serve /openapi.json and /docs (default true). */
  openApi?: boolean;
  /** Registers feature routes (identity, admin, notes…). */
  routes?: (app: FastifyInstance) => Promise<void> | void;
  /** Rewrites the request target before routing (the gateway's canonical paths). */
  rewriteUrl?: (raw: IncomingMessage) => string;
}

export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const { config, logger } = options;
  const tls = config.https.tls;
  // Slow clients (slowloris): header, whole-request and keep-alive bounds (server-limits.ts).
  const timeouts = serverTimeoutOptions(config.timeouts);
  const app = Fastify({
    loggerInstance: logger,
    ...(tls
      ? { https: { cert: tls.cert, key: tls.key, minVersion: "TLSv1.2" as const, maxHeaderSize: config.limits.headerBytes, ...timeouts.serverOptions } }
      : { http: { maxHeaderSize: config.limits.headerBytes, ...timeouts.serverOptions } }),
    requestTimeout: timeouts.requestTimeout,
    keepAliveTimeout: timeouts.keepAliveTimeout,
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
    clientErrorHandler: createClientErrorHandler(logger, config.https.hsts),
    // Errors raised before routing (FST_ERR_BAD_URL…): problem+json with the security headers.
    frameworkErrors: rampartFrameworkErrors,
    routerOptions: { ignoreTrailingSlash: false, caseSensitive: true, maxParamLength: config.limits.paramLength },
    ...(options.rewriteUrl ? { rewriteUrl: options.rewriteUrl } : {}),
  }) as unknown as FastifyInstance;

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

  const { logger: _logger, routes, openApi, rewriteUrl: _rewriteUrl, ...protect } = options;
  await app.register(protectPlugin, { ...protect, openApi: openApi !== false, isClosing: () => closing });
  if (routes) await app.register(async (scope) => routes(scope));
  return app;
}
