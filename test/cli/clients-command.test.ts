/** `rampart clients create|list|delete` against a real data dir, in a child process. */
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { spawnCli } from "../support/cli.ts";

describe("rampart clients", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "rampart-clients-cli-"));

  it("--help documents create, list and delete", async () => {
    const run = await spawnCli(dataDir, ["clients", "--help"]);
    assert.equal(run.status, 0, run.stderr);
    for (const text of ["clients create --name NAME --scope SCOPE", "clients list [--json]", "clients delete --id CLIENT_ID"]) assert.ok(run.stdout.includes(text), text);
  });

  it("creates a client (secret printed once), lists it without the secret, deletes it", async () => {
    const created = await spawnCli(dataDir, ["clients", "create", "--name", "billing", "--scope", "notes:read", "--scope", "profile:read"]);
    assert.equal(created.status, 0, created.stderr);
    const id = /client_id:\s+(rmpc_\w+)/.exec(created.stdout)?.[1];
    const secret = /client_secret:\s+(rmps_\w+)/.exec(created.stdout)?.[1];
    assert.ok(id && secret, created.stdout);
    const listed = await spawnCli(dataDir, ["clients", "list", "--json"]);
    assert.equal(listed.status, 0, listed.stderr);
    const rows = JSON.parse(listed.stdout) as { client_id: string; scopes: string[] }[];
    assert.deepEqual(rows.find((r) => r.client_id === id)?.scopes, ["notes:read", "profile:read"]);
    assert.ok(!listed.stdout.includes(secret));
    assert.equal((await spawnCli(dataDir, ["clients", "delete", "--id", id])).status, 0);
    assert.equal((await spawnCli(dataDir, ["clients", "delete", "--id", id])).status, 1);
  });

  it("refuses bad usage with exit 2", async () => {
    assert.equal((await spawnCli(dataDir, ["clients", "create", "--name", "x"])).status, 2);
    assert.equal((await spawnCli(dataDir, ["clients", "create", "--name", "x", "--scope", "not a scope"])).status, 2);
    assert.equal((await spawnCli(dataDir, ["clients", "frobnicate"])).status, 2);
  });
});
