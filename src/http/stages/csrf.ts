/**
 * Stage 6, CSRF: only for requests authenticated by the session cookie with an unsafe method. The
 * request must come from our own origin or an allowlisted one (Origin, else Sec-Fetch-Site, else the
 * origin of Referer; a request with none of the three is refused), and echo the session's CSRF token
 * in `X-CSRF-Token`. Anything else is 403 before the handler runs.
 */
import type { PipelineReply, PipelineRequest } from "../stage-io.ts";
import { RampartError } from "../../core/errors.ts";
import type { CsrfSigner } from "../../identity/csrf.ts";
import { CSRF_HEADER } from "../../identity/csrf.ts";

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

const refuse = (reason: string) =>
  new RampartError("RAMPART_ERR_CSRF", {
    detail: "Cookie-authenticated requests that change state must come from an allowed origin and carry the X-CSRF-Token header.",
    reason,
  });

/**
 * Where an unsafe cookie-carrying request comes from: our own origin (the scheme and Host it was
 * addressed to) or an allowlisted one, told by Origin, else Sec-Fetch-Site, else the origin of Referer.
 * Also used by the cookie refresh route, which authenticates by the refresh cookie outside this stage.
 * @throws RampartError RAMPART_ERR_CSRF
 */
export function assertRequestProvenance(request: PipelineRequest, allowed: ReadonlySet<string>): void {
  const permitted = (origin: string) => origin === `${request.rampart.client.scheme}://${request.headers.host}` || allowed.has(origin);
  const origin = request.headers.origin;
  const site = request.headers["sec-fetch-site"];
  const referer = request.headers.referer;
  if (origin !== undefined) {
    if (!permitted(origin)) throw refuse(`cross-origin request from ${origin}`);
  } else if (site !== undefined) {
    if (site !== "same-origin" && site !== "none") throw refuse(`Sec-Fetch-Site ${site}`);
  } else if (referer !== undefined) {
    // Only a Referer (older browsers, some proxies strip Origin): its origin is checked like Origin.
    // Unparseable, opaque ("null") or foreign: refused.
    const from = refererOrigin(referer);
    if (from === undefined || !permitted(from)) throw refuse("cross-origin or malformed Referer");
  } else {
    // OWASP CSRF cheat sheet: when neither Origin nor Referer (nor Fetch Metadata) says where an unsafe
    // request comes from, block it. Every browser sends at least one of them on a cross-site POST, so
    // only a request that had them stripped lands here; the CSRF token alone is then not enough.
    throw refuse("no Origin, Referer or Sec-Fetch-Site");
  }
}

export function allowedOriginSet(origins: readonly string[]): ReadonlySet<string> {
  return new Set(origins.filter((o) => o !== "*"));
}

export function createCsrfStage(signer: CsrfSigner, allowedOrigins: readonly string[]) {
  const allowed = allowedOriginSet(allowedOrigins);

  return function csrf(request: PipelineRequest, _reply: PipelineReply): boolean {
    const principal = request.rampart.principal;
    if (principal?.via !== "cookie" || SAFE_METHODS.has(request.method)) return true;
    assertRequestProvenance(request, allowed);
    const token = request.headers[CSRF_HEADER];
    if (!principal.sessionId || !signer.verify(principal.sessionId, typeof token === "string" ? token : undefined)) {
      throw refuse("missing or invalid CSRF token");
    }
    return true;
  };
}

/** The serialized origin of an absolute http(s) Referer, or undefined. */
function refererOrigin(referer: string): string | undefined {
  if (!URL.canParse(referer)) return undefined;
  const url = new URL(referer);
  return url.protocol === "http:" || url.protocol === "https:" ? url.origin : undefined;
}
