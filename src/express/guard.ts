/**
 * Route declarations on Express: `rampart.route(declaration)` is a guard middleware that runs stages
 * 5–8 (authenticate, csrf, limit-principal, authorize) with that declaration, after the two parts of
 * stages 1 and 4 that need the route (its `produces` for the Accept check, its own IP-keyed limits:
 * Express matches a route only after `rampart.pipeline` ran stages 1–4 for every request). The
 * declaration is checked and its limits compiled when `rampart.route()` is called, with the route
 * registry's and the rate-limit stages' own code, so a typo stops start-up as it does on Fastify.
 *
 * A request may pass several guards (a router-level one, then the route's): each enforces its own
 * declaration, and the shared per-principal limits are counted once. The default guard, which the
 * deny-by-default walk puts in front of every undeclared route, requires an authenticated caller: it
 * steps aside only for a principal an earlier guard has already authenticated, so a public declaration
 * upstream (`router.use(rampart.route({ auth: "public" }))`) never makes an undeclared route public.
 */
import type { Request, RequestHandler, Response } from "express";
import type { Logger } from "pino";
import { RampartError } from "../core/errors.ts";
import { toRampartError } from "../http/errors.ts";
import { assertAcceptable } from "../http/negotiation.ts";
import { chain, PIPELINE_ORDER, type Stage, type StageName } from "../http/pipeline.ts";
import type { RouteSecurityFields } from "../http/request-state.ts";
import { checkDeclaration, type RouteRegistryOptions } from "../http/route-security.ts";
import type { RouteDefinition, StageRouteConfig } from "../http/stage-io.ts";
import { Exchange, exchangeOf } from "./exchange.ts";
import { sendProblem } from "./respond.ts";

/** Marks a guard; the deny-by-default walk reads it. */
export const GUARD = Symbol("rampart.guard");

export type Guard = RequestHandler & { [GUARD]: "declared" | "default" };

export function isGuard(handler: unknown): handler is Guard {
  return typeof handler === "function" && GUARD in handler;
}

export interface GuardOptions {
  /** The pipeline's stages by name (stages 5–8 are used here). */
  stages: Partial<Record<StageName, Stage>>;
  /** The route-scoped halves of stages 4 and 7 (absent when rate limiting is off). */
  routeLimits: { client: Stage; principal: Stage } | undefined;
  /** The rate-limit stages' registration-time compiler. */
  compileLimits: ((route: RouteDefinition) => void) | undefined;
  registry: RouteRegistryOptions;
  logger: Logger;
  genReqId: (req: Request) => string;
  /** Reads a body `rampart.json()` deferred until a guard passed. */
  readPendingBody: (exchange: Exchange, next: (error?: unknown) => void) => void;
}

const accept: Stage = (request) => {
  assertAcceptable(request);
  return true;
};

export function createGuards(options: GuardOptions) {
  const { stages, routeLimits } = options;
  const limitPrincipal = stages["limit-principal"];
  /** Stage 7: the shared per-principal policies on the first guard that knows the principal, the route's own on every guard. */
  const countPrincipal: Stage = (request, reply) => {
    const exchange = request as Exchange;
    if (!limitPrincipal || !exchange.rampart.principal) return true;
    if (exchange.principalCounted) return routeLimits ? routeLimits.principal(request, reply) : true;
    exchange.principalCounted = true;
    return limitPrincipal(request, reply);
  };
  const byName: Partial<Record<StageName, Stage>> = { ...stages, "limit-principal": countPrincipal };
  const run = chain([
    accept,
    ...(routeLimits ? [routeLimits.client] : []),
    ...PIPELINE_ORDER.slice(PIPELINE_ORDER.indexOf("authenticate")).flatMap((name) => (byName[name] ? [byName[name] as Stage] : [])),
  ]);

  function unmounted(req: Request, res: Response): void {
    const exchange = new Exchange(req, res, options.genReqId(req), options.logger);
    sendProblem(
      exchange,
      new RampartError("RAMPART_ERR_INTERNAL", {
        detail: "The server could not complete the request. Quote the requestId when reporting it.",
        reason: `${req.method} ${req.originalUrl}: a Rampart guard ran before rampart.pipeline; mount app.use(rampart.pipeline) before any route, router or body parser`,
      }),
    );
  }

  function build(declaration: RouteSecurityFields, name: string, kind: "declared" | "default"): Guard {
    // The compiler stores its result on the route's config (a new object), as on a Fastify route.
    const route: RouteDefinition = { method: "ALL", url: name, config: { rampart: declaration, rampartChecked: true } };
    options.compileLimits?.(route);
    const config = Object.freeze({ ...route.config }) as StageRouteConfig;

    const guard = function rampartGuard(req: Request, res: Response, next: (error?: unknown) => void) {
      const exchange = exchangeOf(req);
      if (!exchange) return unmounted(req, res);
      // Deny by default means "no anonymous caller": one an earlier guard authenticated may pass.
      if (kind === "default" && exchange.rampart.principal) return next();
      exchange.enterRoute(config);
      run(exchange, exchange.reply, (error) => {
        if (error) return sendProblem(exchange, toRampartError(error));
        exchange.decided = true;
        if (exchange.jsonPending) return options.readPendingBody(exchange, next);
        next();
      });
    } as Guard;
    guard[GUARD] = kind;
    return guard;
  }

  return {
    /**
     * A declared guard. `site` names where it was declared, in errors and as the scope of its own
     * limits (one budget per `rampart.route()` call).
     * @throws RouteDeclarationError naming the key, at the call.
     */
    declared(declaration: unknown, site: string): Guard {
      const security = checkDeclaration(site, declaration ?? {}, options.registry);
      return build(Object.freeze({ ...security }), site, "declared");
    },
    /** The guard of every route that declares nothing: an authenticated caller, any permissions. */
    fallback: build(Object.freeze({}), "undeclared route", "default"),
  };
}

/** Where `rampart.route()` was called from (file:line:column), for its errors and its limits' scope. */
export function callSite(skip: (...args: never[]) => unknown): string {
  const holder: { stack?: string } = {};
  Error.captureStackTrace(holder, skip);
  const frame = holder.stack?.split("\n")[1]?.trim() ?? "";
  const location = /\((.*)\)$/.exec(frame)?.[1] ?? frame.replace(/^at\s+/, "");
  const cwd = `${process.cwd()}/`;
  const relative = location.replace(/^file:\/\//, "").replace(cwd, "");
  return `rampart.route() at ${relative || "an unknown place"}`;
}
