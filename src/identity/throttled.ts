/**
 * The one refusal of a throttled credential check (password, second factor, passkey, client secret):
 * counted in the metrics, audited, and a 429 with Retry-After in whole seconds, naming the back-off.
 */
import { RampartError } from "../core/errors.ts";
import type { PipelineRequest } from "../http/stage-io.ts";
import { type AuditInput, audit } from "./audit.ts";
import type { IdentityContext } from "./context.ts";

export interface ThrottledRefusal {
  /** From the throttle's gate. */
  retryAfterMs: number;
  event: AuditInput;
  /** What failed too often, for the detail; default "attempts". */
  what?: string;
  /** Headers beyond Retry-After (the OAuth token endpoint adds no-store). */
  headers?: Record<string, string>;
}

export async function refuseThrottled(identity: IdentityContext, request: PipelineRequest, refusal: ThrottledRefusal): Promise<never> {
  const seconds = Math.max(1, Math.ceil(refusal.retryAfterMs / 1000));
  identity.telemetry.loginFailure("throttled");
  await audit(identity, request, refusal.event);
  throw new RampartError("RAMPART_ERR_LOGIN_THROTTLED", {
    detail: `Too many failed ${refusal.what ?? "attempts"}; try again in ${seconds} s.`,
    headers: { "retry-after": String(seconds), ...refusal.headers },
    extensions: { policy: "login-backoff" },
  });
}
