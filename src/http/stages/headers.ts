/**
 * Stage 2, security headers. helmet (the library behind @fastify/helmet) is the source of truth for
 * which headers and values, tuned for a JSON API; we run it ONCE at start-up against a recording
 * response and replay the captured set on every request. Running helmet's middleware chain per request
 * is what makes the usual stack pay ~23 µs a request; a precomputed set costs one object spread.
 *
 * HSTS is added only when the request came over HTTPS: on plain HTTP it is ignored by browsers
 * (RFC 6797 §7.2) and a proxy in the middle could strip or forge it anyway.
 */
import type { PipelineReply, PipelineRequest } from "../stage-io.ts";
import helmet from "helmet";
import type { ResolvedConfig } from "../../config/resolve.ts";

type HeaderSet = Record<string, string>;


export function captureHelmetHeaders(): HeaderSet {
  const headers: HeaderSet = {};
  const res = {
    setHeader(name: string, value: string | number | readonly string[]) {
      headers[name.toLowerCase()] = Array.isArray(value) ? value.join(", ") : String(value);
    },
    removeHeader(name: string) {
      delete headers[name.toLowerCase()];
    },
  };
  const middleware = helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"], baseUri: ["'none'"], formAction: ["'none'"] },
    },
    strictTransportSecurity: false,
    referrerPolicy: { policy: "no-referrer" },
    crossOriginResourcePolicy: { policy: "same-origin" },
    xFrameOptions: { action: "deny" },
    // Headers that only mean something for HTML documents or for browsers long gone (IE8 downloads,
    // Flash cross-domain policies, the XSS auditor, DNS prefetching, process isolation of pages): a
    // JSON API gains nothing from them, and every header is paid for on every response.
    crossOriginOpenerPolicy: false,
    originAgentCluster: false,
    xDnsPrefetchControl: false,
    xDownloadOptions: false,
    xPermittedCrossDomainPolicies: false,
    xXssProtection: false,
  });
  // biome-ignore lint/suspicious/noExplicitAny: a recording stand-in for ServerResponse
  middleware({} as any, res as any, () => {});
  return headers;
}

export function hstsValue(hsts: ResolvedConfig["https"]["hsts"]): string | undefined {
  if (!hsts.enabled) return undefined;
  let value = `max-age=${hsts.maxAgeSeconds}`;
  if (hsts.includeSubDomains) value += "; includeSubDomains";
  if (hsts.preload) value += "; preload";
  return value;
}

/**
 * The security header set for a request's scheme, computed once. Also used by the transport stage,
 * which refuses some requests (406, a disallowed Host, plain HTTP, draining) before this stage runs:
 * CONTRACT.md wants the headers on every response, refusals included.
 */
export function createSecurityHeaders(config: ResolvedConfig): (scheme: "http" | "https") => HeaderSet {
  // Credentials and personal data travel on almost every response of this API; never let a shared
  // cache keep one.
  const plain: HeaderSet = Object.freeze({ ...captureHelmetHeaders(), "cache-control": "no-store" });
  const hsts = hstsValue(config.https.hsts);
  const secure: HeaderSet = Object.freeze(hsts ? { ...plain, "strict-transport-security": hsts } : plain);
  return (scheme) => (scheme === "https" ? secure : plain);
}

export function createHeadersStage(config: ResolvedConfig) {
  const headersFor = createSecurityHeaders(config);

  return function headers(request: PipelineRequest, reply: PipelineReply): boolean {
    reply.headers(headersFor(request.rampart.client.scheme));
    return true;
  };
}
