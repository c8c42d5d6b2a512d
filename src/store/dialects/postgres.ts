/** PostgreSQL through a `pg` pool. Connections are opened lazily; `openDatabase` pings once to fail early. */
import { type Dialect, type Kysely, PostgresDialect, PostgresIntrospector, sql } from "kysely";
import pg from "pg";
import { type Classify, errorCode, withErrorMapping } from "./errors.ts";

const CONNECT_TIMEOUT_MS = 5000;

// SQLSTATE classes: 08 connection exception, 28 invalid authorization, 53 insufficient resources,
// 57P operator intervention (shutdown), 3D000 unknown database.
const UNAVAILABLE_SQLSTATE = /^(08|28|53|57P|3D000)/;
// pg reports pool and socket failures as plain Errors without a SQLSTATE.
const UNAVAILABLE_MESSAGE = /Connection terminated|timeout exceeded when trying to connect|connection timeout/i;

export const classifyPostgres: Classify = (error) => {
  const code = errorCode(error);
  if (code === "23505" || code === "23503") return "conflict";
  if (UNAVAILABLE_SQLSTATE.test(code) || /^E[A-Z]+$/.test(code)) return "unavailable";
  if (error instanceof Error && UNAVAILABLE_MESSAGE.test(error.message)) return "unavailable";
  return undefined;
};

export interface PostgresOptions {
  connectionString: string;
  /** Called for errors on idle pooled connections (server restart…); without a listener pg would crash the process. */
  onError?: (error: unknown) => void;
}

export function createPostgresDialect({ connectionString, onError }: PostgresOptions): Dialect {
  const pool = new pg.Pool({ connectionString, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  pool.on("error", (error) => onError?.(error));
  return withErrorMapping(new PostgresDialect({ pool }), classifyPostgres);
}

/**
 * The schema Kysely's Migrator must keep its tables in. Without it the Migrator looks for its table in
 * every schema and would take another schema's (or `public`'s) for ours. Undefined on other engines.
 */
export async function migrationTableSchema<DB>(db: Kysely<DB>): Promise<string | undefined> {
  if (!(db.introspection instanceof PostgresIntrospector)) return undefined;
  const { rows } = await sql<{ schema: string | null }>`select current_schema() as schema`.execute(db);
  return rows[0]?.schema ?? undefined;
}
