/**
 * Stage 8, authorize: the route's declared permissions must all be held by the principal (its roles'
 * grants narrowed by token scopes), decided by core/authz's `requirePermissions`. A permission the
 * owner holds but the token's scopes exclude is `insufficient_scope` (RFC 6750 §3.1); one the owner
 * lacks is a plain 403.
 */
import type { PipelineReply, PipelineRequest } from "../stage-io.ts";
import { requirePermissions } from "../../core/authz/index.ts";
import { RampartError } from "../../core/errors.ts";
import { BEARER_CHALLENGE } from "./authenticate.ts";

export function createAuthorizeStage(onDenied?: (request: PipelineRequest, error: RampartError) => void) {
  return function authorize(request: PipelineRequest, _reply: PipelineReply): boolean {
    const required = request.routeOptions.config?.rampart?.permissions;
    const principal = request.rampart.principal;
    if (!required || required.length === 0 || !principal) return true;
    try {
      requirePermissions({ id: principal.userId, permissions: principal.permissions }, required);
      return true;
    } catch (error) {
      if (!(error instanceof RampartError)) throw error;
      onDenied?.(request, error);
      if (error.code === "RAMPART_ERR_INSUFFICIENT_SCOPE") {
        const scope = required.filter((p) => !principal.permissions.has(p)).join(" ");
        throw new RampartError("RAMPART_ERR_INSUFFICIENT_SCOPE", {
          detail: `This token's scopes do not include ${scope}.`,
          reason: error.reason ?? "insufficient scope",
          headers: { "www-authenticate": `${BEARER_CHALLENGE}, error="insufficient_scope", scope="${scope}"` },
        });
      }
      throw new RampartError("RAMPART_ERR_FORBIDDEN", { detail: "You do not have permission to do this.", reason: error.reason ?? "forbidden" });
    }
  };
}
