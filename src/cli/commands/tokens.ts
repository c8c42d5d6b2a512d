import { parseArgs } from "node:util";
import { loadConfig } from "../../config/load.ts";
import { generateApiToken } from "../../core/tokens/index.ts";
import type { ApiToken, User } from "../../store/index.ts";
import { printable, withIdentity } from "../prompt.ts";
import { parseScopeOptions } from "../scopes.ts";
import { type Command, UsageError } from "../usage.ts";
import { allUsers, requireEmail } from "./users.ts";

const MAX_NAME_LENGTH = 100;
const DAY_MS = 86_400_000;

export const tokensCommand: Command = {
  name: "tokens",
  summary: "create and revoke API tokens",
  help: `Usage: rampart tokens create --email EMAIL --name NAME --scope SCOPE [--scope SCOPE]... [--expires-days DAYS]
       rampart tokens revoke --id ID

tokens create   creates an API token (rmp_…) for an existing user and prints it once: it is stored only
                as a hash and cannot be shown again.
  --email EMAIL        the token's owner (exit 1 when no such user, or the user is disabled)
  --name NAME          a label to tell tokens apart (1-${MAX_NAME_LENGTH} characters)
  --scope SCOPE        a permission the token may use: resource:action[:qualifier], e.g. notes:read, or *
                       (repeatable, at least one). Scopes only narrow what the owner may do at request
                       time; a scope the owner's roles do not grant gives nothing.
  --expires-days DAYS  lifetime in days, 1 to tokens.apiTokenMaxDays (default: that maximum,
                       365 unless configured)

tokens revoke   revokes an active token by its id, whoever owns it (exit 1 when unknown or already revoked).
  --id ID              the token id printed by \`tokens create\` (and listed by GET /auth/tokens)

The database is the one \`rampart serve\` uses (RAMPART_DATA_DIR or DATABASE_URL).`,
  async run(args) {
    const [sub, ...rest] = args;
    if (sub === "create") return create(rest);
    if (sub === "revoke") return revoke(rest);
    throw new UsageError(
      sub === undefined
        ? "tokens needs a subcommand: create or revoke"
        : `unknown tokens subcommand "${sub}"; expected create or revoke`,
    );
  },
};


function parseDays(value: string | undefined, max: number): number {
  if (value === undefined) return max;
  const days = /^\d{1,6}$/.test(value.trim()) ? Number(value.trim()) : Number.NaN;
  if (!(days >= 1 && days <= max)) {
    throw new UsageError(`--expires-days must be a whole number from 1 to ${max} (tokens.apiTokenMaxDays), got ${JSON.stringify(value)}`);
  }
  return days;
}

async function create(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      email: { type: "string" },
      name: { type: "string" },
      scope: { type: "string", multiple: true },
      "expires-days": { type: "string" },
    },
    strict: true,
    allowPositionals: false,
  });
  const email = requireEmail(values.email, "tokens create");
  const name = values.name?.trim();
  if (!name) throw new UsageError("tokens create needs --name (a label for the token)");
  if (name.length > MAX_NAME_LENGTH) throw new UsageError(`--name must be at most ${MAX_NAME_LENGTH} characters`);
  const scopes = parseScopeOptions("tokens create", values.scope);
  const config = loadConfig();
  const days = parseDays(values["expires-days"], config.tokens.apiTokenMaxDays);

  return withIdentity(async ({ repos }) => {
    const user = await repos.users.findByEmail(email);
    if (!user) {
      console.error(`rampart: no user with email ${JSON.stringify(email)}`);
      return 1;
    }
    if (user.disabled) {
      console.error(`rampart: user ${printable(user.email)} is disabled; a token for it would not work`);
      return 1;
    }
    const { token, prefix, secretHash } = generateApiToken();
    const expiresAt = new Date(Date.now() + days * DAY_MS);
    const stored = await repos.apiTokens.insert({ userId: user.id, name, prefix, secretHash, scopes, expiresAt });
    await repos.audit.record({
      type: "token.created",
      actorId: null,
      subject: user.id,
      details: { via: "cli", tokenId: stored.id, name: stored.name, prefix: stored.prefix, scopes: stored.scopes },
    });
    console.log(`API token created for ${printable(user.email)}`);
    console.log(`  id:      ${stored.id}`);
    console.log(`  name:    ${printable(stored.name)}`);
    console.log(`  scopes:  ${stored.scopes.join(" ")}`);
    console.log(`  expires: ${expiresAt.toISOString()}`);
    console.log("");
    console.log(`  ${token}`);
    console.log("");
    console.log("This token will not be shown again: store it now (it is kept only as a hash).");
    return 0;
  }, config);
}

async function revoke(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { id: { type: "string" } }, strict: true, allowPositionals: false });
  const id = values.id?.trim();
  if (!id) throw new UsageError("tokens revoke needs --id");

  return withIdentity(async (identity) => {
    const { repos } = identity;
    // The repository revokes by (id, owner) only; an admin command finds the owner first.
    let found: { token: ApiToken; owner: User } | undefined;
    for await (const owner of allUsers((page) => repos.users.list(page))) {
      const token = (await repos.apiTokens.listForUser(owner.id)).find((t) => t.id === id);
      if (token) {
        found = { token, owner };
        break;
      }
    }
    if (!found || !(await repos.apiTokens.revoke(id, found.owner.id))) {
      console.error(`rampart: no active API token with id ${JSON.stringify(id)} (unknown or already revoked)`);
      return 1;
    }
    // Running servers drop their cached API tokens: through Redis when configured; on SQLite without
    // Redis they notice this commit themselves (PRAGMA data_version) before trusting their cache.
    identity.userChanged(found.owner.id);
    await identity.flushBroadcast();
    await repos.audit.record({
      type: "token.revoked",
      actorId: null,
      subject: found.owner.id,
      details: { via: "cli", tokenId: id, name: found.token.name, prefix: found.token.prefix },
    });
    console.log(`revoked API token ${id} ("${printable(found.token.name)}", ${found.token.prefix}…) of ${printable(found.owner.email)}`);
    return 0;
  });
}
