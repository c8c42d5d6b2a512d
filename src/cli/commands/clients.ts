import { parseArgs } from "node:util";
import { createServiceClient, deleteServiceClient } from "../../identity/service-clients.ts";
import { printable, withIdentity } from "../prompt.ts";
import { parseScopeOptions } from "../scopes.ts";
import { type Command, UsageError } from "../usage.ts";

const MAX_NAME_LENGTH = 100;

export const clientsCommand: Command = {
  name: "clients",
  summary: "create, list and delete OAuth service clients",
  help: `Usage: rampart clients create --name NAME --scope SCOPE [--scope SCOPE]...
       rampart clients list [--json]
       rampart clients delete --id CLIENT_ID

clients create   creates an OAuth 2.0 service client (client credentials grant) and prints its
                 client_id (rmpc_…) and client_secret (rmps_…) once: the secret is stored only as a
                 hash and cannot be shown again.
  --name NAME        a label to tell clients apart (1-${MAX_NAME_LENGTH} characters)
  --scope SCOPE      a permission the client may use: resource:action[:qualifier], e.g. notes:read, or *
                     (repeatable, at least one). A client's scopes are all it may ever do.

clients list     lists every client: id, name, scopes, creation time (never the secret).
  --json             one JSON array on stdout instead of a table

clients delete   deletes a client; every token it was issued is refused from now on (exit 1 when unknown).
  --id CLIENT_ID     the client_id printed by \`clients create\`

The client gets tokens with POST /oauth/token (grant_type=client_credentials, HTTP Basic or
client_secret_post). The database is the one \`rampart serve\` uses (RAMPART_DATA_DIR or DATABASE_URL).`,
  async run(args) {
    const [sub, ...rest] = args;
    if (sub === "create") return create(rest);
    if (sub === "list") return list(rest);
    if (sub === "delete") return remove(rest);
    throw new UsageError(
      sub === undefined
        ? "clients needs a subcommand: create, list or delete"
        : `unknown clients subcommand "${sub}"; expected create, list or delete`,
    );
  },
};


async function create(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { name: { type: "string" }, scope: { type: "string", multiple: true } },
    strict: true,
    allowPositionals: false,
  });
  const name = values.name?.trim();
  if (!name) throw new UsageError("clients create needs --name (a label for the client)");
  if (name.length > MAX_NAME_LENGTH) throw new UsageError(`--name must be at most ${MAX_NAME_LENGTH} characters`);
  const scopes = parseScopeOptions("clients create", values.scope);
  return withIdentity(async (identity) => {
    const { client, secret } = await createServiceClient(identity, { name, scopes, createdBy: null });
    await identity.repos.audit.record({
      type: "client.created",
      actorId: null,
      subject: client.id,
      details: { via: "cli", name: client.name, scopes: client.scopes },
    });
    console.log(`service client created: ${printable(client.name)}`);
    console.log(`  client_id:     ${client.id}`);
    console.log(`  scopes:        ${client.scopes.join(" ")}`);
    console.log(`  client_secret: ${secret}`);
    console.log("");
    console.log("This secret will not be shown again: store it now (it is kept only as a hash).");
    return 0;
  });
}

async function list(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { json: { type: "boolean" } }, strict: true, allowPositionals: false });
  return withIdentity(async ({ repos }) => {
    const clients = await repos.serviceClients.list();
    if (values.json) {
      console.log(JSON.stringify(clients.map((c) => ({ client_id: c.id, name: c.name, scopes: c.scopes, created_at: c.createdAt.toISOString() }))));
      return 0;
    }
    if (clients.length === 0) {
      console.log("no service clients");
      return 0;
    }
    for (const c of clients) console.log(`${c.id}  ${c.createdAt.toISOString()}  ${printable(c.name)}  [${c.scopes.join(" ")}]`);
    return 0;
  });
}

async function remove(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { id: { type: "string" } }, strict: true, allowPositionals: false });
  const id = values.id?.trim();
  if (!id) throw new UsageError("clients delete needs --id");
  return withIdentity(async (identity) => {
    if (!(await deleteServiceClient(identity, id))) {
      console.error(`rampart: no service client with id ${JSON.stringify(id)}`);
      return 1;
    }
    await identity.repos.audit.record({ type: "client.deleted", actorId: null, subject: id, details: { via: "cli" } });
    console.log(`deleted service client ${id}; its tokens are refused from now on`);
    return 0;
  });
}
