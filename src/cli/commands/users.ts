import { parseArgs } from "node:util";
import { loadConfig } from "../../config/load.ts";
import { RampartError } from "../../core/errors.ts";
import { checkPassword } from "../../core/passwords/index.ts";
import type { User } from "../../store/index.ts";
import { canPrompt, PromptCancelled, printable, promptSecret, readFirstLine, withIdentity } from "../prompt.ts";
import { type Command, UsageError } from "../usage.ts";

/** Loose on purpose (the address is the operator's to choose): one `@`, something either side, no spaces. */
const EMAIL = /^[^\s@]+@[^\s@]+$/;
const MAX_EMAIL_LENGTH = 254;
const PAGE = 500;

/** Checks the shape of an `--email` value; the repository normalises it (trim, lowercase, NFC). */
export function requireEmail(value: string | undefined, command: string): string {
  if (value === undefined) throw new UsageError(`${command} needs --email`);
  const email = value.trim();
  if (!EMAIL.test(email) || email.length > MAX_EMAIL_LENGTH) {
    throw new UsageError(`--email ${JSON.stringify(value)} is not an email address`);
  }
  return email;
}

/** Every user, oldest first, a page at a time. */
export async function* allUsers(list: (page: { limit: number; offset: number }) => Promise<User[]>): AsyncGenerator<User> {
  for (let offset = 0; ; offset += PAGE) {
    const page = await list({ limit: PAGE, offset });
    yield* page;
    if (page.length < PAGE) return;
  }
}

export const usersCommand: Command = {
  name: "users",
  summary: "create and list users",
  help: `Usage: rampart users create --email EMAIL [--role ROLE]... [--password-stdin]
       rampart users list [--json]

users create   creates a user.
  --email EMAIL       the login; stored trimmed and lowercased, so it is unique case-insensitively
  --role ROLE         a role to grant (repeatable; default: user). Built-in roles: admin, user
  --password-stdin    read the password from the first line of stdin, e.g.
                        printf '%s\\n' "$PASSWORD" | rampart users create --email a@example.com --password-stdin
                      Without it the password is asked for twice at the terminal, with echo off.
  The password must meet the policy: passwords.minLength (default 15) to passwords.maxLength (default 256)
  characters, not a common or breached password, not containing the email. Prints the new user's id,
  email and roles; exits 1 when the password is refused or the email is taken.

users list     prints every user: id, email, roles, disabled, created_at (never password hashes).
  --json              one JSON array instead of a table

The database is the one \`rampart serve\` uses (RAMPART_DATA_DIR or DATABASE_URL).`,
  async run(args) {
    const [sub, ...rest] = args;
    if (sub === "create") return create(rest);
    if (sub === "list") return list(rest);
    throw new UsageError(
      sub === undefined ? "users needs a subcommand: create or list" : `unknown users subcommand "${sub}"; expected create or list`,
    );
  },
};

async function create(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      email: { type: "string" },
      role: { type: "string", multiple: true },
      "password-stdin": { type: "boolean", default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  const email = requireEmail(values.email, "users create");
  const roles = values.role && values.role.length > 0 ? values.role : ["user"];
  if (roles.some((role) => role.trim() === "")) throw new UsageError("--role needs a role name");
  if (!values["password-stdin"] && !canPrompt()) {
    throw new UsageError("no terminal to ask for the password on: pass --password-stdin and pipe the password in");
  }
  const config = loadConfig();

  let password: string;
  try {
    password = values["password-stdin"] ? await readFirstLine() : await askTwice();
    checkPassword(password, { minLength: config.passwords.minLength, maxLength: config.passwords.maxLength, email });
  } catch (error) {
    if (error instanceof PromptCancelled) {
      console.error("rampart: cancelled");
      return 130;
    }
    if (error instanceof RampartError) {
      console.error(`rampart: ${error.detail}`);
      return 1;
    }
    throw error;
  }

  return withIdentity(async ({ repos, hasher }) => {
    const passwordHash = await hasher.hash(password);
    let user: User;
    try {
      user = await repos.users.create({ email, passwordHash, roles });
    } catch (error) {
      if (error instanceof RampartError && error.code === "RAMPART_ERR_CONFLICT") {
        console.error("rampart: a user with that email already exists");
        return 1;
      }
      throw error;
    }
    await repos.audit.record({
      type: "user.created",
      actorId: null,
      subject: user.id,
      details: { via: "cli", roles: user.roles },
    });
    console.log("user created");
    console.log(`  id:    ${user.id}`);
    console.log(`  email: ${printable(user.email)}`);
    console.log(`  roles: ${user.roles.join(", ") || "(none)"}`);
    return 0;
  }, config);
}

async function askTwice(): Promise<string> {
  const first = await promptSecret("Password: ");
  const second = await promptSecret("Repeat password: ");
  if (first !== second) throw new RampartError("RAMPART_ERR_BAD_REQUEST", { detail: "the passwords do not match" });
  return first;
}

async function list(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { json: { type: "boolean", default: false } },
    strict: true,
    allowPositionals: false,
  });
  return withIdentity(async ({ repos }) => {
    const rows: { id: string; email: string; roles: string[]; disabled: boolean; created_at: string }[] = [];
    for await (const user of allUsers((page) => repos.users.list(page))) {
      // Pick the public fields one by one: the hash never reaches the output.
      rows.push({
        id: user.id,
        email: user.email,
        roles: user.roles,
        disabled: user.disabled,
        created_at: user.createdAt.toISOString(),
      });
    }
    if (values.json) {
      console.log(JSON.stringify(rows, null, 2));
      return 0;
    }
    if (rows.length === 0) {
      console.log("no users yet: create one with `rampart users create --email EMAIL --role admin`");
      return 0;
    }
    const table = [
      ["id", "email", "roles", "disabled", "created_at"],
      ...rows.map((r) => [r.id, printable(r.email), r.roles.join(",") || "-", r.disabled ? "yes" : "no", r.created_at]),
    ];
    const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
    for (const row of table) console.log(row.map((cell, i) => cell.padEnd(widths[i]!)).join("  ").trimEnd());
    return 0;
  });
}
