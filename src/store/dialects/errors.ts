/**
 * Maps engine errors to Rampart's catalogue at the driver boundary, so every repository gets the same
 * behaviour without catching anything: a unique or foreign-key violation becomes `RAMPART_ERR_CONFLICT`,
 * a lost or refused connection `RAMPART_ERR_STORE_UNAVAILABLE` (503). Each engine supplies only its
 * `classify` function. The original error is kept as `cause`; nothing engine-specific reaches `detail`.
 */
import type {
  CompiledQuery,
  DatabaseConnection,
  Dialect,
  Driver,
  QueryCompiler,
  QueryResult,
  TransactionSettings,
} from "kysely";
import { RampartError } from "../../core/errors.ts";

export type ErrorClass = "conflict" | "unavailable" | undefined;
export type Classify = (error: unknown) => ErrorClass;

/** Seconds a client is asked to wait before retrying while the database is down. */
export const STORE_RETRY_AFTER_SECONDS = 5;

export function storeUnavailable(reason: string, cause: unknown): RampartError {
  return new RampartError("RAMPART_ERR_STORE_UNAVAILABLE", {
    detail: "The database is unavailable",
    reason,
    cause,
    headers: { "retry-after": String(STORE_RETRY_AFTER_SECONDS) },
  });
}

/** Returns the RampartError for `error`, or `error` itself when it is not one we recognise. */
export function mapStoreError(error: unknown, classify: Classify): unknown {
  if (error instanceof RampartError) return error;
  const kind = classify(error);
  if (kind === "conflict") {
    return new RampartError("RAMPART_ERR_CONFLICT", { reason: `constraint violated (${errorCode(error)})`, cause: error });
  }
  if (kind === "unavailable") return storeUnavailable(`database error (${errorCode(error)})`, error);
  return error;
}

/** The engine's error code only: messages may echo connection strings or SQL. */
export function errorCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : "no code";
}

export function withErrorMapping(dialect: Dialect, classify: Classify): Dialect {
  return {
    createDriver: () => new MappingDriver(dialect.createDriver(), classify),
    createQueryCompiler: () => dialect.createQueryCompiler(),
    createAdapter: () => dialect.createAdapter(),
    createIntrospector: (db) => dialect.createIntrospector(db),
  };
}

class MappingConnection implements DatabaseConnection {
  constructor(
    readonly inner: DatabaseConnection,
    private readonly classify: Classify,
  ) {}

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    try {
      return await this.inner.executeQuery<R>(query);
    } catch (error) {
      throw mapStoreError(error, this.classify);
    }
  }

  async *streamQuery<R>(query: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> {
    try {
      yield* this.inner.streamQuery<R>(query, chunkSize);
    } catch (error) {
      throw mapStoreError(error, this.classify);
    }
  }
}

// The inner driver must get its own connection objects back (PostgreSQL releases them by a private symbol).
const unwrap = (connection: DatabaseConnection) =>
  connection instanceof MappingConnection ? connection.inner : connection;

class MappingDriver implements Driver {
  constructor(
    private readonly inner: Driver,
    private readonly classify: Classify,
  ) {}

  private async run<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw mapStoreError(error, this.classify);
    }
  }

  init() {
    return this.run(() => this.inner.init());
  }

  acquireConnection() {
    return this.run(async () => new MappingConnection(await this.inner.acquireConnection(), this.classify));
  }

  beginTransaction(connection: DatabaseConnection, settings: TransactionSettings) {
    return this.run(() => this.inner.beginTransaction(unwrap(connection), settings));
  }

  commitTransaction(connection: DatabaseConnection) {
    return this.run(() => this.inner.commitTransaction(unwrap(connection)));
  }

  rollbackTransaction(connection: DatabaseConnection) {
    return this.run(() => this.inner.rollbackTransaction(unwrap(connection)));
  }

  savepoint(connection: DatabaseConnection, name: string, compile: QueryCompiler["compileQuery"]) {
    return this.run(() => required(this.inner.savepoint).call(this.inner, unwrap(connection), name, compile));
  }

  rollbackToSavepoint(connection: DatabaseConnection, name: string, compile: QueryCompiler["compileQuery"]) {
    return this.run(() =>
      required(this.inner.rollbackToSavepoint).call(this.inner, unwrap(connection), name, compile),
    );
  }

  releaseSavepoint(connection: DatabaseConnection, name: string, compile: QueryCompiler["compileQuery"]) {
    return this.run(() => required(this.inner.releaseSavepoint).call(this.inner, unwrap(connection), name, compile));
  }

  releaseConnection(connection: DatabaseConnection) {
    return this.inner.releaseConnection(unwrap(connection));
  }

  destroy() {
    return this.inner.destroy();
  }
}

function required<T>(method: T | undefined): T {
  if (method === undefined) throw new TypeError("this database driver does not support savepoints");
  return method;
}
