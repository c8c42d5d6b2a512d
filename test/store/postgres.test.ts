/** The repository contract on PostgreSQL, each test in a schema of its own that is dropped afterwards. */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { tmpdir } from "node:os";
import { describe, it } from "node:test";
import { RampartError } from "../../src/core/errors.ts";
import { openDatabase } from "../../src/store/index.ts";
import { runRepositoryContract } from "../contract/repositories.ts";
import { postgresUrl, serviceSkip } from "../support/services.ts";

const skip = await serviceSkip("postgres");
const dataDir = tmpdir(); // unused by PostgreSQL, required by the signature

function urlWithSearchPath(schema: string): string {
  const url = new URL(postgresUrl());
  url.searchParams.set("options", `-c search_path=${schema}`);
  return url.toString();
}

runRepositoryContract(
  "postgres",
  async () => {
    const schema = `rampart_test_${randomUUID().replaceAll("-", "")}`;
    const admin = await openDatabase({ databaseUrl: postgresUrl(), dataDir });
    await admin.db.schema.createSchema(schema).execute();
    const handle = await openDatabase({ databaseUrl: urlWithSearchPath(schema), dataDir });
    return {
      db: handle.db,
      close: async () => {
        try {
          await handle.close();
          await admin.db.schema.dropSchema(schema).cascade().execute();
        } finally {
          await admin.close();
        }
      },
    };
  },
  { skip },
);

describe("postgres: openDatabase", { skip }, () => {
  it("reports an unknown database as STORE_UNAVAILABLE without echoing the URL", async () => {
    const url = new URL(postgresUrl());
    url.pathname = `/rampart_missing_${randomUUID().slice(0, 8)}`;
    url.password = "hunter2-secret";
    await assert.rejects(openDatabase({ databaseUrl: url.toString(), dataDir }), (error) => {
      assert.ok(error instanceof RampartError);
      assert.equal(error.code, "RAMPART_ERR_STORE_UNAVAILABLE");
      for (const text of [error.message, error.detail, error.reason ?? ""]) {
        assert.ok(!text.includes("hunter2") && !text.includes(url.pathname), text);
      }
      assert.ok(error.cause);
      return true;
    });
  });

  it("pings and closes idempotently", async () => {
    const handle = await openDatabase({ databaseUrl: postgresUrl(), dataDir });
    assert.equal(handle.engine, "postgres");
    await handle.ping();
    await handle.close();
    await handle.close();
  });
});
