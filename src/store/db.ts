/** Opens Rampart's database: embedded SQLite by default, PostgreSQL when given a `postgres://` URL. */
import { Kysely, sql } from "kysely";
import { RampartError } from "../core/errors.ts";
import { type DialectOptions, type Engine, selectDialect } from "./dialects/index.ts";
import { type PoolState, poolStateOf } from "./dialects/postgres.ts";
import { storeUnavailable } from "./dialects/errors.ts";
import { changeDetectorOf } from "./dialects/sqlite.ts";
import type { Database } from "./schema.ts";

export type { Engine, PoolState };

export interface DatabaseHandle {
  readonly db: Kysely<Database>;
  readonly engine: Engine;
  /** Resolves when the database answers; otherwise throws `RAMPART_ERR_STORE_UNAVAILABLE`. */
  ping(): Promise<void>;
  /** The connection pool now (metrics); undefined for an engine without one (SQLite). */
  poolState(): PoolState | undefined;
  /**
   * SQLite only: true once after another process committed to the file (a CLI command), so in-memory
   * caches must not be trusted without a re-read. Undefined on PostgreSQL (no cheap equivalent).
   */
  readonly changedElsewhere: (() => boolean) | undefined;
  /** Closes the file or pool. Safe to call twice. */
  close(): Promise<void>;
}

export type OpenDatabaseOptions = DialectOptions;

/**
 * @throws RampartError `RAMPART_ERR_STORE_UNAVAILABLE` when the database cannot be reached; its detail
 *   and message never contain the URL, the original error is the `cause`.
 * @throws TypeError for a URL of another scheme.
 * @example const { db, close } = await openDatabase({ databaseUrl: process.env.DATABASE_URL, dataDir: "./data" });
 */
export async function openDatabase(options: OpenDatabaseOptions): Promise<DatabaseHandle> {
  const { engine, dialect } = selectDialect(options);
  const db = new Kysely<Database>({ dialect });
  const pool = poolStateOf(dialect);
  const changes = changeDetectorOf(dialect);
  let closing: Promise<void> | undefined;
  const handle: DatabaseHandle = {
    db,
    engine,
    ping: () => ping(db),
    poolState: () => pool?.(),
    changedElsewhere: changes ? () => changes.changedElsewhere() : undefined,
    close: () => {
      changes?.stop();
      closing ??= db.destroy();
      return closing;
    },
  };
  try {
    await handle.ping();
  } catch (error) {
    await handle.close().catch(() => undefined);
    throw error;
  }
  return handle;
}

async function ping(db: Kysely<Database>): Promise<void> {
  try {
    await sql`select 1`.execute(db);
  } catch (error) {
    if (error instanceof RampartError) throw error;
    throw storeUnavailable("database ping failed", error);
  }
}
