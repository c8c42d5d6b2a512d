/**
 * The second line of deny by default. The first (deny-by-default.ts) puts a guard in front of every
 * route it can see; this one watches what goes out. A success or a redirect (status < 400) written for
 * a request that no guard decided (a route added where the walk could not see it, a sub-application,
 * a plain `app.use` middleware that answers) is replaced by a 500 problem before its status line, its
 * headers (cookies included) or a byte of its body leave; the handler's later writes are dropped. The
 * handler has run by then, so this line protects what is served, not the side effects: the first line
 * is the one that keeps handlers from running.
 *
 * Rampart's own responses (problems, HTTPS redirects, CORS preflights) are marked `own` and pass, as do
 * error statuses, so an application's own 404 page keeps working.
 */
import type { ServerResponse } from "node:http";
import { RampartError } from "../core/errors.ts";
import type { Stage } from "../http/pipeline.ts";
import { type Exchange, exchangeOf } from "./exchange.ts";
import { sendProblem } from "./respond.ts";

type Res = ServerResponse & { [key: symbol]: unknown };

export function createResponseCheck(headers: Stage) {
  function mustRefuse(exchange: Exchange, status: number): boolean {
    return exchange.refusal === 0 && !exchange.decided && !exchange.own && status < 400;
  }

  function refuse(exchange: Exchange): void {
    const res = exchange.res;
    exchange.refusal = 1;
    // Whatever the handler set (Set-Cookie, Content-Disposition, its own Location) goes with its body.
    for (const name of res.getHeaderNames()) res.removeHeader(name);
    exchange.reply.header("x-request-id", exchange.id);
    void headers(exchange, exchange.reply);
    sendProblem(
      exchange,
      new RampartError("RAMPART_ERR_INTERNAL", {
        detail: "The server could not complete the request. Quote the requestId when reporting it.",
        reason: `${exchange.method} ${exchange.raw.originalUrl}: a response was written by a handler no Rampart guard covered (deny by default); declare the route with rampart.route(), define it with app.METHOD() or express.Router() after app.use(rampart.pipeline), and mount sub-applications' routes on a Router instead`,
      }),
    );
    exchange.refusal = 2;
  }

  function checkedWriteHead(this: Res, statusCode: number, ...rest: unknown[]): ServerResponse {
    const exchange = exchangeOf(this) as Exchange;
    if (exchange.refusal === 2) return this;
    if (mustRefuse(exchange, statusCode)) {
      refuse(exchange);
      return this;
    }
    return (exchange.writeHead as (...args: unknown[]) => ServerResponse).call(this, statusCode, ...rest);
  }

  function checkedWrite(this: Res, ...args: unknown[]): boolean {
    const exchange = exchangeOf(this) as Exchange;
    if (!this.headersSent && mustRefuse(exchange, this.statusCode)) refuse(exchange);
    if (exchange.refusal === 2) return dropped(args, true);
    return (exchange.write as (...a: unknown[]) => boolean).apply(this, args);
  }

  function checkedEnd(this: Res, ...args: unknown[]): ServerResponse {
    const exchange = exchangeOf(this) as Exchange;
    if (!this.headersSent && mustRefuse(exchange, this.statusCode)) refuse(exchange);
    if (exchange.refusal === 2) return dropped(args, this);
    return (exchange.end as (...a: unknown[]) => ServerResponse).apply(this, args);
  }

  /** A dropped write still completes for its caller (a piped stream keeps flowing to its end). */
  function dropped<T>(args: unknown[], result: T): T {
    const callback = args[args.length - 1];
    if (typeof callback === "function") process.nextTick(callback as () => void);
    return result;
  }

  /** Wraps this request's response (three property writes; the functions are shared). */
  return function install(exchange: Exchange): void {
    const res: ServerResponse = exchange.res;
    exchange.writeHead = res.writeHead;
    exchange.write = res.write;
    exchange.end = res.end;
    res.writeHead = checkedWriteHead as ServerResponse["writeHead"];
    res.write = checkedWrite as ServerResponse["write"];
    res.end = checkedEnd as ServerResponse["end"];
  };
}
