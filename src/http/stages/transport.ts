/**
 * Stage 1, transport: who the client is and whether it came over HTTPS (trusted-proxy aware), the
 * request id echoed in `X-Request-Id`, and HTTPS enforcement. Plain HTTP is refused before any other
 * work: an API client that sent a token in the clear must fail loudly, not be silently redirected.
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { TLSSocket } from "node:tls";
import type { FastifyReply, FastifyRequest } from "fastify";
import { type ClientInfo, createClientResolver, normaliseAddress, type TrustedProxies } from "../../core/client.ts";
import { RampartError } from "../../core/errors.ts";
import { assertAcceptable } from "../negotiation.ts";
import type { ResolvedConfig } from "../../config/resolve.ts";

const SOCKET_CLIENT = Symbol("rampart.client");
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Fastify's genReqId: a trusted proxy's `X-Request-Id` is kept (for log correlation), else a new one. */
export function createRequestIdGenerator(proxies: TrustedProxies) {
  return function genReqId(raw: IncomingMessage): string {
    const incoming = raw.headers["x-request-id"];
    if (
      proxies.size > 0 &&
      typeof incoming === "string" &&
      REQUEST_ID.test(incoming) &&
      proxies.isTrusted(normaliseAddress(raw.socket.remoteAddress ?? "") ?? "")
    ) {
      return incoming;
    }
    return randomUUID();
  };
}

export function createTransportStage(config: ResolvedConfig, isClosing: () => boolean = () => false) {
  const resolveClient = createClientResolver({ trustedProxies: config.proxies, proxyHeaders: config.proxyHeaders });
  const enforce = config.https.enforce;
  const direct = config.proxies.size === 0;
  const redirect = config.https.redirect;

  return function transport(request: FastifyRequest, reply: FastifyReply): boolean {
    const raw = request.raw;
    const socket = raw.socket as TLSSocket & { [SOCKET_CLIENT]?: ClientInfo };
    // Without trusted proxies the answer depends on the socket alone: work it out once per connection.
    let client = direct ? socket[SOCKET_CLIENT] : undefined;
    if (!client) {
      client = resolveClient({
        socketAddress: socket.remoteAddress,
        socketEncrypted: Boolean(socket.encrypted),
        forwarded: raw.headers.forwarded,
        xForwardedFor: raw.headers["x-forwarded-for"],
        xForwardedProto: raw.headers["x-forwarded-proto"],
      });
      if (direct) socket[SOCKET_CLIENT] = client;
    }
    request.rampart = { client, principal: undefined };
    reply.header("x-request-id", request.id);
    if (isClosing()) {
      // Draining for shutdown: in-flight requests finish, new ones on kept-alive sockets go elsewhere.
      throw new RampartError("RAMPART_ERR_SHUTTING_DOWN", { headers: { connection: "close", "retry-after": "1" } });
    }
    if (!enforce || client.scheme === "https") {
      assertAcceptable(request);
      return true;
    }

    const host = request.headers.host;
    if (redirect && (request.method === "GET" || request.method === "HEAD") && host && isValidHost(host)) {
      reply.redirect(`https://${host}${raw.url ?? "/"}`, 308);
      return false;
    }
    throw new RampartError("RAMPART_ERR_HTTPS_REQUIRED", {
      detail: "This API is served over HTTPS only; the request was not sent. Retry over https:// (and rotate any credential sent in the clear).",
    });
  };
}

// A host[:port] with no userinfo, path or whitespace: a redirect must never be steered elsewhere.
const HOST = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$/;
function isValidHost(host: string): boolean {
  return HOST.test(host);
}
