/**
 * What a pipeline stage reads from a request and calls on a reply: the whole contract between the
 * stages (src/http/stages/*) and the framework that runs them. Fastify's request and reply satisfy it as
 * they are; the Express adapter (src/express/exchange.ts) builds one small object per request that does
 * too. Stages are typed against these, never against a framework's types, so one set of stages serves
 * every adapter and no adapter can need a decision of its own (STYLE rule 15).
 */
import type { IncomingHttpHeaders, IncomingMessage } from "node:http";
import type { BaseLogger } from "pino";
import type { RequestState, RouteSecurityFields } from "./request-state.ts";

/** The route-level data the stages read: the declaration and what registration compiled from it. */
export interface StageRouteConfig {
  rampart?: RouteSecurityFields;
  /** Compiled by the rate-limit stages at registration (opaque to everything else). */
  rampartLimits?: unknown;
  /** Set by the route registry once the declaration passed its checks. */
  rampartChecked?: boolean;
  /** A health probe: still served when a closed-failing limiter store is down (routes/ops.ts). */
  rampartProbe?: boolean;
}

/** A route as registration sees it: the rate-limit compiler stores its result on `config`. */
export interface RouteDefinition {
  method: string | readonly string[];
  url: string;
  config?: StageRouteConfig;
}

export interface PipelineRequest {
  readonly raw: IncomingMessage;
  readonly id: string;
  readonly method: string;
  readonly headers: IncomingHttpHeaders;
  /** The matched route; `url` is undefined when none matched (a 404 on its way). */
  readonly routeOptions: { readonly url: string | undefined; readonly config: StageRouteConfig };
  /** Cookie parsing, on demand only (see identity/credentials.ts). */
  readonly server: { parseCookie(header: string): Record<string, string | undefined> };
  readonly log: Pick<BaseLogger, "info" | "warn" | "error">;
  rampart: RequestState;
}

export interface PipelineReply {
  header(name: string, value: string): unknown;
  headers(values: Record<string, string>): unknown;
  /** Replies with a redirect; the stage then returns false (it has answered). */
  redirect(url: string, code: number): unknown;
}
