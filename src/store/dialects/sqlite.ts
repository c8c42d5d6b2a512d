/** Embedded SQLite: one file in the data directory, opened eagerly so a bad path fails at start-up. */
import { closeSync, mkdirSync, openSync } from "node:fs";
import { join } from "node:path";
import Sqlite from "better-sqlite3";
import { type Dialect, SqliteDialect } from "kysely";
import { type Classify, errorCode, storeUnavailable, withErrorMapping } from "./errors.ts";

export const SQLITE_FILE = "rampart.db";
const BUSY_TIMEOUT_MS = 5000;

export const classifySqlite: Classify = (error) => {
  const code = errorCode(error);
  if (/^SQLITE_CONSTRAINT_(UNIQUE|PRIMARYKEY|FOREIGNKEY)$/.test(code)) return "conflict";
  if (/^SQLITE_(BUSY|LOCKED|CANTOPEN|IOERR|FULL|READONLY|CORRUPT|NOTADB|PERM)/.test(code)) return "unavailable";
  return undefined;
};

export function createSqliteDialect(dataDir: string): Dialect {
  const file = join(dataDir, SQLITE_FILE);
  let database: Sqlite.Database | undefined;
  try {
    // The database holds password hashes and private keys: owner-only directory and file.
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    // SQLite gives the -wal and -shm files the permissions of the main file, so create it 0600 first.
    closeSync(openSync(file, "a", 0o600));
    // `timeout` is SQLite's busy_timeout: wait for another process's write lock instead of failing.
    database = new Sqlite(file, { timeout: BUSY_TIMEOUT_MS });
    database.pragma("journal_mode = WAL");
    database.pragma("foreign_keys = ON");
  } catch (error) {
    database?.close();
    throw storeUnavailable(`cannot open the SQLite database in the data directory (${errorCode(error)})`, error);
  }
  const opened = database;
  const version = opened.prepare("PRAGMA data_version").pluck();
  let seen = version.get() as number;
  const changedElsewhere = () => {
    const now = version.get() as number;
    if (now === seen) return false;
    seen = now;
    return true;
  };
  return Object.assign(withErrorMapping(new SqliteDialect({ database }), classifySqlite), { [CHANGES]: changedElsewhere });
}

/** Where the dialect keeps its change detector, for `changeDetectorOf`; not part of Kysely's Dialect. */
const CHANGES = Symbol("rampart.sqlite.changes");

/**
 * True once after another process (a `rampart` CLI command on the same file) committed a change:
 * SQLite's `PRAGMA data_version` moves only for other connections' commits. A prepared statement on an
 * open file: about a microsecond, cheap enough to ask before trusting a cache.
 */
export function changeDetectorOf(dialect: Dialect): (() => boolean) | undefined {
  return (dialect as { [CHANGES]?: () => boolean })[CHANGES];
}
