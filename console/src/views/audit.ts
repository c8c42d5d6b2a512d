/** The audit log (audit:read): newest first, filtered by type and time range, 50 events a page. */
import type { View } from "../context.ts";
import { fill, h, uid } from "../dom.ts";
import { act, button, clearError, dataTable, errorSlot, field, form, pageHeading, showMessage, time } from "../ui.ts";

interface AuditEvent {
  id: string;
  type: string;
  at: string;
  actor_id: string | null;
  subject: string | null;
  ip: string | null;
  request_id: string | null;
  details: Record<string, unknown>;
}

const PAGE_SIZE = 50;
const COMMON_TYPES = [
  "login.success",
  "login.failure",
  "login.throttled",
  "logout",
  "mfa.success",
  "mfa.failure",
  "password.changed",
  "token.created",
  "token.deleted",
  "admin.user.updated",
  "admin.role.updated",
  "authz.denied",
  "client.created",
  "client.deleted",
  "refresh.reuse_detected",
];

/** `datetime-local` values are the reader's local time; the API wants ISO UTC. */
function toIso(local: string): string | undefined {
  if (!local) return undefined;
  const date = new Date(local);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

function formatValue(value: unknown): string {
  if (Array.isArray(value)) return value.map(formatValue).join(",");
  if (value && typeof value === "object") return `{${formatDetails(value as Record<string, unknown>)}}`;
  return String(value);
}

/** Details as compact `key=value` pairs. */
export function formatDetails(details: Record<string, unknown>): string {
  return Object.entries(details)
    .map(([key, value]) => `${key}=${formatValue(value)}`)
    .join(" ");
}

export const auditView: View = (root, context) => {
  const state = { type: "", since: undefined as string | undefined, until: undefined as string | undefined, offset: 0 };
  const seenTypes = new Set(COMMON_TYPES);
  const datalist = h("datalist", { id: uid("audit-types") });
  const type = h("input", { type: "text", name: "type", list: datalist.id, autocomplete: "off", spellcheck: "false" });
  const from = h("input", { type: "datetime-local", name: "since" });
  const to = h("input", { type: "datetime-local", name: "until" });
  const error = errorSlot();
  const list = h("div", { class: "list" });
  const newer = button("Newer", () => void go(state.offset - PAGE_SIZE, newer, older));
  const older = button("Older", () => void go(state.offset + PAGE_SIZE, older, newer));
  const position = h("span", { class: "muted" });

  function updateDatalist(events: AuditEvent[]): void {
    for (const event of events) seenTypes.add(event.type);
    fill(datalist, [...seenTypes].sort().map((t) => h("option", { value: t })));
  }

  async function load(): Promise<boolean> {
    return act(context.notices, error, undefined, async () => {
      const events = await context.api.get<AuditEvent[]>("/admin/audit", {
        type: state.type,
        since: state.since,
        until: state.until,
        limit: PAGE_SIZE,
        offset: state.offset || undefined,
      });
      updateDatalist(events);
      fill(list, auditTable(events));
      newer.disabled = state.offset === 0;
      older.disabled = events.length < PAGE_SIZE;
      position.textContent = events.length ? `Events ${state.offset + 1}–${state.offset + events.length}, newest first.` : "";
    });
  }

  /** Pages; if the pressed button ends up disabled (first or last page), focus moves to the other one. */
  async function go(offset: number, pressed: HTMLButtonElement, other: HTMLButtonElement): Promise<void> {
    const previous = state.offset;
    state.offset = Math.max(0, offset);
    if (!(await load())) state.offset = previous;
    if (pressed.disabled && !other.disabled) other.focus();
  }

  function apply(): void {
    const since = toIso(from.value);
    const until = toIso(to.value);
    clearError(error);
    if (since && until && since > until) {
      showMessage(context.notices, error, "“From” must be earlier than “To”.");
      return;
    }
    Object.assign(state, { type: type.value.trim(), since, until, offset: 0 });
    void load();
  }

  const filter = form(
    "Filter the audit log",
    apply,
    h("div", { class: "filters" }, field("Event type", type), field("From", from), field("To", to)),
    datalist,
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Apply filter")),
  );
  newer.disabled = older.disabled = true;
  fill(root, pageHeading("Audit log"), filter, error, list, h("div", { class: "pager" }, position, newer, older));
  void load();
  return undefined;
};

function auditTable(events: AuditEvent[]): HTMLElement {
  return dataTable(
    "Audit events",
    [
      { label: "Time", cell: (e) => time(e.at, "—", true) },
      { label: "Type", cell: (e) => h("code", null, e.type) },
      { label: "Actor", cell: (e) => e.actor_id ?? "—" },
      { label: "Subject", cell: (e) => e.subject ?? "—" },
      { label: "IP", cell: (e) => e.ip ?? "—" },
      { label: "Details", cell: (e) => h("span", { class: "details" }, formatDetails(e.details)) },
    ],
    events,
    "No events match.",
  );
}
