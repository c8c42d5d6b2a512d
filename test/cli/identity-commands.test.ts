import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { main } from "../../src/cli/main.ts";
import { printable } from "../../src/cli/prompt.ts";
import { UsageError } from "../../src/cli/usage.ts";
import { hashApiToken } from "../../src/core/tokens/index.ts";
import { createRepositories, migrateToLatest, openDatabase, type Repositories } from "../../src/store/index.ts";
import { type CliRun, spawnCli } from "../support/cli.ts";

const PASSWORD = "correct horse battery staple 42";

type Run = CliRun;

/**
 * Runs the real CLI as a child process. Asynchronous (not spawnSync) so that independent runs overlap:
 * each one pays Node + tsx start-up, and the file must stay well under 30 s.
 */
async function rampart(dataDir: string, args: string[], options: { input?: string; env?: Record<string, string> } = {}): Promise<Run> {
  await slot();
  try {
    return await spawnCli(dataDir, args, options);
  } finally {
    release();
  }
}

// At most this many CLI processes at once: more only thrash a small machine.
const MAX_CHILDREN = Math.max(2, availableParallelism());
let running = 0;
const waiting: (() => void)[] = [];
function slot(): Promise<void> {
  if (running < MAX_CHILDREN) {
    running++;
    return Promise.resolve();
  }
  return new Promise((resolve) => waiting.push(resolve));
}
function release() {
  const next = waiting.shift();
  if (next) next();
  else running--;
}


function expectExit(run: Run, code: number) {
  assert.equal(run.status, code, `expected exit ${code}, got ${run.status}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`);
}

async function withRepos<T>(dataDir: string, work: (repos: Repositories, db: Awaited<ReturnType<typeof openDatabase>>) => Promise<T>) {
  const database = await openDatabase({ dataDir });
  try {
    return await work(createRepositories(database.db), database);
  } finally {
    await database.close();
  }
}

const freshDir = () => mkdtempSync(join(tmpdir(), "rampart-cli-"));

/**
 * More usage mistakes, checked in-process (each spawn costs a second of start-up): `main` must reject
 * with what `runCli` turns into one `rampart: <reason>` line and exit code 2, before touching storage.
 * The spawned tests above prove that wiring once per command.
 */
async function expectUsageErrors(cases: string[][]) {
  for (const args of cases) {
    await assert.rejects(main(args), (error: Error & { code?: string }) => {
      assert.ok(error instanceof UsageError || error.code?.startsWith("ERR_PARSE_ARGS"), `${args.join(" ")}: ${error}`);
      assert.doesNotMatch(error.message, /\n/);
      return true;
    });
  }
}

// The suites use separate data directories and run side by side; the steps inside each run in order
// (a suite inherits `concurrency` from its parent unless it says otherwise).
describe("rampart CLI", { concurrency: true }, () => {
  describe("--help", () => {
    it("exits 0 with a true usage for every command", async (t) => {
      const dir = freshDir();
      const names = ["migrate", "users", "tokens", "keys"];
      const runs = await Promise.all(names.map((name) => rampart(dir, [name, "--help"])));
      runs.forEach((run, i) => {
        expectExit(run, 0);
        assert.match(run.stdout, new RegExp(`^Usage: rampart ${names[i]}`));
      });
      // The overview (in-process: `rampart --help` itself is not new) lists the commands.
      const log = t.mock.method(console, "log", () => undefined);
      assert.equal(await main(["--help"]), 0);
      const overview = log.mock.calls.map((call) => String(call.arguments[0])).join("\n");
      for (const name of names) assert.match(overview, new RegExp(`^  ${name} `, "m"));
    });
  });

  describe("migrate", () => {
    it("applies the migrations once, then says it is up to date", async () => {
      const dir = freshDir();
      const first = await rampart(dir, ["migrate"]);
      expectExit(first, 0);
      assert.match(first.stdout, /applied 4 migrations/);
      for (const name of ["001_initial", "002_second_factors", "003_passkeys", "004_service_clients"]) assert.match(first.stdout, new RegExp(name));
      const second = await rampart(dir, ["migrate"]);
      expectExit(second, 0);
      assert.match(second.stdout, /already up to date/);
    });
  });

  describe("users", { concurrency: 1 }, () => {
    const dir = freshDir();

    it("creates a user from --password-stdin and lists it, never showing the password or hash", async () => {
      const created = await rampart(
        dir,
        ["users", "create", "--email", " Alice@Example.COM ", "--role", "admin", "--role", "user", "--password-stdin"],
        { input: `${PASSWORD}\nsecond line ignored\n` },
      );
      expectExit(created, 0);
      assert.match(created.stdout, /email: alice@example\.com/);
      assert.match(created.stdout, /roles: admin, user/);
      const id = /id:\s+(\S+)/.exec(created.stdout)?.[1];
      assert.ok(id);

      const [table, json] = await Promise.all([rampart(dir, ["users", "list"]), rampart(dir, ["users", "list", "--json"])]);
      expectExit(table, 0);
      assert.match(table.stdout, /^id\s+email\s+roles\s+disabled\s+created_at$/m);
      assert.match(table.stdout, new RegExp(`^${id}\\s+alice@example\\.com\\s+admin,user\\s+no\\s+\\d{4}-`, "m"));
      expectExit(json, 0);
      const users = JSON.parse(json.stdout) as Record<string, unknown>[];
      assert.deepEqual(
        users.map((u) => Object.keys(u).sort()),
        [["created_at", "disabled", "email", "id", "roles"]],
      );
      assert.deepEqual(users[0], { ...users[0], id, email: "alice@example.com", roles: ["admin", "user"], disabled: false });

      await withRepos(dir, async (repos) => {
        const user = await repos.users.findById(id);
        assert.ok(user);
        assert.match(user.passwordHash, /^\$argon2id\$/);
        assert.ok(!PASSWORD.includes("second"), "only the first line is the password");
        for (const run of [created, table, json]) {
          for (const text of [run.stdout, run.stderr]) {
            assert.ok(!text.includes(PASSWORD), "password printed");
            assert.ok(!text.includes(user.passwordHash) && !text.includes("$argon2"), "hash printed");
          }
        }
        const [event] = await repos.audit.query({ type: "user.created" });
        assert.equal(event?.subject, id);
        assert.equal(event?.actorId, null);
        assert.deepEqual(event?.details, { via: "cli", roles: ["admin", "user"] });
      });
    });

    it("refuses weak passwords, duplicate emails and unknown roles with exit 1 and one clear line", async () => {
      const create = (email: string, input: string, ...more: string[]) =>
        rampart(dir, ["users", "create", "--email", email, "--password-stdin", ...more], { input });
      // The policy's rules have their own tests; these show the CLI applies the configured policy and the email.
      const [short, email, duplicate, role] = await Promise.all([
        create("bob@example.com", "short\n"),
        create("bobby@example.com", "my name is bobby and this is long\n"),
        create("ALICE@example.com", `${PASSWORD}\n`),
        create("carol@example.com", `${PASSWORD}\n`, "--role", "wizard"),
      ]);
      for (const run of [short, email, duplicate, role]) expectExit(run!, 1);
      assert.equal(short!.stderr, "rampart: The password must be at least 15 characters long.\n");
      assert.equal(email!.stderr, "rampart: The password must not contain your email address.\n");
      assert.equal(duplicate!.stderr, "rampart: a user with that email already exists\n");
      assert.equal(role!.stderr, "rampart: Unknown role: wizard\n");
      const emails = await withRepos(dir, async (repos) => (await repos.users.list()).map((u) => u.email));
      assert.deepEqual(emails, ["alice@example.com"]);
    });

    it("bad usage exits 2 with a reason", async () => {
      const noEmail = await rampart(dir, ["users", "create", "--password-stdin"], { input: `${PASSWORD}\n` });
      expectExit(noEmail, 2);
      assert.equal(noEmail.stderr, "rampart: users create needs --email\n");
      const noTty = await rampart(dir, ["users", "create", "--email", "dave@example.com"]);
      expectExit(noTty, 2);
      assert.match(noTty.stderr, /pass --password-stdin/);
      await expectUsageErrors([
        ["users", "create", "--email", "not-an-email", "--password-stdin"],
        ["users", "create", "--email", "e@example.com", "--password", "x"],
        ["users", "create", "--email", "e@example.com", "--role", "", "--password-stdin"],
        ["users", "list", "extra"],
        ["users", "delete"],
        ["users"],
      ]);
    });
  });

  describe("tokens", { concurrency: 1 }, () => {
    const dir = freshDir();

    it("creates a token shown once and stored only as its hash, then revokes it", async () => {
      // The owner, made through the store (creating users through the CLI is tested above).
      await withRepos(dir, async (repos, database) => {
        await migrateToLatest(database.db);
        await repos.users.create({ email: "erin@example.com", passwordHash: "not-a-real-hash", roles: ["user"] });
      });
      const created = await rampart(dir, [
        "tokens",
        "create",
        "--email",
        "ERIN@example.com",
        "--name",
        "ci deploy",
        "--scope",
        "notes:read",
        "--scope",
        "notes:*",
        "--expires-days",
        "30",
      ]);
      expectExit(created, 0);
      const token = /\b(rmp_[0-9A-Za-z]+)\b/.exec(created.stdout)?.[1];
      assert.ok(token, created.stdout);
      assert.equal(created.stdout.split(token).length, 2, "the token is printed exactly once");
      assert.match(created.stdout, /will not be shown again/);
      const id = /id:\s+(\S+)/.exec(created.stdout)?.[1];
      assert.ok(id);

      await withRepos(dir, async (repos, database) => {
        const stored = await repos.apiTokens.findBySecretHash(hashApiToken(token));
        assert.equal(stored?.id, id);
        assert.deepEqual(stored?.scopes, ["notes:*", "notes:read"]);
        assert.equal(stored?.name, "ci deploy");
        const days = ((stored?.expiresAt?.getTime() ?? 0) - Date.now()) / 86_400_000;
        assert.ok(days > 29.9 && days <= 30, `expires in ${days} days`);
        const rows = await database.db.selectFrom("api_tokens").selectAll().execute();
        assert.equal(rows.length, 1);
        assert.equal(rows[0]?.secret_hash, hashApiToken(token));
        assert.ok(!JSON.stringify(rows).includes(token), "the token itself is stored");
        const [event] = await repos.audit.query({ type: "token.created" });
        assert.equal(event?.details.tokenId, id);
        assert.ok(!JSON.stringify(event).includes(token));
      });
      for (const file of readdirSync(dir)) {
        assert.ok(!readFileSync(join(dir, file)).includes(token), `${file} holds the token`);
      }

      const revoked = await rampart(dir, ["tokens", "revoke", "--id", id]);
      expectExit(revoked, 0);
      assert.match(revoked.stdout, new RegExp(`revoked API token ${id}`));
      await withRepos(dir, async (repos) => {
        const stored = await repos.apiTokens.findBySecretHash(hashApiToken(token));
        assert.ok(stored?.revokedAt instanceof Date);
        const [event] = await repos.audit.query({ type: "token.revoked" });
        assert.equal(event?.details.tokenId, id);
      });
      // Revoked and unknown ids take the same path and get the same answer.
      const again = await rampart(dir, ["tokens", "revoke", "--id", id]);
      expectExit(again, 1);
      assert.equal(again.stderr, `rampart: no active API token with id "${id}" (unknown or already revoked)\n`);
    });

    it("refuses an unknown user with exit 1, bad arguments with exit 2", async () => {
      const base = ["tokens", "create", "--email", "erin@example.com", "--name", "x"];
      const noUser = await rampart(dir, ["tokens", "create", "--email", "nobody@example.com", "--name", "x", "--scope", "*"]);
      expectExit(noUser, 1);
      assert.equal(noUser.stderr, 'rampart: no user with email "nobody@example.com"\n');
      await assert.rejects(main([...base, "--scope", "Notes:Read"]), {
        name: "UsageError",
        message: /^--scope: invalid permission "Notes:Read": segment 1 "Notes" must be/,
      });
      await expectUsageErrors([
        base,
        [...base, "--scope", "notes:read:any:more"],
        [...base, "--scope", "notes:read", "--expires-days", "0"],
        [...base, "--scope", "notes:read", "--expires-days", "366"],
        [...base, "--scope", "notes:read", "--expires-days", "7.5"],
        ["tokens", "create", "--name", "x", "--scope", "*"],
        ["tokens", "create", "--email", "erin@example.com", "--scope", "*"],
        ["tokens", "revoke"],
        ["tokens", "list"],
        ["tokens"],
      ]);
    });
  });

  describe("keys rotate", { concurrency: 1 }, () => {
    it("makes a new active key and retires the old one", async () => {
      // On a fresh database, opening identity generates the first key; the rotation then retires it.
      const dir = freshDir();
      const run = await rampart(dir, ["keys", "rotate"]);
      expectExit(run, 0);
      const kid = /^new signing key: (\S+) \(EdDSA\)$/m.exec(run.stdout)?.[1];
      const old = /^retired: (\S+)$/m.exec(run.stdout)?.[1];
      assert.ok(kid && old && kid !== old, run.stdout);
      assert.match(run.stdout, /until those expire \(tokens\.accessTtlSeconds = 600 s\)/);

      const keys = await withRepos(dir, (repos) => repos.signingKeys.list());
      assert.deepEqual(keys.map((k) => [k.kid, k.status]).sort(), [[kid, "active"], [old, "retired"]].sort());
      assert.ok(keys.find((k) => k.kid === old)?.retiredAt instanceof Date);
    });

    it("exits 1 with the reason under HS256; bad usage is refused", async () => {
      const dir = freshDir();
      const config = join(dir, "rampart.json");
      writeFileSync(config, JSON.stringify({ tokens: { algorithm: "HS256", hs256Secret: "q8Zr2vN5xK1pL7mT3wY9bC4dF6gH0jS2" } }));
      const hs256 = await rampart(dir, ["keys", "rotate"], { env: { RAMPART_CONFIG: config } });
      expectExit(hs256, 1);
      assert.match(hs256.stderr, /^rampart: HS256 keys come from configuration[^\n]*\n$/);
      await expectUsageErrors([["keys"], ["keys", "rotate", "now"], ["keys", "rotate", "--force"], ["migrate", "extra"]]);
    });
  });

  it("escapes control characters in stored strings before printing them", () => {
    assert.equal(printable("eve\u001b[2J@example.com"), "eve\\u001b[2J@example.com");
    assert.equal(printable("tab\there\u009bx"), "tab\\u0009here\\u009bx");
    assert.equal(printable("ünïcödé@example.com"), "ünïcödé@example.com");
  });
});
