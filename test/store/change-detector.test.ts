/**
 * SQLite's change detector (dialects/sqlite.ts): what lets a server without Redis trust its API-token
 * cache yet notice a CLI command's commit on the same file before the next request.
 */
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { createRepositories, migrateToLatest, openDatabase } from "../../src/store/index.ts";

async function until(check: () => boolean, ms: number): Promise<number> {
  const started = performance.now();
  while (!check()) {
    assert.ok(performance.now() - started < ms, `not within ${ms} ms`);
    await sleep(1);
  }
  return performance.now() - started;
}

describe("SQLite change detector", () => {
  it("reports another connection's commit once, and never its own writes", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "rampart-changes-"));
    const server = await openDatabase({ dataDir });
    await migrateToLatest(server.db);
    const cli = await openDatabase({ dataDir });
    try {
      const changed = server.changedElsewhere;
      assert.ok(changed, "SQLite has a change detector");
      await createRepositories(server.db).users.create({ email: "own@example.com", passwordHash: "x", roles: [] });
      await sleep(20);
      assert.equal(changed(), false, "the server's own write is not a change elsewhere");

      await createRepositories(cli.db).users.create({ email: "cli@example.com", passwordHash: "x", roles: [] });
      let seen = false;
      const ms = await until(() => {
        seen ||= changed();
        return seen;
      }, 1500);
      console.log(`another connection's commit noticed after ${ms.toFixed(1)} ms`);
      assert.equal(changed(), false, "reported once");
    } finally {
      await cli.close();
      await server.close();
    }
  });
});
