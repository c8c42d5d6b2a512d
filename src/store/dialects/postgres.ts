/** PostgreSQL through a `pg` pool. Connections are opened lazily; `openDatabase` pings once to fail early. */
import { type Dialect, type Kysely, PostgresDialect, PostgresIntrospector, sql } from "kysely";
import pg from "pg";
import { type Classify, errorCode, withErrorMapping } from "./errors.ts";

/**
 * Bounds that keep a request from hanging while PostgreSQL is down or unreachable: opening a connection
 * (also the wait for a free pooled one), a statement on the server, and the client-side wait for an
 * answer (a silent network partition). Each can be overridden per deployment with the URL parameters
 * `connect_timeout` (seconds, as in libpq), `statement_timeout` and `query_timeout` (milliseconds).
 */
export const POSTGRES_TIMEOUTS = {
  connectMs: 1500,
  statementMs: 30_000,
  queryMs: 35_000,
  idleInTransactionMs: 60_000,
} as const;

// SQLSTATE classes: 08 connection exception, 28 invalid authorization, 53 insufficient resources,
// 57P operator intervention (shutdown), 57014 statement timeout, 3D000 unknown database.
const UNAVAILABLE_SQLSTATE = /^(08|28|53|57P|57014$|3D000)/;
// pg reports pool and socket failures as plain Errors without a SQLSTATE.
const UNAVAILABLE_MESSAGE =
  /Connection terminated|timeout exceeded when trying to connect|connection timeout|Query read timeout|Client has encountered a connection error|not queryable/i;

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

/** Where the dialect keeps its pool, for `poolStateOf` (metrics); not part of Kysely's Dialect. */
const POOL = Symbol("rampart.postgres.pool");

export function createPostgresDialect({ connectionString, onError }: PostgresOptions): Dialect {
  const pool = new pg.Pool({
    connectionString,
    connectionTimeoutMillis: connectTimeoutMs(connectionString),
    // The URL's own parameters win over these (pg merges the parsed URL last).
    statement_timeout: POSTGRES_TIMEOUTS.statementMs,
    query_timeout: POSTGRES_TIMEOUTS.queryMs,
    idle_in_transaction_session_timeout: POSTGRES_TIMEOUTS.idleInTransactionMs,
    keepAlive: true,
  });
  pool.on("error", (error) => onError?.(error));
  const dialect = withErrorMapping(new PostgresDialect({ pool }), classifyPostgres);
  return Object.assign(dialect, { [POOL]: pool });
}

/** The pool's connections now, for the operator's view (`rampart_db_pool_*`). */
export interface PoolState {
  /** Connections open (lent out or idle). */
  readonly total: number;
  readonly idle: number;
  /** Queries waiting for a connection. */
  readonly waiting: number;
  /** The pool's size bound. */
  readonly max: number;
}

/** The pool state of a dialect made by `createPostgresDialect`; undefined for any other. */
export function poolStateOf(dialect: Dialect): (() => PoolState) | undefined {
  const pool = (dialect as { [POOL]?: pg.Pool })[POOL];
  if (!pool) return undefined;
  return () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount, max: pool.options.max ?? 10 });
}

/** `connect_timeout` from the URL (seconds, libpq's meaning), else the default. */
function connectTimeoutMs(connectionString: string): number {
  let seconds: number | undefined;
  try {
    const value = new URL(connectionString).searchParams.get("connect_timeout");
    seconds = value === null ? undefined : Number(value);
  } catch {
    // pg reports a malformed URL itself, without echoing it here.
  }
  return seconds !== undefined && Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : POSTGRES_TIMEOUTS.connectMs;
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
