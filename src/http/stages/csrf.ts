/**
 * Stage 6, CSRF: only for requests authenticated by the session cookie with an unsafe method. The
 * request must come from our own origin or an allowlisted one (Origin, else Sec-Fetch-Site), and
 * echo the session's CSRF token in `X-CSRF-Token`. Anything else is 403 before the handler runs.
 */
import type { PipelineReply, PipelineRequest } from "../stage-io.ts";
import { RampartError } from "../../core/errors.ts";
import type { CsrfSigner } from "../../identity/csrf.ts";
import { CSRF_HEADER } from "../../identity/csrf.ts";

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

export function createCsrfStage(signer: CsrfSigner, allowedOrigins: readonly string[]) {
  const allowed = new Set(allowedOrigins.filter((o) => o !== "*"));
  const refuse = (reason: string) =>
    new RampartError("RAMPART_ERR_CSRF", {
      detail: "Cookie-authenticated requests that change state must come from an allowed origin and carry the X-CSRF-Token header.",
      reason,
    });

  return function csrf(request: PipelineRequest, _reply: PipelineReply): boolean {
    const principal = request.rampart.principal;
    if (principal?.via !== "cookie" || SAFE_METHODS.has(request.method)) return true;
    const origin = request.headers.origin;
    if (origin !== undefined) {
      const own = `${request.rampart.client.scheme}://${request.headers.host}`;
      if (origin !== own && !allowed.has(origin)) throw refuse(`cross-origin request from ${origin}`);
    } else {
      const site = request.headers["sec-fetch-site"];
      if (site !== undefined && site !== "same-origin" && site !== "none") throw refuse(`Sec-Fetch-Site ${site}`);
    }
    const token = request.headers[CSRF_HEADER];
    if (!principal.sessionId || !signer.verify(principal.sessionId, typeof token === "string" ? token : undefined)) {
      throw refuse("missing or invalid CSRF token");
    }
    return true;
  };
}
