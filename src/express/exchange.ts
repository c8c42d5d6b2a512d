/**
 * One Express request and its response, as the pipeline stages see a Fastify request and reply
 * (src/http/stage-io.ts): the same fields read, the same three reply calls. Nothing here decides
 * anything; it only translates, plus the bookkeeping Express needs because, unlike Fastify, a request
 * can pass several declarations (a router-level guard and a route-level one).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { fastifyCookie } from "@fastify/cookie";
import type { Request, Response } from "express";
import type { Logger } from "pino";
import "./request-augment.ts";
import type { RequestState } from "../http/request-state.ts";
import type { PipelineReply, PipelineRequest, StageRouteConfig } from "../http/stage-io.ts";

/** Where a request's exchange is kept (on the request and on its response). */
export const EXCHANGE = Symbol("rampart.exchange");

type Carrier = { [EXCHANGE]?: Exchange };

export type RouteView = PipelineRequest["routeOptions"];

/**
 * The route as stages 1–4 see it, before Express has matched one: none, and any media type acceptable
 * (the route's own `produces` is checked by its guard, once it is known).
 */
export const NO_ROUTE: RouteView = Object.freeze({ url: undefined, config: Object.freeze({ rampart: Object.freeze({ produces: ["*/*"] }) }) });

/** The same cookie parser `@fastify/cookie` decorates Fastify with (default options). */
const COOKIES = Object.freeze({ parseCookie: (header: string) => fastifyCookie.parse(header) });

export class Exchange implements PipelineRequest {
  readonly raw: Request;
  readonly res: Response;
  readonly id: string;
  readonly method: string;
  readonly headers: IncomingMessage["headers"];
  readonly server = COOKIES;
  /** The reply half the stages write to (Fastify's request and reply are two objects; so are these). */
  readonly reply: ExchangeReply;
  routeOptions: RouteView = NO_ROUTE;
  /** A guard's declaration has passed for this request (its route's, or an enclosing router's). */
  decided = false;
  /** Stage 7's shared per-principal policies have been counted for this request. */
  principalCounted = false;
  /** `rampart.json()` ran before any guard: the body is read once a guard has passed. */
  jsonPending = false;
  /** The response being written is Rampart's own (a problem, a redirect, a preflight). */
  own = false;
  /** The response as it was before the unguarded-response check wrapped it (see unguarded.ts). */
  writeHead: ServerResponse["writeHead"] | undefined;
  write: ServerResponse["write"] | undefined;
  end: ServerResponse["end"] | undefined;
  /** 0: no refusal; 1: the refusal is being written; 2: written, the handler's output is dropped. */
  refusal: 0 | 1 | 2 = 0;
  #logger: Logger;
  #log: Logger | undefined;

  constructor(req: Request, res: Response, id: string, logger: Logger) {
    this.raw = req;
    this.res = res;
    this.id = id;
    this.method = req.method;
    this.headers = req.headers;
    this.#logger = logger;
    this.reply = new ExchangeReply(this);
  }

  get rampart(): RequestState {
    return this.raw.rampart;
  }
  set rampart(state: RequestState) {
    this.raw.rampart = state;
  }

  /** A child logger bound to the request id, built only when something is logged. */
  get log(): Logger {
    this.#log ??= this.#logger.child({ reqId: this.id });
    return this.#log;
  }

  /** Sets the route the following stages see: the guard's compiled declaration, under the matched path. */
  enterRoute(config: StageRouteConfig): void {
    const route = this.raw.route as { path?: unknown } | undefined;
    const url = route ? `${this.raw.baseUrl}${String(route.path)}` : this.raw.baseUrl || "/";
    this.routeOptions = { url, config };
  }

  attach(): void {
    (this.raw as Carrier)[EXCHANGE] = this;
    (this.res as Carrier)[EXCHANGE] = this;
  }
}

export class ExchangeReply implements PipelineReply {
  readonly #exchange: Exchange;

  constructor(exchange: Exchange) {
    this.#exchange = exchange;
  }

  header(name: string, value: string): this {
    this.#exchange.res.setHeader(name, value);
    return this;
  }

  headers(values: Record<string, string>): this {
    for (const name in values) this.#exchange.res.setHeader(name, values[name] as string);
    return this;
  }

  redirect(url: string, code: number): this {
    this.#exchange.own = true;
    this.#exchange.res.statusCode = code;
    this.#exchange.res.setHeader("location", url);
    this.#exchange.res.end();
    return this;
  }
}

export function exchangeOf(carrier: object): Exchange | undefined {
  return (carrier as Carrier)[EXCHANGE];
}
