/** Security events: one row in the audit table and one log line, never a secret in either. */
import type { PipelineRequest } from "../http/stage-io.ts";
import type { IdentityContext } from "./context.ts";

export interface AuditInput {
  type: string;
  actorId?: string | null;
  subject?: string | null;
  details?: Record<string, unknown>;
}

export async function audit(identity: IdentityContext, request: PipelineRequest | undefined, event: AuditInput): Promise<void> {
  const record = {
    type: event.type,
    actorId: event.actorId ?? request?.rampart?.principal?.userId ?? null,
    subject: event.subject ?? null,
    ip: request?.rampart?.client.ip ?? null,
    requestId: request ? String(request.id) : null,
    details: event.details ?? {},
  };
  (request?.log ?? identity.logger).info({ audit: record }, `security event ${event.type}`);
  try {
    await identity.repos.audit.record(record);
  } catch (error) {
    identity.logger.error({ err: error, type: event.type }, "could not write audit event");
  }
}
