/** Picks the engine from the database URL. Everything engine-specific lives in this folder. */
import type { Dialect } from "kysely";
import { createPostgresDialect } from "./postgres.ts";
import { createSqliteDialect } from "./sqlite.ts";

export type Engine = "sqlite" | "postgres";

export interface DialectOptions {
  /** Unset: embedded SQLite in `dataDir`. `postgres://` or `postgresql://`: PostgreSQL. */
  databaseUrl?: string | undefined;
  dataDir: string;
  onError?: ((error: unknown) => void) | undefined;
}

export function selectDialect({ databaseUrl, dataDir, onError }: DialectOptions): { engine: Engine; dialect: Dialect } {
  if (databaseUrl === undefined || databaseUrl === "") {
    return { engine: "sqlite", dialect: createSqliteDialect(dataDir) };
  }
  if (/^postgres(ql)?:\/\//i.test(databaseUrl)) {
    return { engine: "postgres", dialect: createPostgresDialect({ connectionString: databaseUrl, onError }) };
  }
  // Never echo the URL: it may hold a password.
  throw new TypeError('"databaseUrl" must start with postgres:// or postgresql:// (or be unset for SQLite)');
}

export { migrationTableSchema } from "./postgres.ts";
