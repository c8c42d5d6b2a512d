/** Embedded SQLite: one file in the data directory, opened eagerly so a bad path fails at start-up. */
import { closeSync, type FSWatcher, mkdirSync, openSync, watch } from "node:fs";
import { join } from "node:path";
import Sqlite from "better-sqlite3";
import { type Dialect, SqliteDialect } from "kysely";
import { type Classify, errorCode, storeUnavailable, withErrorMapping } from "./errors.ts";

export const SQLITE_FILE = "rampart.db";
const BUSY_TIMEOUT_MS = 5000;
/** Where the dialect keeps its change detector, for `changeDetectorOf`; not part of Kysely's Dialect. */
const CHANGES = Symbol("rampart.sqlite.changes");

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
  const detector = watchForOtherWriters(database, dataDir);
  return Object.assign(withErrorMapping(new SqliteDialect({ database }), classifySqlite), { [CHANGES]: detector });
}

export interface ChangeDetector {
  /** True once after another process (a `rampart` CLI command on the same file) committed a change. */
  changedElsewhere(): boolean;
  stop(): void;
}

/** A safety net for file systems where watching is not available or an event is missed. */
const RECHECK_MS = 1000;

/**
 * SQLite's `PRAGMA data_version` moves only for other connections' commits, but asking costs a few
 * microseconds: too much for every request. So it is asked only after the data directory's files
 * changed (fs.watch: inotify; the commit's event is queued before the committing process can even
 * exit) and at least once a second; between those, nothing can have changed.
 */
function watchForOtherWriters(database: Sqlite.Database, dataDir: string): ChangeDetector {
  const version = database.prepare("PRAGMA data_version").pluck();
  let seen = version.get() as number;
  let dirty = false;
  const markDirty = () => {
    dirty = true;
  };
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dataDir, { persistent: false }, (_event, name) => {
      if (name === null || String(name).startsWith(SQLITE_FILE)) dirty = true;
    });
    watcher.on("error", markDirty);
  } catch {
    watcher = undefined;
  }
  const timer = setInterval(markDirty, RECHECK_MS);
  timer.unref();
  return {
    changedElsewhere() {
      if (!dirty && watcher !== undefined) return false;
      dirty = false;
      const now = version.get() as number;
      if (now === seen) return false;
      seen = now;
      return true;
    },
    stop() {
      clearInterval(timer);
      watcher?.close();
    },
  };
}


/** The dialect's change detector (SQLite only). */
export function changeDetectorOf(dialect: Dialect): ChangeDetector | undefined {
  return (dialect as { [CHANGES]?: ChangeDetector })[CHANGES];
}
