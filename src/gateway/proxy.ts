/**
 * Stage 10 in gateway mode: the handler that forwards an admitted request to the upstream with
 * @fastify/reply-from (undici: pooled connections, streaming responses, connect and response
 * timeouts), the headers rewritten both ways (forward-headers.ts), and the caller's identity
 * asserted. Failures never leak the upstream: unreachable → 502, too slow → 504, and in production an
 * upstream 5xx → 502 problem+json without its body (a debug page never reaches a client).
 */
import type { FastifyReply, FastifyRequest } from "fastify";
import type { IncomingHttpHeaders } from "node:http";
import "@fastify/reply-from";
import { RampartError } from "../core/errors.ts";
import { sendError } from "../http/protect.ts";
import type { AssertionInput } from "./assertion.ts";
import { clientResponseHeaders, upstreamRequestHeaders } from "./forward-headers.ts";
import { canonicalOf } from "./target.ts";

export interface ProxyOptions {
  upstream: URL;
  production: boolean;
  /** Response headers the headers stage sets, which win over the upstream's. */
  securityHeaders: Readonly<Record<string, unknown>>;
  signAssertion(input: AssertionInput): string;
}

const NEVER_RETRY = () => null;

export function createProxyHandler(options: ProxyOptions) {
  const { upstream, production, securityHeaders } = options;

  function failure(error: { statusCode?: number; code?: string; cause?: { code?: string } }): RampartError {
    const code = error.code ?? error.cause?.code;
    const timedOut = error.statusCode === 504 || code === "UND_ERR_HEADERS_TIMEOUT" || code === "UND_ERR_BODY_TIMEOUT" || code === "FST_REPLY_FROM_GATEWAY_TIMEOUT";
    return timedOut
      ? new RampartError("RAMPART_ERR_GATEWAY_TIMEOUT", { detail: "The upstream did not answer in time.", reason: `upstream timeout (${code ?? "timeout"})`, cause: error })
      : new RampartError("RAMPART_ERR_BAD_GATEWAY", { detail: "The upstream could not be reached.", reason: `upstream unreachable (${code ?? "error"})`, cause: error });
  }

  return async function proxy(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const target = canonicalOf(request.raw);
    // Every routed request passed through rewriteToCanonical; if not, fail closed.
    if (!target) throw new RampartError("RAMPART_ERR_INTERNAL", { reason: "gateway request without a canonical target" });
    // `/api/orders/` matches `/api/orders/:id` with an empty id in Fastify's router: for the upstream
    // that is another endpoint (often the list). A rule never admits an empty parameter.
    for (const value of Object.values((request.params ?? {}) as Record<string, string>)) {
      if (value === "") throw new RampartError("RAMPART_ERR_NOT_FOUND", { reason: "empty path parameter" });
    }
    const { client, principal } = request.rampart;
    const host = request.headers.host;
    const pathOnly = target.forward.split("?")[0] ?? "/";
    const assertion = principal
      ? options.signAssertion({ sub: principal.userId, roles: principal.roles, htm: request.method, htu: `${client.scheme}://${host}${pathOnly}` })
      : undefined;
    const headers = upstreamRequestHeaders(request.raw.headers, {
      clientIp: client.ip,
      scheme: client.scheme,
      host,
      requestId: String(request.id),
      ...(principal && assertion ? { user: { id: principal.userId, roles: principal.roles, assertion } } : {}),
    });
    headers.host = upstream.host;
    let copied: string[] = [];
    return reply.from(target.forward, {
      retryDelay: NEVER_RETRY,
      rewriteRequestHeaders: (_request, prepared) => {
        // reply-from computed the body's length and type; everything else is ours.
        const body = { "content-length": prepared["content-length"], "content-type": prepared["content-type"] };
        return { ...headers, ...Object.fromEntries(Object.entries(body).filter(([, v]) => v !== undefined)) } as IncomingHttpHeaders;
      },
      rewriteHeaders: (upstreamHeaders) => {
        const out = clientResponseHeaders(upstreamHeaders, securityHeaders, { credentialed: principal !== undefined });
        copied = Object.keys(out);
        return out as IncomingHttpHeaders;
      },
      onResponse: (_request, innerReply, response) => {
        if (production && response.statusCode >= 500) {
          response.stream.destroy();
          for (const name of copied) innerReply.removeHeader(name);
          sendError(
            new RampartError("RAMPART_ERR_BAD_GATEWAY", { detail: "The upstream failed to answer this request.", reason: `upstream answered ${response.statusCode}` }),
            request,
            innerReply as FastifyReply,
          );
          return;
        }
        innerReply.send(response.stream);
      },
      onError: (innerReply, { error }) => {
        sendError(failure(error as never), request, innerReply as FastifyReply);
      },
    });
  };
}
