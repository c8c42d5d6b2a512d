/**
 * Stage 3 on Express: @fastify/cors cannot run here, so the maintained `cors` middleware does, driven
 * by the same `corsOptions()` values and origin predicate (exact origins, `null` never, no CORS header
 * at all for an origin not listed, not even on its preflight). An allowed preflight is answered here,
 * before stage 4, as on Fastify.
 */
import cors, { type CorsOptions } from "cors";
import type { ResolvedConfig } from "../config/resolve.ts";
import { RampartError } from "../core/errors.ts";
import type { Stage } from "../http/pipeline.ts";
import { corsOptions } from "../http/stages/cors.ts";
import type { Exchange } from "./exchange.ts";

export function createCorsStage(config: ResolvedConfig): Stage {
  const options = corsOptions(config);
  const middleware = cors({
    origin: options.origin as CorsOptions["origin"],
    credentials: options.credentials,
    methods: options.methods as string[],
    allowedHeaders: options.allowedHeaders as string[],
    exposedHeaders: options.exposedHeaders as string[],
    maxAge: options.maxAge as number,
    preflightContinue: false,
    optionsSuccessStatus: 204,
  });

  const originCallback = options.origin as (origin: string | undefined, callback: (error: Error | null, allowed?: unknown) => void) => void;
  const isAllowed = (origin: string | undefined) => {
    let allowed = false;
    originCallback(origin, (_error, value) => {
      allowed = Boolean(value);
    });
    return allowed;
  };

  return function corsStage(request): boolean {
    const exchange = request as Exchange;
    // `strictPreflight`, which `cors` lacks: an allowed origin's OPTIONS without the method it asks for is no preflight.
    if (
      options.strictPreflight === true &&
      exchange.method === "OPTIONS" &&
      exchange.headers["access-control-request-method"] === undefined &&
      isAllowed(exchange.headers.origin)
    ) {
      throw new RampartError("RAMPART_ERR_BAD_REQUEST", { detail: "Invalid CORS preflight: Access-Control-Request-Method is missing." });
    }
    let continued = false;
    // A preflight answered here is Rampart's own response (see unguarded.ts).
    exchange.own = true;
    // Our origin callback answers synchronously, so `cors` has continued or replied when it returns.
    middleware(exchange.raw, exchange.res, () => {
      continued = true;
    });
    if (continued) {
      exchange.own = false;
      return true;
    }
    if (exchange.res.writableEnded) return false;
    throw new RampartError("RAMPART_ERR_INTERNAL", { reason: "the cors middleware neither answered nor continued synchronously" });
  };
}
