/**
 * Problem+json on Express: every refusal and every error goes out as the catalogue's problem document
 * (core/problems.ts), with the request id, the error's own headers (`WWW-Authenticate`, `Retry-After`,
 * `Allow`) and, for a 5xx, the real error only in the log. The same path Fastify's `sendError` takes.
 */
import type { ErrorRequestHandler, Request, RequestHandler, Response } from "express";
import type { Logger } from "pino";
import { RampartError } from "../core/errors.ts";
import { PROBLEM_CONTENT_TYPE, toProblem } from "../core/problems.ts";
import { logRequestError, toRampartError } from "../http/errors.ts";
import { Exchange, exchangeOf } from "./exchange.ts";

export function sendProblem(exchange: Exchange, error: RampartError): void {
  logRequestError(exchange.log, error);
  const res = exchange.res;
  if (res.headersSent) {
    // Too late for a problem document: the status line is out. Cut the response short.
    res.destroy();
    return;
  }
  exchange.own = true;
  // Set by stage 1; a request refused before it (a mounting mistake) still gets its id.
  if (!res.hasHeader("x-request-id")) res.setHeader("x-request-id", exchange.id);
  if (error.headers) exchange.reply.headers(error.headers);
  const body = JSON.stringify(toProblem(error, exchange.id));
  res.statusCode = error.status;
  res.setHeader("content-type", PROBLEM_CONTENT_TYPE);
  res.setHeader("content-length", Buffer.byteLength(body));
  res.end(body);
}

/**
 * Errors from the Express ecosystem's body parsers (`express.json()`), by their `type`, for
 * applications that use one instead of `rampart.json()`; everything else is `toRampartError`'s.
 */
const BODY_PARSER_ERRORS: Record<string, () => RampartError> = {
  "entity.too.large": () => new RampartError("RAMPART_ERR_BODY_TOO_LARGE"),
  "entity.parse.failed": () => new RampartError("RAMPART_ERR_MALFORMED_JSON", { detail: "The body is not valid JSON." }),
  "encoding.unsupported": () =>
    new RampartError("RAMPART_ERR_UNSUPPORTED_MEDIA_TYPE", { detail: "Request bodies must be sent as Content-Type: application/json." }),
};

export function toExpressError(error: unknown): RampartError {
  const type = (error as { type?: unknown } | null)?.type;
  const mapped = typeof type === "string" ? BODY_PARSER_ERRORS[type] : undefined;
  if (!mapped) return toRampartError(error);
  const rampartError = mapped();
  Object.defineProperty(rampartError, "cause", { value: error, enumerable: false });
  return rampartError;
}

export interface ErrorRoutesOptions {
  logger: Logger;
  genReqId: (req: Request) => string;
  /** Methods Rampart's own routes serve at this path (for 405 with `Allow`), if any. */
  allowedMethods: (method: string, path: string) => string[];
}

/** `rampart.errors`: the 404 for anything no route answered, then the error handler. */
export function createErrorRoutes(options: ErrorRoutesOptions): [RequestHandler, ErrorRequestHandler] {
  /** A request that never passed the pipeline (mounted too late, or an error before it) still gets a request id. */
  const exchangeFor = (req: Request, res: Response) => exchangeOf(req) ?? new Exchange(req, res, options.genReqId(req), options.logger);

  function rampartNotFound(req: Request, res: Response): void {
    const exchange = exchangeFor(req, res);
    const allowed = options.allowedMethods(req.method, (req.originalUrl ?? req.url).split("?")[0] ?? "/");
    if (allowed.length > 0) {
      sendProblem(
        exchange,
        new RampartError("RAMPART_ERR_METHOD_NOT_ALLOWED", {
          detail: `${req.method} is not allowed here; use ${allowed.join(", ")}.`,
          headers: { allow: allowed.join(", ") },
        }),
      );
      return;
    }
    sendProblem(exchange, new RampartError("RAMPART_ERR_NOT_FOUND"));
  }

  const rampartErrorHandler: ErrorRequestHandler = (error, req, res, next) => {
    // Express's own handler closes a response whose headers are already out; nothing better is possible.
    if (res.headersSent) return next(error);
    sendProblem(exchangeFor(req, res), toExpressError(error));
  };

  return [rampartNotFound, rampartErrorHandler];
}
