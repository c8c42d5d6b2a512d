/** The signed-in user's API tokens: create (the secret is shown once), list, revoke. */
import type { View } from "../context.ts";
import { fill, h } from "../dom.ts";
import { act, confirmAction, dataTable, errorSlot, field, form, pageHeading, refocus, secretBox, splitList, tagList, time } from "../ui.ts";

interface ApiToken {
  id: string;
  name: string;
  prefix: string;
  scopes: string[];
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
}

interface CreatedToken {
  id: string;
  name: string;
  token: string;
  scopes: string[];
  expires_at: string | null;
}

export const tokensView: View = (root, context) => {
  const list = h("div", { class: "list" });
  const listError = errorSlot();
  const secretSlot = h("div");
  const name = h("input", { type: "text", name: "name", required: true, maxlength: 100, autocomplete: "off" });
  const scopes = h("input", { type: "text", name: "scopes", required: true, autocomplete: "off", spellcheck: "false" });
  const days = h("input", { type: "number", name: "expires_in_days", min: 1, step: 1, inputmode: "numeric" });
  const formError = errorSlot();
  const create = h("button", { type: "submit", class: "primary" }, "Create token");

  async function load(): Promise<void> {
    const ok = await act(context.notices, listError, undefined, async () => {
      const tokens = await context.api.get<ApiToken[]>("/auth/tokens");
      fill(list, tokensTable(tokens, revokeButton));
    });
    if (!ok) fill(list);
  }

  function revokeButton(token: ApiToken): HTMLElement {
    const revoke = () => void confirmRevoke(token);
    return h("button", { type: "button", class: "danger", "aria-label": `Revoke token ${token.name}`, on: { click: revoke } }, "Revoke");
  }

  async function confirmRevoke(token: ApiToken): Promise<void> {
    if (!(await confirmAction(`Revoke token ${token.name}?`, "Anything using this token stops working at once. This cannot be undone."))) return;
    const done = await act(context.notices, listError, undefined, () => context.api.send("DELETE", `/auth/tokens/${encodeURIComponent(token.id)}`));
    if (!done) return;
    context.notices.success(`Token ${token.name} revoked.`);
    await load();
    refocus(root, "");
  }

  // The secret lives only in this box: "Done", or leaving the page, drops it.
  function showSecret(created: CreatedToken): void {
    const box = secretBox(context.notices, "New token", "Copy this token now. It will not be shown again.", [["Token", created.token]], () => {
      fill(secretSlot);
      name.focus();
    });
    fill(secretSlot, box);
    box.querySelector("button")?.focus();
  }

  async function submit(): Promise<void> {
    const expires = days.value.trim();
    let created: CreatedToken | undefined;
    const done = await act(context.notices, formError, create, async () => {
      created = await context.api.send<CreatedToken>("POST", "/auth/tokens", {
        name: name.value.trim(),
        scopes: splitList(scopes.value),
        ...(expires ? { expires_in_days: Number(expires) } : {}),
      });
    });
    if (!done || !created) return;
    context.notices.success(`Token ${created.name} created.`);
    name.value = scopes.value = days.value = "";
    showSecret(created);
    await load();
  }

  const createForm = h(
    "section",
    { class: "card", "aria-labelledby": "token-form-title" },
    h("h2", { id: "token-form-title" }, "Create a token"),
    form(
      undefined,
      () => void submit(),
      field("Token name", name, "What the token is for, e.g. the name of the script that uses it."),
      field("Scopes", scopes, "Permissions separated by spaces, e.g. notes:read notes:write. A token can never do more than you can."),
      field("Expires in days", days, "Leave empty for the longest lifetime allowed."),
      formError,
      h("div", { class: "actions" }, create),
    ),
  );
  fill(root, pageHeading("My tokens"), secretSlot, createForm, listError, list);
  void load();
  return () => fill(secretSlot);
};

function tokensTable(tokens: ApiToken[], actions: (token: ApiToken) => HTMLElement): HTMLElement {
  return dataTable(
    "Your API tokens",
    [
      { label: "Name", cell: (t) => h("strong", null, t.name) },
      { label: "Prefix", cell: (t) => h("code", null, t.prefix) },
      { label: "Scopes", cell: (t) => tagList(t.scopes) },
      { label: "Created", cell: (t) => time(t.created_at) },
      { label: "Expires", cell: (t) => time(t.expires_at, "never") },
      { label: "Last used", cell: (t) => time(t.last_used_at, "never") },
      { label: "Actions", cell: actions },
    ],
    tokens,
    "You have no API tokens.",
  );
}
