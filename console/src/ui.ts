/** Building blocks the views share: labelled fields, tables, the confirm dialog, one-time secrets, dates. */
import { ApiError } from "./api.ts";
import type { Notices } from "./context.ts";
import { type Child, fill, h, uid } from "./dom.ts";

type Control = HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement;

/** A label and its control (label/for), with an optional hint tied to the control by aria-describedby. */
export function field(label: string, control: Control, hint?: string): HTMLElement {
  control.id ||= uid("field");
  const hintEl = hint ? h("p", { class: "hint", id: uid("hint") }, hint) : undefined;
  if (hintEl) control.setAttribute("aria-describedby", hintEl.id);
  return h("div", { class: "field" }, h("label", { for: control.id }, label), control, hintEl);
}

export function pageHeading(title: string): HTMLHeadingElement {
  // tabindex=-1: focus moves here after each navigation, so keyboard and screen-reader users start at the top.
  return h("h1", { tabindex: -1 }, title);
}

export function button(label: string, onClick: () => void, attrs: Record<string, string | boolean> = {}): HTMLButtonElement {
  return h("button", { type: "button", ...attrs, on: { click: () => onClick() } }, label);
}

/**
 * A form that never submits natively (the CSP's form-action 'none'); `onSubmit` does the work.
 * `label` names it, unless a labelled section around it already does.
 */
export function form(label: string | undefined, onSubmit: () => void, ...children: Child[]): HTMLFormElement {
  const submit = (event: Event) => {
    event.preventDefault();
    onSubmit();
  };
  return h("form", { "aria-label": label, on: { submit } }, ...children);
}

export interface Column<T> {
  label: string;
  cell(row: T): Child;
}

/** A table with a caption and column headers; each cell names its column for the stacked layout on small screens. */
export function dataTable<T>(caption: string, columns: Column<T>[], rows: readonly T[], empty: string): HTMLElement {
  const head = h("tr", null, columns.map((c) => h("th", { scope: "col" }, c.label)));
  const body = rows.length
    ? rows.map((row) => h("tr", null, columns.map((c) => h("td", { "data-label": c.label }, c.cell(row)))))
    : h("tr", null, h("td", { colspan: columns.length, class: "empty" }, empty));
  return h("div", { class: "table-wrap" }, h("table", null, h("caption", null, caption), h("thead", null, head), h("tbody", null, body)));
}

/** The error shown next to an action; the same text also goes to the page's alert region. */
export function errorSlot(): HTMLParagraphElement {
  return h("p", { class: "error", hidden: true });
}

export function clearError(slot: HTMLElement): void {
  slot.hidden = true;
  slot.textContent = "";
}

export function showMessage(notices: Notices, slot: HTMLElement, message: string): void {
  slot.textContent = message;
  slot.hidden = false;
  notices.error(message);
}

export function showError(notices: Notices, slot: HTMLElement, error: unknown): void {
  // The session ended and the sign-in form is already shown with its own message.
  if (error instanceof ApiError && error.sessionEnded) return;
  showMessage(notices, slot, error instanceof ApiError ? error.message : "Something went wrong; try again.");
}

/** Runs an API action with its button disabled, clearing and then showing its error. Resolves true on success. */
export async function act(notices: Notices, slot: HTMLElement, control: HTMLButtonElement | undefined, action: () => Promise<void>): Promise<boolean> {
  clearError(slot);
  notices.clearAlert();
  if (control) control.disabled = true;
  try {
    await action();
    return true;
  } catch (error) {
    showError(notices, slot, error);
    return false;
  } finally {
    if (control) control.disabled = false;
  }
}

/**
 * Asks before a destructive action, in a modal <dialog>: focus starts on Cancel, Escape cancels.
 * Resolves true only when Confirm is pressed.
 */
export function confirmAction(question: string, detail: string): Promise<boolean> {
  const titleId = uid("dialog-title");
  const detailId = uid("dialog-detail");
  const dialog = h("dialog", { class: "confirm", "aria-labelledby": titleId, "aria-describedby": detailId });
  const cancel = button("Cancel", () => dialog.close("cancel"));
  const confirm = button("Confirm", () => dialog.close("confirm"), { class: "danger" });
  fill(dialog, h("h2", { id: titleId }, question), h("p", { id: detailId }, detail), h("div", { class: "actions" }, cancel, confirm));
  document.body.append(dialog);
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => {
      dialog.remove();
      resolve(dialog.returnValue === "confirm");
    });
    dialog.showModal();
    cancel.focus();
  });
}

/** Cancels any open confirmation (the user navigated away from the page that asked). */
export function closeDialogs(): void {
  for (const dialog of document.querySelectorAll<HTMLDialogElement>("dialog[open]")) dialog.close("cancel");
}

/** Moves focus to the button now carrying `label` (a list was re-rendered under it), else to the page heading. */
export function refocus(root: HTMLElement, label: string): void {
  const match = [...root.querySelectorAll("button")].find((b) => b.getAttribute("aria-label") === label);
  (match ?? root.querySelector<HTMLElement>("h1"))?.focus();
}

/**
 * A secret the server shows only once (an API token, a client secret): clearly marked, with Copy
 * buttons. The caller drops it (and this box) when the user is done or leaves the page.
 */
export function secretBox(notices: Notices, label: string, intro: string, values: [string, string][], onDone: () => void): HTMLElement {
  const copy = (name: string, value: string) => async () => {
    try {
      await navigator.clipboard.writeText(value);
      notices.success(`${name} copied.`);
    } catch {
      // Clipboard access can be refused; the value stays on screen to copy by hand.
    }
  };
  // The spaces keep the secret a separate word in the box's text (copying the whole box, screen readers).
  const rows = values.map(([name, value]) =>
    h(
      "div",
      { class: "secret-row" },
      h("span", { class: "secret-name" }, name),
      " ",
      h("code", { class: "secret" }, value),
      " ",
      h("button", { type: "button", "aria-label": values.length > 1 ? `Copy ${name.toLowerCase()}` : "Copy", on: { click: copy(name, value) } }, "Copy"),
    ),
  );
  return h(
    "section",
    { role: "region", "aria-label": label, class: "secret-box" },
    h("p", { class: "secret-warning" }, h("strong", null, intro)),
    rows,
    button("Done", onDone),
  );
}

const DATE_TIME = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const PRECISE = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });

/** A <time> for an ISO timestamp from the API, in the reader's locale (`precise`: with seconds); `none` when absent. */
export function time(iso: string | null | undefined, none = "—", precise = false): Child {
  if (!iso) return none;
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return h("time", { datetime: iso }, (precise ? PRECISE : DATE_TIME).format(date));
}

/** Splits a list typed by hand: spaces, commas or new lines between items. */
export function splitList(text: string): string[] {
  return [...new Set(text.split(/[\s,]+/).filter(Boolean))];
}

export function tagList(items: readonly string[], none = "none"): Child {
  if (!items.length) return h("span", { class: "muted" }, none);
  return h("ul", { class: "tags" }, items.map((item) => h("li", null, item)));
}
