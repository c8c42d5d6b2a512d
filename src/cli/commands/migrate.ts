import { join } from "node:path";
import { parseArgs } from "node:util";
import { loadConfig } from "../../config/load.ts";
import { RampartError } from "../../core/errors.ts";
import { SQLITE_FILE } from "../../store/dialects/sqlite.ts";
import { migrateToLatest, openDatabase } from "../../store/index.ts";
import { describeFailure } from "../prompt.ts";
import type { Command } from "../usage.ts";

export const migrateCommand: Command = {
  name: "migrate",
  summary: "bring the database schema up to date",
  help: `Usage: rampart migrate

Applies every pending database migration and prints the ones it applied, or "already up to date".
Safe to run at any time: applied migrations are skipped. \`rampart serve\` and the other commands
migrate on start too; run this one to migrate explicitly, e.g. before a deployment.
The database is the embedded SQLite file in RAMPART_DATA_DIR (default ./data), or PostgreSQL when
DATABASE_URL is set.`,
  async run(args) {
    parseArgs({ args, options: {}, strict: true, allowPositionals: false });
    const config = loadConfig();
    const where = config.databaseUrl ? "PostgreSQL (DATABASE_URL)" : `SQLite ${join(config.dataDir, SQLITE_FILE)}`;
    try {
      const database = await openDatabase({
        dataDir: config.dataDir,
        ...(config.databaseUrl ? { databaseUrl: config.databaseUrl } : {}),
      });
      try {
        const applied = await migrateToLatest(database.db);
        if (applied.length === 0) {
          console.log(`${where}: already up to date`);
        } else {
          console.log(`${where}: applied ${applied.length} migration${applied.length === 1 ? "" : "s"}`);
          for (const name of applied) console.log(`  ${name}`);
        }
        return 0;
      } finally {
        await database.close();
      }
    } catch (error) {
      if (error instanceof RampartError) {
        console.error(`rampart: ${describeFailure(error)}`);
        return 1;
      }
      throw error;
    }
  },
};
