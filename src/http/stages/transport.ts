/**
 * Stage 1, transport: who the client is and whether it came over HTTPS (trusted-proxy aware), the
 * request id echoed in `X-Request-Id`, and HTTPS enforcement. Plain HTTP is refused before any other
 * work: an API client that sent a token in the clear must fail loudly, not be silently redirected.
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { TLSSocket } from "node:tls";
import type { PipelineReply, PipelineRequest } from "../stage-io.ts";
import { type ClientInfo, createClientResolver, normaliseAddress, type TrustedProxies } from "../../core/client.ts";
import { proxyHeaderFlags } from "../../core/client-recorder.ts";
import { clientResolutionRecorderOf } from "../client-diagnostics.ts";
import { RampartError } from "../../core/errors.ts";
import type { HostMatcher } from "../../core/hosts.ts";
import { assertAcceptable } from "../negotiation.ts";
import { createSecurityHeaders } from "./headers.ts";
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
  const hosts = config.hosts;
  const securityHeaders = createSecurityHeaders(config);
  // For `GET /admin/diagnostics/client-resolution`: a few writes into a preallocated ring per request.
  const recorder = clientResolutionRecorderOf(config);

  return function transport(request: PipelineRequest, reply: PipelineReply): boolean {
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
    recorder.record(socket.remoteAddress, client, proxyHeaderFlags(raw.headers));
    reply.header("x-request-id", request.id);
    try {
      return admit(request, reply, client);
    } catch (error) {
      // Refused before stage 2 (headers) ran: the refusal still carries nosniff, CSP, no-store…
      reply.headers(securityHeaders(client.scheme));
      throw error;
    }
  };

  function admit(request: PipelineRequest, reply: PipelineReply, client: ClientInfo): boolean {
    const raw = request.raw;
    if (isClosing()) {
      // Draining for shutdown: in-flight requests finish, new ones on kept-alive sockets go elsewhere.
      throw new RampartError("RAMPART_ERR_SHUTTING_DOWN", { headers: { connection: "close", "retry-after": "1" } });
    }
    if (!enforce || client.scheme === "https") {
      assertHost(request, hosts);
      assertAcceptable(request);
      return true;
    }

    const host = request.headers.host;
    if (redirect && (request.method === "GET" || request.method === "HEAD") && host && isValidHost(host) && hosts.allows(host)) {
      reply.headers(securityHeaders(client.scheme));
      reply.redirect(`https://${host}${raw.url ?? "/"}`, 308);
      return false;
    }
    throw new RampartError("RAMPART_ERR_HTTPS_REQUIRED", {
      detail: "This API is served over HTTPS only; the request was not sent. Retry over https:// (and rotate any credential sent in the clear).",
    });
  }
}

/**
 * The Host header must be one of the allowed hosts (RAMPART_ALLOWED_HOSTS), and there must be exactly
 * one: Node keeps the first of two, a proxy in front may have routed on the second.
 */
function assertHost(request: PipelineRequest, hosts: HostMatcher): void {
  const raw = request.raw.rawHeaders;
  let count = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    if (name.length === 4 && name.toLowerCase() === "host") count++;
  }
  if (count > 1) throw new RampartError("RAMPART_ERR_HOST_NOT_ALLOWED", { detail: "The request carries more than one Host header.", reason: "duplicate Host" });
  if (hosts.any) return;
  const host = request.headers.host;
  if (!hosts.allows(host)) {
    throw new RampartError("RAMPART_ERR_HOST_NOT_ALLOWED", {
      detail: "The Host header does not name a host this API is served under.",
      reason: `host ${JSON.stringify(host ?? null)} not in allowedHosts`,
    });
  }
}

// A host[:port] with no userinfo, path or whitespace: a redirect must never be steered elsewhere.
const HOST = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$/;
function isValidHost(host: string): boolean {
  return HOST.test(host);
}
