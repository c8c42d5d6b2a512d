/**
 * Stage 5, authenticate: turns the request's credential into a principal, or refuses with 401.
 * Deny by default: a route is public only when its declaration says `auth: "public"`.
 * The credential verifiers come from the identity layer (`Authenticator`); this stage only decides
 * when one is needed and what a refusal looks like.
 */
import type { PipelineReply, PipelineRequest } from "../stage-io.ts";
import { RampartError } from "../../core/errors.ts";
import type { Principal } from "../request-state.ts";

export interface Authenticator {
  /** A principal, `undefined` when the request carries no credential; throws on a bad credential. */
  authenticate(request: PipelineRequest, reply: PipelineReply): Principal | undefined | Promise<Principal | undefined>;
  /**
   * Optional: the principal `authenticate` would produce for a bearer credential known from memory
   * alone (no signature check, no storage, nothing recorded), else undefined. Lets the rate-limit stages
   * decide per-IP and per-principal limits in one Redis round trip (stages/rate-limit.ts).
   */
  peek?(request: PipelineRequest): Principal | undefined;
}

export const BEARER_CHALLENGE = 'Bearer realm="rampart"';

export function isPublicRoute(request: PipelineRequest): boolean {
  // No matched route (a 404 on its way): nothing to protect, and a 404 reveals no more than a 401.
  if (request.routeOptions.url === undefined) return true;
  const config = request.routeOptions.config;
  // A route registered before Rampart was never checked (a typo in its declaration would go unseen):
  // it never serves.
  if (config.rampartChecked !== true) throw unchecked(request);
  return config.rampart?.auth === "public";
}

function unchecked(request: PipelineRequest): RampartError {
  return new RampartError("RAMPART_ERR_INTERNAL", {
    detail: "The server could not complete the request. Quote the requestId when reporting it.",
    reason: `route ${request.method} ${request.routeOptions.url} was registered before Rampart; register the rampart plugin before any route`,
  });
}

export function unauthenticated(): RampartError {
  return new RampartError("RAMPART_ERR_UNAUTHENTICATED", {
    detail: "This endpoint needs credentials: an Authorization: Bearer access token or API token.",
    headers: { "www-authenticate": BEARER_CHALLENGE },
  });
}

export function createAuthenticateStage(authenticator: Authenticator | undefined) {
  return function authenticate(request: PipelineRequest, reply: PipelineReply): boolean | Promise<boolean> {
    // Public routes never look at credentials: a stale token or a revoked HttpOnly cookie (which the
    // page cannot remove) must not stop anyone from logging in or refreshing, and a live session
    // cookie must not drag login into the CSRF check.
    if (isPublicRoute(request)) return true;
    if (!authenticator) throw unauthenticated();
    const result = authenticator.authenticate(request, reply);
    // Only the uncached path pays for a closure; a cached credential settles synchronously.
    return result instanceof Promise ? result.then((principal) => settle(request, principal)) : settle(request, result);
  };
}

function settle(request: PipelineRequest, principal: Principal | undefined): boolean {
  if (!principal) throw unauthenticated();
  request.rampart.principal = principal;
  return true;
}
