/** The signed-in user's sessions: where they are signed in, and revoking any of them (this one = signing out). */
import type { View } from "../context.ts";
import { fill, h } from "../dom.ts";
import { act, confirmAction, dataTable, errorSlot, pageHeading, refocus, time } from "../ui.ts";

interface Session {
  id: string;
  created_at: string;
  last_active_at: string | null;
  expires_at: string | null;
  current: boolean;
}

export const sessionsView: View = (root, context) => {
  const list = h("div", { class: "list" });
  const error = errorSlot();

  async function load(): Promise<void> {
    const ok = await act(context.notices, error, undefined, async () => {
      const sessions = await context.api.get<Session[]>("/auth/sessions");
      fill(list, sessionsTable(sessions, revokeButton));
    });
    if (!ok) fill(list);
  }

  function revokeButton(session: Session): HTMLElement {
    const revoke = () => void confirmRevoke(session);
    return h("button", { type: "button", class: "danger", "aria-label": `Revoke session ${session.created_at}`, on: { click: revoke } }, "Revoke");
  }

  async function confirmRevoke(session: Session): Promise<void> {
    const detail = session.current
      ? "This is the session you are using now: you will be signed out."
      : "That browser or device is signed out at once.";
    if (!(await confirmAction("Revoke this session?", detail))) return;
    const done = await act(context.notices, error, undefined, () => context.api.send("DELETE", `/auth/sessions/${encodeURIComponent(session.id)}`));
    if (!done) return;
    if (session.current) {
      context.endSession("You revoked this session and are signed out.");
      return;
    }
    context.notices.success("Session revoked.");
    await load();
    refocus(root, "");
  }

  fill(root, pageHeading("My sessions"), h("p", { class: "muted" }, "Everywhere you are signed in: each browser or app that holds a session."), error, list);
  void load();
  return undefined;
};

function sessionsTable(sessions: Session[], actions: (session: Session) => HTMLElement): HTMLElement {
  return dataTable(
    "Your sessions",
    [
      { label: "Started", cell: (s) => [time(s.created_at), s.current ? h("strong", { class: "current" }, " (this session)") : null] },
      { label: "Last active", cell: (s) => time(s.last_active_at) },
      { label: "Expires", cell: (s) => time(s.expires_at) },
      { label: "Actions", cell: actions },
    ],
    sessions,
    "No sessions.",
  );
}
