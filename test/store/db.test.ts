/** openDatabase and migrateToLatest behaviour that needs no server. */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { sql } from "kysely";
import { RampartError } from "../../src/core/errors.ts";
import { migrateToLatest, openDatabase } from "../../src/store/index.ts";

const root = mkdtempSync(join(tmpdir(), "rampart-db-"));
after(() => rmSync(root, { recursive: true, force: true }));

const isUnavailable = (error: unknown) =>
  error instanceof RampartError && error.code === "RAMPART_ERR_STORE_UNAVAILABLE" && error.cause !== undefined;

describe("openDatabase: sqlite", () => {
  it("creates an owner-only data dir and file, in WAL mode with foreign keys on", async () => {
    const dataDir = join(root, "fresh", "data");
    const handle = await openDatabase({ dataDir });
    try {
      assert.equal(handle.engine, "sqlite");
      assert.equal(statSync(dataDir).mode & 0o777, 0o700);
      assert.equal(statSync(join(dataDir, "rampart.db")).mode & 0o077, 0);
      const mode = await sql<{ journal_mode: string }>`pragma journal_mode`.execute(handle.db);
      assert.equal(mode.rows[0]?.journal_mode, "wal");
      const fk = await sql<{ foreign_keys: number }>`pragma foreign_keys`.execute(handle.db);
      assert.equal(fk.rows[0]?.foreign_keys, 1);
      await handle.ping();
    } finally {
      await handle.close();
      await handle.close();
    }
  });

  it("keeps data across reopen", async () => {
    const dataDir = join(root, "reopen");
    const first = await openDatabase({ dataDir });
    assert.deepEqual(await migrateToLatest(first.db), ["001_initial", "002_second_factors", "003_passkeys", "004_service_clients"]);
    await first.close();
    const second = await openDatabase({ dataDir });
    assert.deepEqual(await migrateToLatest(second.db), []);
    await second.close();
  });

  it("reports an unusable data dir as STORE_UNAVAILABLE", async () => {
    const file = join(root, "not-a-dir");
    writeFileSync(file, "");
    await assert.rejects(openDatabase({ dataDir: join(file, "data") }), isUnavailable);
  });
});

describe("openDatabase: URLs", () => {
  it("reports an unreachable PostgreSQL as STORE_UNAVAILABLE without echoing the URL", async () => {
    const url = "postgres://rampart:s3cret-pw@127.0.0.1:1/rampart";
    await assert.rejects(openDatabase({ databaseUrl: url, dataDir: root }), (error) => {
      assert.ok(isUnavailable(error));
      const { message, detail, reason } = error as RampartError;
      for (const text of [message, detail, reason ?? ""]) {
        assert.ok(!text.includes("s3cret") && !text.includes("127.0.0.1:1"), text);
      }
      return true;
    });
  });

  it("accepts postgresql:// too and refuses other schemes without echoing them", async () => {
    await assert.rejects(
      openDatabase({ databaseUrl: "postgresql://u:s3cret-pw@127.0.0.1:1/x", dataDir: root }),
      isUnavailable,
    );
    await assert.rejects(openDatabase({ databaseUrl: "mysql://u:s3cret-pw@host/db", dataDir: root }), (error) => {
      assert.ok(error instanceof TypeError);
      assert.ok(!error.message.includes("s3cret"));
      return true;
    });
  });
});

describe("migrateToLatest", () => {
  it("fails with a clear error when the recorded history does not match the code", async () => {
    const handle = await openDatabase({ dataDir: join(root, "corrupt") });
    try {
      await migrateToLatest(handle.db);
      await handle.db
        .withTables<{ kysely_migration: { name: string; timestamp: string } }>()
        .insertInto("kysely_migration")
        .values({ name: "999_from_the_future", timestamp: new Date().toISOString() })
        .execute();
      await assert.rejects(migrateToLatest(handle.db), (error) => {
        assert.ok(error instanceof RampartError);
        assert.equal(error.code, "RAMPART_ERR_INTERNAL");
        assert.match(error.reason ?? "", /migration/);
        assert.ok(error.cause);
        return true;
      });
    } finally {
      await handle.close();
    }
  });
});
