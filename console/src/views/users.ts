/** Users (users:admin): search, page through, disable or enable (after confirmation), edit roles. */
import type { View, ViewContext } from "../context.ts";
import { fill, h, uid } from "../dom.ts";
import { act, button, confirmAction, dataTable, errorSlot, field, form, pageHeading, refocus, splitList, tagList, time } from "../ui.ts";

interface User {
  id: string;
  email: string;
  roles: string[];
  disabled: boolean;
  created_at: string;
  updated_at: string;
}

interface UserPage {
  items: User[];
  limit: number;
  offset: number;
}

const PAGE_SIZE = 50;

export const usersView: View = (root, context) => {
  const state = { query: "", offset: 0, roleNames: undefined as string[] | undefined };
  const search = h("input", { type: "search", name: "q", autocomplete: "off", spellcheck: "false" });
  const editor = h("div");
  const error = errorSlot();
  const list = h("div", { class: "list" });

  const previous = button("Previous page", () => void go(state.offset - PAGE_SIZE, previous, next));
  const next = button("Next page", () => void go(state.offset + PAGE_SIZE, next, previous));
  const position = h("span", { class: "muted" });

  async function load(): Promise<boolean> {
    return act(context.notices, error, undefined, async () => {
      const page = await context.api.get<UserPage>("/admin/users", { limit: PAGE_SIZE, offset: state.offset, q: state.query });
      fill(list, usersTable(page.items, rowActions));
      previous.disabled = page.offset === 0;
      next.disabled = page.items.length < PAGE_SIZE;
      position.textContent = page.items.length ? `Users ${page.offset + 1}–${page.offset + page.items.length}.` : "";
    });
  }

  /** Pages; if the pressed button ends up disabled (first or last page), focus moves to the other one. */
  async function go(offset: number, pressed: HTMLButtonElement, other: HTMLButtonElement): Promise<void> {
    const before = state.offset;
    state.offset = Math.max(0, offset);
    if (!(await load())) state.offset = before;
    if (pressed.disabled && !other.disabled) other.focus();
  }

  function rowActions(user: User): HTMLElement {
    const toggle = user.disabled ? "Enable" : "Disable";
    return h(
      "div",
      { class: "row-actions" },
      button("Edit roles", () => void openEditor(user), { "aria-label": `Edit roles of ${user.email}` }),
      button(toggle, () => void setDisabled(user, !user.disabled), { "aria-label": `${toggle} ${user.email}`, class: user.disabled ? "" : "danger" }),
    );
  }

  async function setDisabled(user: User, disabled: boolean): Promise<void> {
    const question = disabled ? `Disable ${user.email}?` : `Enable ${user.email}?`;
    const detail = disabled
      ? "They are signed out everywhere at once, and their API tokens stop working."
      : "They will be able to sign in again. Their old sessions and tokens stay revoked.";
    if (!(await confirmAction(question, detail))) return;
    const done = await act(context.notices, error, undefined, async () => {
      await context.api.send("PATCH", `/admin/users/${encodeURIComponent(user.id)}`, { disabled });
    });
    if (!done) return;
    context.notices.success(`User ${user.email} ${disabled ? "disabled" : "enabled"}.`);
    await load();
    refocus(root, `${disabled ? "Enable" : "Disable"} ${user.email}`);
  }

  async function roleNames(): Promise<string[] | undefined> {
    if (state.roleNames || !context.can("roles:admin")) return state.roleNames;
    try {
      state.roleNames = (await context.api.get<{ name: string }[]>("/admin/roles")).map((r) => r.name);
    } catch {
      // Without the role list the editor falls back to a text field.
    }
    return state.roleNames;
  }

  async function openEditor(user: User): Promise<void> {
    const names = await roleNames();
    const close = () => {
      fill(editor);
      refocus(root, `Edit roles of ${user.email}`);
    };
    const saved = async () => {
      context.notices.success(`Roles of ${user.email} saved.`);
      fill(editor);
      await load();
      refocus(root, `Edit roles of ${user.email}`);
    };
    fill(editor, roleEditor(context, user, names, saved, close));
    editor.querySelector<HTMLElement>("input")?.focus();
  }

  const searchForm = form(
    "User search",
    () => {
      state.query = search.value.trim();
      state.offset = 0;
      void load();
    },
    field("Search users", search, "Part of an email address."),
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Search")),
  );
  searchForm.setAttribute("role", "search");
  previous.disabled = next.disabled = true;
  fill(root, pageHeading("Users"), searchForm, editor, error, list, h("div", { class: "pager" }, position, previous, next));
  void load();
  return undefined;
};

function usersTable(users: User[], actions: (user: User) => HTMLElement): HTMLElement {
  return dataTable(
    "Users",
    [
      { label: "Email", cell: (u) => h("span", { class: "email" }, u.email) },
      { label: "Roles", cell: (u) => tagList(u.roles) },
      { label: "Status", cell: (u) => (u.disabled ? h("span", { class: "badge off" }, "Disabled") : h("span", { class: "badge on" }, "Active")) },
      { label: "Created", cell: (u) => time(u.created_at) },
      { label: "Actions", cell: actions },
    ],
    users,
    "No users match.",
  );
}

/** Checkboxes of the role names when the caller may read roles, else a text field of names. */
function roleEditor(context: ViewContext, user: User, names: string[] | undefined, onSaved: () => Promise<void>, onClose: () => void): HTMLElement {
  const error = errorSlot();
  const save = h("button", { type: "submit", class: "primary" }, "Save roles");
  let chosen: () => string[];
  let controls: HTMLElement;
  if (names) {
    const all = [...new Set([...names, ...user.roles])];
    const boxes = all.map((name) => h("input", { type: "checkbox", name: "roles", value: name, checked: user.roles.includes(name) }));
    controls = h(
      "fieldset",
      { class: "checks" },
      h("legend", null, "Roles"),
      boxes.map((box) => h("label", { class: "check" }, box, box.value)),
    );
    chosen = () => boxes.filter((b) => b.checked).map((b) => b.value);
  } else {
    const text = h("input", { type: "text", name: "roles", value: user.roles.join(" "), autocomplete: "off", spellcheck: "false" });
    controls = field("Roles", text, "Role names, separated by spaces or commas.");
    chosen = () => splitList(text.value);
  }
  const submit = async () => {
    const done = await act(context.notices, error, save, async () => {
      await context.api.send("PATCH", `/admin/users/${encodeURIComponent(user.id)}`, { roles: chosen() });
    });
    if (done) await onSaved();
  };
  const titleId = uid("roles-title");
  return h(
    "section",
    { class: "card editor", "aria-labelledby": titleId },
    h("h2", { id: titleId }, `Roles of ${user.email}`),
    form(undefined, () => void submit(), controls, error, h("div", { class: "actions" }, save, button("Close", onClose))),
  );
}
