/** Service clients (clients:admin; OAuth client credentials): create (secret shown once), list, delete. */
import { ApiError } from "../api.ts";
import type { View } from "../context.ts";
import { fill, h } from "../dom.ts";
import { act, confirmAction, dataTable, errorSlot, field, form, pageHeading, refocus, secretBox, showError, splitList, tagList, time } from "../ui.ts";

interface Client {
  client_id: string;
  name: string;
  scopes: string[];
  created_at: string;
}

interface CreatedClient {
  client_id: string;
  client_secret: string;
  name?: string;
  scopes: string[];
}

export const clientsView: View = (root, context) => {
  const list = h("div", { class: "list" });
  const listError = errorSlot();
  const secretSlot = h("div");
  const name = h("input", { type: "text", name: "name", required: true, maxlength: 100, autocomplete: "off" });
  const scopes = h("input", { type: "text", name: "scopes", required: true, autocomplete: "off", spellcheck: "false" });
  const formError = errorSlot();
  const create = h("button", { type: "submit", class: "primary" }, "Create client");

  async function load(): Promise<void> {
    try {
      const clients = await context.api.get<Client[]>("/admin/clients");
      fill(list, clientsTable(clients, deleteButton));
    } catch (error) {
      // Gateway mode does not serve service clients: say so instead of a bare "not found".
      if (error instanceof ApiError && error.status === 404) return unavailable();
      showError(context.notices, listError, error);
      fill(list);
    }
  }

  function unavailable(): void {
    secretSlot.remove();
    createForm.remove();
    fill(list, h("p", null, "Service clients are not available here."));
  }

  function deleteButton(client: Client): HTMLElement {
    const remove = () => void confirmDelete(client);
    return h("button", { type: "button", class: "danger", "aria-label": `Delete client ${client.name}`, on: { click: remove } }, "Delete");
  }

  async function confirmDelete(client: Client): Promise<void> {
    if (!(await confirmAction(`Delete client ${client.name}?`, "Its secret and every token issued to it stop working at once."))) return;
    const done = await act(context.notices, listError, undefined, () => context.api.send("DELETE", `/admin/clients/${encodeURIComponent(client.client_id)}`));
    if (!done) return;
    context.notices.success(`Client ${client.name} deleted.`);
    await load();
    refocus(root, "");
  }

  function showSecret(created: CreatedClient): void {
    const values: [string, string][] = [
      ["Client ID", created.client_id],
      ["Client secret", created.client_secret],
    ];
    const box = secretBox(context.notices, "New client secret", "Copy the client secret now. It will not be shown again.", values, () => {
      fill(secretSlot);
      name.focus();
    });
    fill(secretSlot, box);
    box.querySelector("button")?.focus();
  }

  async function submit(): Promise<void> {
    const clientName = name.value.trim();
    let created: CreatedClient | undefined;
    const done = await act(context.notices, formError, create, async () => {
      created = await context.api.send<CreatedClient>("POST", "/admin/clients", { name: clientName, scopes: splitList(scopes.value) });
    });
    if (!done || !created) return;
    context.notices.success(`Client ${clientName} created.`);
    name.value = scopes.value = "";
    showSecret(created);
    await load();
  }

  const createForm = h(
    "section",
    { class: "card", "aria-labelledby": "client-form-title" },
    h("h2", { id: "client-form-title" }, "Create a service client"),
    form(
      undefined,
      () => void submit(),
      field("Client name", name, "The service that will use it."),
      field("Scopes", scopes, "Permissions separated by spaces, e.g. notes:read. You can only give what you hold."),
      formError,
      h("div", { class: "actions" }, create),
    ),
  );
  fill(root, pageHeading("Service clients"), secretSlot, createForm, listError, list);
  void load();
  return () => fill(secretSlot);
};

function clientsTable(clients: Client[], actions: (client: Client) => HTMLElement): HTMLElement {
  return dataTable(
    "Service clients",
    [
      { label: "Name", cell: (c) => h("strong", null, c.name) },
      { label: "Client ID", cell: (c) => h("code", null, c.client_id) },
      { label: "Scopes", cell: (c) => tagList(c.scopes) },
      { label: "Created", cell: (c) => time(c.created_at) },
      { label: "Actions", cell: actions },
    ],
    clients,
    "No service clients yet.",
  );
}
