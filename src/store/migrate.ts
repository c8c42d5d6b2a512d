/** Brings the schema up to date with Kysely's Migrator. Safe to run at every start: applied migrations are skipped. */
import { type Kysely, Migrator } from "kysely";
import { RampartError } from "../core/errors.ts";
import { migrationTableSchema } from "./dialects/index.ts";
import { MIGRATIONS } from "./migrations/index.ts";
import type { Database } from "./schema.ts";

/**
 * @returns the names of the migrations applied by this call (empty when already up to date).
 * @throws RampartError `RAMPART_ERR_STORE_UNAVAILABLE` when the database is unreachable, otherwise
 *   `RAMPART_ERR_INTERNAL` whose reason names the failed migration; the engine's error is the `cause`.
 */
export async function migrateToLatest(db: Kysely<Database>): Promise<string[]> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => ({ ...MIGRATIONS }) },
    migrationTableSchema: await migrationTableSchema(db),
  });
  const { error, results = [] } = await migrator.migrateToLatest();
  if (error !== undefined) {
    if (error instanceof RampartError && error.code === "RAMPART_ERR_STORE_UNAVAILABLE") throw error;
    const failed = results.find((r) => r.status === "Error")?.migrationName;
    const message = error instanceof Error ? error.message : String(error);
    throw new RampartError("RAMPART_ERR_INTERNAL", {
      reason: `database migration ${failed ?? "(before any migration ran)"} failed: ${message}`,
      cause: error,
    });
  }
  return results.filter((r) => r.status === "Success").map((r) => r.migrationName);
}
