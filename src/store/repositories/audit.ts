/** Append-only security audit log. `details` is a JSON object; never put secrets or tokens in it. */
import { randomUUID } from "node:crypto";
import type { Kysely, Selectable } from "kysely";
import type { AuditEventsTable, Database } from "../schema.ts";
import { type RepositoryOptions, clampLimit, clampOffset, fromIso, parseObject, systemClock, toIso } from "./shared.ts";

export interface AuditEvent {
  id: string;
  type: string;
  at: Date;
  actorId: string | null;
  subject: string | null;
  ip: string | null;
  requestId: string | null;
  details: Record<string, unknown>;
}

export interface NewAuditEvent {
  type: string;
  actorId?: string | null;
  subject?: string | null;
  ip?: string | null;
  requestId?: string | null;
  details?: Record<string, unknown>;
  /** Default: the repository clock. */
  at?: Date;
}

export interface AuditQuery {
  type?: string;
  /** Events at or after this instant. */
  since?: Date;
  /** Events before this instant. */
  until?: Date;
  /** Default 100, clamped to 1..500. */
  limit?: number;
  /** Events to skip, newest first (paging). */
  offset?: number;
}

export interface AuditRepository {
  record(event: NewAuditEvent): Promise<AuditEvent>;
  /** Newest first. */
  query(filter?: AuditQuery): Promise<AuditEvent[]>;
}

export function createAuditRepository(db: Kysely<Database>, options: RepositoryOptions = {}): AuditRepository {
  const clock = options.clock ?? systemClock;

  return {
    async record(event) {
      const row = {
        id: randomUUID(),
        type: event.type,
        at: toIso(event.at ?? clock()),
        actor_id: event.actorId ?? null,
        subject: event.subject ?? null,
        ip: event.ip ?? null,
        request_id: event.requestId ?? null,
        details: JSON.stringify(event.details ?? {}),
      };
      await db.insertInto("audit_events").values(row).execute();
      return toAuditEvent(row);
    },

    async query({ type, since, until, limit, offset } = {}) {
      let query = db.selectFrom("audit_events").selectAll();
      if (type !== undefined) query = query.where("type", "=", type);
      if (since !== undefined) query = query.where("at", ">=", toIso(since));
      if (until !== undefined) query = query.where("at", "<", toIso(until));
      const rows = await query
        .orderBy("at", "desc")
        .orderBy("id", "desc")
        .limit(clampLimit(limit, 100))
        .offset(clampOffset(offset))
        .execute();
      return rows.map(toAuditEvent);
    },
  };
}

function toAuditEvent(row: Selectable<AuditEventsTable>): AuditEvent {
  return {
    id: row.id,
    type: row.type,
    at: fromIso(row.at),
    actorId: row.actor_id,
    subject: row.subject,
    ip: row.ip,
    requestId: row.request_id,
    details: parseObject(row.details, "audit_events.details"),
  };
}
