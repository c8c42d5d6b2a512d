/**
 * `rampart.json()`: the JSON body parser with the reference server's rules. Only `application/json`
 * (a body of any other type, or of none stated, is 415: text/plain is how CSRF slips past a
 * preflight), at most `limits.bodyBytes` (413, refused from Content-Length before a byte is read), and
 * parsed by the same `parseJsonBody` Fastify uses: secure-json-parse refusing `__proto__` and
 * `constructor.prototype` keys, each failure its own 400 problem.
 *
 * The pipeline's order says the body is read only after authorization (stage 8): nothing is spent on
 * an anonymous or refused caller. So when `rampart.json()` runs before any guard (mounted with
 * `app.use` ahead of the routes), it only notes the request, and the route's guard reads the body once
 * its declaration has passed; mounted after a guard, it reads at once.
 */
import type { Request, RequestHandler, Response } from "express";
import { RampartError } from "../core/errors.ts";
import { parseJsonBody } from "../http/errors.ts";
import type { Exchange } from "./exchange.ts";
import { exchangeOf } from "./exchange.ts";
import { sendProblem } from "./respond.ts";

/** Methods whose body is never read (as on Fastify). */
const NO_BODY = new Set(["GET", "HEAD"]);

const unsupported = () =>
  new RampartError("RAMPART_ERR_UNSUPPORTED_MEDIA_TYPE", { detail: "Request bodies must be sent as Content-Type: application/json." });

export function createBodyReader(limit: number) {
  /** Reads and parses the body into `req.body`; a refusal goes out as a problem, success calls `next`. */
  function readBody(exchange: Exchange, next: (error?: unknown) => void) {
    const req = exchange.raw;
    const fail = (error: RampartError) => sendProblem(exchange, error);
    if (NO_BODY.has(req.method)) return next();
    const type = req.headers["content-type"];
    const length = req.headers["content-length"];
    const hasBody = req.headers["transfer-encoding"] !== undefined || (length !== undefined && length !== "0");
    if (type === undefined) return hasBody ? fail(unsupported()) : next();
    if ((type.split(";")[0] ?? "").trim().toLowerCase() !== "application/json") return fail(unsupported());
    if (length !== undefined && Number(length) > limit) return fail(tooLarge(exchange));

    const chunks: Buffer[] = [];
    let received = 0;
    let settled = false;
    const settle = (error: RampartError | undefined, body?: unknown) => {
      if (settled) return;
      settled = true;
      req.off("data", onData).off("end", onEnd).off("error", onError);
      if (error) return fail(error);
      req.body = body;
      next();
    };
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received > limit) return settle(tooLarge(exchange));
      chunks.push(chunk);
    };
    const onEnd = () =>
      parseJsonBody(undefined, Buffer.concat(chunks, received), (error, body) => settle(error ? (error as RampartError) : undefined, body));
    const onError = (error: Error) => settle(new RampartError("RAMPART_ERR_BAD_REQUEST", { detail: "The request body could not be read.", cause: error }));
    req.on("data", onData).on("end", onEnd).on("error", onError);
  }

  /** The middleware: reads now if a guard has passed, else leaves the body for the route's guard. */
  function json(): RequestHandler {
    return function rampartJson(req: Request, _res: Response, next: (error?: unknown) => void) {
      const exchange = exchangeOf(req);
      if (!exchange) {
        next(
          new RampartError("RAMPART_ERR_INTERNAL", {
            reason: "rampart.json() ran before rampart.pipeline: mount app.use(rampart.pipeline) first",
          }),
        );
        return;
      }
      if (exchange.decided) return readBody(exchange, next);
      exchange.jsonPending = true;
      next();
    };
  }

  return { readBody, json };
}

/** The rest of an oversized upload is not read: the connection closes after the 413. */
function tooLarge(exchange: Exchange): RampartError {
  exchange.reply.header("connection", "close");
  return new RampartError("RAMPART_ERR_BODY_TOO_LARGE");
}
