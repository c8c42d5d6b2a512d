/** Roles (roles:admin): the list, and one form that creates a role or replaces an existing role's permissions. */
import type { View } from "../context.ts";
import { fill, h } from "../dom.ts";
import { act, button, dataTable, errorSlot, field, form, pageHeading, refocus, splitList, tagList } from "../ui.ts";

interface Role {
  name: string;
  permissions: string[];
  builtin: boolean;
  mfa: "required" | null;
}

export const rolesView: View = (root, context) => {
  const list = h("div", { class: "list" });
  const listError = errorSlot();
  const name = h("input", { type: "text", name: "name", required: true, pattern: "[a-z][a-z0-9_\\-]{0,63}", autocomplete: "off", spellcheck: "false" });
  const permissions = h("textarea", { name: "permissions", rows: 5, spellcheck: "false" });
  const mfa = h("input", { type: "checkbox", name: "mfa" });
  const formError = errorSlot();
  const save = h("button", { type: "submit", class: "primary" }, "Save role");

  async function load(): Promise<void> {
    const ok = await act(context.notices, listError, undefined, async () => {
      const roles = await context.api.get<Role[]>("/admin/roles");
      fill(list, rolesTable(roles, (role) => button("Edit", () => edit(role), { "aria-label": `Edit role ${role.name}` })));
    });
    if (!ok) fill(list);
  }

  function edit(role: Role): void {
    name.value = role.name;
    permissions.value = role.permissions.join("\n");
    mfa.checked = role.mfa === "required";
    permissions.focus();
  }

  function clear(): void {
    name.value = permissions.value = "";
    mfa.checked = false;
    name.focus();
  }

  async function submit(): Promise<void> {
    const roleName = name.value.trim();
    const done = await act(context.notices, formError, save, async () => {
      await context.api.send("PUT", `/admin/roles/${encodeURIComponent(roleName)}`, {
        permissions: splitList(permissions.value),
        mfa: mfa.checked ? "required" : null,
      });
    });
    if (!done) return;
    context.notices.success(`Role ${roleName} saved.`);
    await load();
    refocus(root, `Edit role ${roleName}`);
  }

  const editor = h(
    "section",
    { class: "card", "aria-labelledby": "role-form-title" },
    h("h2", { id: "role-form-title" }, "Create or change a role"),
    h("p", { class: "muted" }, "Saving replaces the role's permissions. A new name creates a new role."),
    form(
      undefined,
      () => void submit(),
      field("Role name", name, "Lower-case letters, digits, - and _, starting with a letter."),
      field("Permissions", permissions, "One per line, or separated by spaces or commas, e.g. notes:read or notes:*."),
      h("div", { class: "field" }, h("label", { class: "check" }, mfa, "Require a second factor")),
      formError,
      h("div", { class: "actions" }, save, button("Clear form", clear)),
    ),
  );
  fill(root, pageHeading("Roles"), listError, list, editor);
  void load();
  return undefined;
};

function rolesTable(roles: Role[], actions: (role: Role) => HTMLElement): HTMLElement {
  return dataTable(
    "Roles",
    [
      { label: "Name", cell: (r) => h("strong", null, r.name) },
      { label: "Permissions", cell: (r) => tagList(r.permissions) },
      { label: "Second factor", cell: (r) => (r.mfa === "required" ? "Required" : "Optional") },
      { label: "Kind", cell: (r) => (r.builtin ? "Built-in" : "Custom") },
      { label: "Actions", cell: actions },
    ],
    roles,
    "No roles.",
  );
}
