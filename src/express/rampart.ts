/**
 * `createRampart()`: Rampart for an Express 5 (or 4) application, assembled from the same parts as the
 * Fastify plugin (src/library): the same options (`parseOptions`), the same layer (`openLayer`), the
 * same stages in the same order (src/http/pipeline.ts), the same error catalogue. What is Express's
 * own here is only where each part runs:
 *
 *   rampart.pipeline   stages 1–4 (transport, headers, cors, limit-client) for every request; the
 *                      identity, admin and operations routes are answered from here (identity.ts)
 *   rampart.route(d)   stages 5–8 for one declaration (guard.ts)
 *   (every route)      the default guard where a route declares nothing (deny-by-default.ts), and a
 *                      check on what goes out (unguarded.ts)
 *   rampart.json()     the JSON body, read after authorization (body.ts)
 *   rampart.errors     404 and errors as problem+json (respond.ts)
 */
import type { ErrorRequestHandler, Request, RequestHandler, Response } from "express";
import type { Logger } from "pino";
import { toRampartError } from "../http/errors.ts";
import { createLogger } from "../http/logger.ts";
import { chain, PIPELINE_ORDER, type Stage, type StageName } from "../http/pipeline.ts";
import type { RouteSecurity } from "../http/request-state.ts";
import { createAuthenticateStage } from "../http/stages/authenticate.ts";
import { createAuthorizeStage } from "../http/stages/authorize.ts";
import { createHeadersStage } from "../http/stages/headers.ts";
import { createRequestIdGenerator, createTransportStage } from "../http/stages/transport.ts";
import { BUILTIN_ROLES } from "../core/authz/index.ts";
import { RampartError } from "../core/errors.ts";
import { assertDeployable, openLayer } from "../library/assemble.ts";
import { parseOptions, type RampartOptions, RampartOptionsError } from "../library/options.ts";
import { createBodyReader } from "./body.ts";
import { createCorsStage } from "./cors.ts";
import { createDenyByDefault } from "./deny-by-default.ts";
import { Exchange, exchangeOf } from "./exchange.ts";
import { callSite, createGuards } from "./guard.ts";
import { type IdentityRouter, openIdentityRouter } from "./identity.ts";
import { createErrorRoutes, sendProblem } from "./respond.ts";
import { createResponseCheck } from "./unguarded.ts";

export interface ExpressRampartOptions extends RampartOptions {
  /**
   * A pino logger for Rampart's lines (refusals at info, 5xx with their cause at error, audit events).
   * Default: a JSON logger on stdout at `info`, pretty in development on a TTY.
   */
  logger?: Logger;
  /** The application serves HTTPS itself (`https.createServer(app)`): production mode's HTTPS check passes. Default false. */
  nativeTls?: boolean;
}

export interface ExpressRampart {
  /** The first middleware: `app.use(rampart.pipeline)`, before any route, router or body parser. */
  readonly pipeline: RequestHandler;
  /**
   * A route's declaration, as the route's first handler: `app.get(path, rampart.route({ ... }), handler)`.
   * Also `app.use(path, rampart.route({ ... }))` for everything under a path.
   * @throws RouteDeclarationError naming the key, when called.
   */
  route(declaration: RouteSecurity): RequestHandler;
  /** The JSON body parser with Rampart's rules; the body is read once the route's guard has passed. */
  json(): RequestHandler;
  /** The last middleware: `app.use(rampart.errors)`: 404, 405 and every error as problem+json. */
  readonly errors: [RequestHandler, ErrorRequestHandler];
  /** New requests get 503; then the identity routes, storage and Redis are released. */
  close(): Promise<void>;
}

function adapterOptions(options: unknown): { settings: Record<string, unknown>; logger: Logger | undefined; nativeTls: boolean } {
  if (options === null || typeof options !== "object" || Array.isArray(options)) return { settings: options as never, logger: undefined, nativeTls: false };
  const { logger, nativeTls, ...settings } = options as Record<string, unknown>;
  const issues = [];
  const isLogger = (value: unknown) => {
    const candidate = value as Record<string, unknown> | null;
    return typeof candidate === "object" && candidate !== null && ["child", "info", "error", "warn"].every((m) => typeof candidate[m] === "function");
  };
  if (logger !== undefined && !isLogger(logger)) issues.push({ key: "/logger", message: "must be a pino logger" });
  if (nativeTls !== undefined && typeof nativeTls !== "boolean") issues.push({ key: "/nativeTls", message: "must be true or false" });
  if (issues.length > 0) throw new RampartOptionsError(issues);
  return { settings, logger: logger as Logger | undefined, nativeTls: nativeTls === true };
}

/**
 * Rampart for an Express application.
 *
 * @example
 * const rampart = await createRampart({ dataDir: "./data", roles: { reader: ["items:read"] } });
 * app.use(rampart.pipeline);
 * app.use(rampart.json());
 * app.get("/api/items", rampart.route({ permissions: ["items:read"] }), (req, res) => res.json({ user: req.rampart.principal?.userId }));
 * app.get("/api/me", (req, res) => res.json({ user: req.rampart.principal?.userId })); // declares nothing: authenticated callers only
 * app.use(rampart.errors);
 * @throws RampartOptionsError naming each bad option; Error listing the production deploy checks that failed.
 */
export async function createRampart(options: ExpressRampartOptions): Promise<ExpressRampart> {
  const adapter = adapterOptions(options);
  const parsed = parseOptions(adapter.settings);
  const { config } = parsed;
  assertDeployable(config, adapter.nativeTls);
  const logger = adapter.logger ?? createLogger(config);
  // Express: `logging` applies (the adapter's own logger); listening, shutdown and TLS stay the app's.
  for (const { key, message } of parsed.notApplied) {
    if (key !== "/logging") logger.warn({ code: "RAMPART_WARN_OPTION_NOT_APPLIED", option: key }, `rampart: option ${key} is not applied: ${message}`);
  }
  const layer = await openLayer(parsed, logger);
  let identity: IdentityRouter | undefined;
  try {
    identity = await openIdentityRouter(parsed, layer, logger);
  } catch (error) {
    await layer.close();
    throw error;
  }

  let closing = false;
  const genReqId = createRequestIdGenerator(config.proxies) as (req: Request) => string;
  // The stages protectPlugin installs, composed the same way (src/http/protect.ts).
  const stages: Partial<Record<StageName, Stage>> = {
    transport: createTransportStage(config, () => closing),
    headers: createHeadersStage(config),
    cors: createCorsStage(config),
    authenticate: createAuthenticateStage(layer.authenticator),
    authorize: createAuthorizeStage(),
    ...layer.stages,
  };
  const upToRoute = PIPELINE_ORDER.slice(0, PIPELINE_ORDER.indexOf("authenticate"));
  const runPipeline = chain(upToRoute.flatMap((name) => (stages[name] ? [stages[name] as Stage] : [])));

  const body = createBodyReader(config.limits.bodyBytes);
  const guards = createGuards({
    stages,
    routeLimits: layer.routeLimits,
    compileLimits: layer.onRoute,
    registry: { roles: { ...BUILTIN_ROLES, ...parsed.roles } },
    logger,
    genReqId,
    readPendingBody: (exchange, next) => {
      exchange.jsonPending = false;
      body.readBody(exchange, next);
    },
  });
  const denyByDefault = createDenyByDefault(guards.fallback, logger);
  const checkResponse = createResponseCheck(stages.headers as Stage);
  const [notFound, errorHandler] = createErrorRoutes({
    logger,
    genReqId,
    allowedMethods: (method, path) => identity?.allowedMethods(method, path) ?? [],
  });

  const pipeline: RequestHandler = function rampartPipeline(req: Request, res: Response, next: (error?: unknown) => void) {
    denyByDefault(req.app);
    // Already through the stages (this pipeline is mounted in a sub-application too): walk it, once.
    if (exchangeOf(req)) return next();
    res.removeHeader("x-powered-by");
    // While closing, the identity routes are gone: the transport stage answers 503 like everywhere else.
    if (!closing && identity?.matches(req.method, req.url.split("?")[0] ?? "/")) {
      if (bodyConsumed(req)) return bodyAlreadyRead(req, res);
      return identity.handle(req, res);
    }
    const exchange = new Exchange(req, res, genReqId(req), logger);
    exchange.attach();
    checkResponse(exchange);
    runPipeline(exchange, exchange.reply, (error) => (error ? sendProblem(exchange, toRampartError(error)) : next()));
  };

  function bodyAlreadyRead(req: Request, res: Response): void {
    sendProblem(
      new Exchange(req, res, genReqId(req), logger),
      new RampartError("RAMPART_ERR_INTERNAL", {
        detail: "The server could not complete the request. Quote the requestId when reporting it.",
        reason: `${req.method} ${req.originalUrl}: the request body was read before rampart.pipeline; mount app.use(rampart.pipeline) before any body parser`,
      }),
    );
  }

  // A plain function (not a method): it works detached (`const { route } = rampart`), and its own
  // frame is where the call-site lookup starts.
  function route(declaration: RouteSecurity): RequestHandler {
    return guards.declared(declaration, callSite(route));
  }

  let closed: Promise<void> | undefined;
  return {
    pipeline,
    route,
    json: () => body.json(),
    errors: [notFound, errorHandler],
    close() {
      closing = true;
      closed ??= (async () => {
        try {
          await identity?.close();
        } finally {
          await layer.close();
        }
      })();
      return closed;
    },
  };
}

/** A body parser mounted before the pipeline has read the stream (or body-parser marked it read). */
function bodyConsumed(req: Request): boolean {
  return req.readableEnded || (req as { _body?: unknown })._body === true;
}
