import type { LiteFSDatabase } from '../../database.js';
import type { BindParameters, QueryResult, SqlValue, Statement, Transaction } from '../../types.js';

// The parts of @libsql/client's API that drizzle-orm's libsql driver uses, restated so that @libsql/client need
// not be installed. Values are what better-sqlite3 returns: integers as numbers (or bigint with `safeIntegers`),
// blobs as Buffer.

/** A value in a row. */
export type LiteFSValue = SqlValue;
/** A value that can be bound, as @libsql/client accepts it: booleans bind as INTEGER 1/0, dates as epoch milliseconds. */
export type LiteFSInValue = SqlValue | boolean | Date | ArrayBuffer | undefined;
export type LiteFSInArgs = LiteFSInValue[] | Record<string, LiteFSInValue>;
export type LiteFSInStatement = { sql: string; args?: LiteFSInArgs } | string;
/** `read` runs locally on a snapshot; `write` and `deferred` are transactions on the primary. */
export type LiteFSTransactionMode = 'write' | 'read' | 'deferred';

/** A row as @libsql/client shapes it: values by index (not enumerable) and by column name. */
export interface LiteFSRow {
  length: number;
  [index: number]: LiteFSValue;
  [name: string]: LiteFSValue;
}

/** @libsql/client's `ResultSet`. */
export interface LiteFSResultSet {
  columns: string[];
  /** Declared types are not reported: always `''`. */
  columnTypes: string[];
  rows: LiteFSRow[];
  rowsAffected: number;
  /** As @libsql/client: the connection's last inserted rowid after a statement that returns no rows, else undefined. */
  lastInsertRowid: bigint | undefined;
  toJSON(): unknown;
}

class ResultSetImpl implements LiteFSResultSet {
  readonly columns: string[];
  readonly columnTypes: string[];
  readonly rows: LiteFSRow[];
  readonly rowsAffected: number;
  readonly lastInsertRowid: bigint | undefined;

  constructor(result: QueryResult) {
    this.columns = result.columns;
    this.columnTypes = result.columns.map(() => '');
    this.rows = result.rows.map((row) => toRow(result.columns, row));
    // @libsql/client reports 0 after RETURNING; the real count is more useful and breaks nothing.
    this.rowsAffected = result.changes;
    this.lastInsertRowid = result.columns.length === 0 ? BigInt(result.lastInsertRowid) : undefined;
  }

  toJSON(): unknown {
    return {
      columns: this.columns,
      columnTypes: this.columnTypes,
      rows: this.rows.map((row) => Array.prototype.map.call(row, jsonValue)),
      rowsAffected: this.rowsAffected,
      lastInsertRowid: this.lastInsertRowid === undefined ? null : String(this.lastInsertRowid),
    };
  }
}

function jsonValue(value: unknown): unknown {
  if (typeof value === 'bigint') return String(value);
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
  return value;
}

function toRow(columns: readonly string[], values: readonly SqlValue[]): LiteFSRow {
  // drizzle reads rows by index (Array.prototype.slice) and, for raw queries, by enumerable column name.
  const row = {} as LiteFSRow;
  Object.defineProperty(row, 'length', { value: values.length });
  for (let i = 0; i < values.length; i++) {
    const value = values[i] ?? null;
    Object.defineProperty(row, i, { value });
    const column = columns[i]!;
    if (!Object.hasOwn(row, column)) Object.defineProperty(row, column, { value, enumerable: true, configurable: true, writable: true });
  }
  return row;
}

function toSqlValue(value: LiteFSInValue): SqlValue | undefined {
  // bigint binds as INTEGER (a JS number binds as REAL).
  if (typeof value === 'boolean') return value ? 1n : 0n;
  if (value instanceof Date) {
    const ms = value.valueOf();
    return Number.isInteger(ms) ? BigInt(ms) : ms;
  }
  if (value instanceof ArrayBuffer) return Buffer.from(value);
  return value;
}

function toStatement(statement: LiteFSInStatement | [string, LiteFSInArgs?], args?: LiteFSInArgs): Statement {
  if (typeof statement === 'string') return args === undefined ? { sql: statement } : { sql: statement, params: toParams(args) };
  if (Array.isArray(statement)) return statement[1] === undefined ? { sql: statement[0] } : { sql: statement[0], params: toParams(statement[1]) };
  return statement.args === undefined ? { sql: statement.sql } : { sql: statement.sql, params: toParams(statement.args) };
}

function toParams(args: LiteFSInArgs): BindParameters {
  if (Array.isArray(args)) return args.map(toSqlValue);
  const named: Record<string, SqlValue | undefined> = {};
  // @libsql/client accepts `:name`, `@name` and `$name` keys; better-sqlite3 wants the bare name.
  for (const [key, value] of Object.entries(args)) named[/^[:@$]/.test(key) ? key.slice(1) : key] = toSqlValue(value);
  return named;
}

async function runAll(transaction: Transaction, statements: readonly Statement[]): Promise<LiteFSResultSet[]> {
  const results: LiteFSResultSet[] = [];
  for (const statement of statements) results.push(new ResultSetImpl(await transaction.query(statement.sql, statement.params)));
  return results;
}

/**
 * A transaction, as @libsql/client's `Transaction`. It is the identity drizzle's libsql driver carries through
 * `db.transaction()`: every query of that transaction, savepoints included, comes here.
 */
export class LiteFSLibSQLTransaction {
  readonly #transaction: Transaction;
  #closed = false;

  constructor(transaction: Transaction) {
    this.#transaction = transaction;
  }

  get closed(): boolean {
    return this.#closed;
  }

  async execute(statement: LiteFSInStatement): Promise<LiteFSResultSet> {
    const { sql, params } = toStatement(statement);
    return new ResultSetImpl(await this.#transaction.query(sql, params));
  }

  batch(statements: LiteFSInStatement[]): Promise<LiteFSResultSet[]> {
    return runAll(this.#transaction, statements.map((statement) => toStatement(statement)));
  }

  executeMultiple(sql: string): Promise<void> {
    return this.#transaction.exec(sql);
  }

  async commit(): Promise<void> {
    this.#closed = true;
    await this.#transaction.commit();
  }

  /**
   * Rolls back. It never throws, so it cannot hide the error that led to it: a remote transaction that cannot be
   * reached is rolled back by the primary after `transactionIdleTimeout`.
   */
  async rollback(): Promise<void> {
    this.#closed = true;
    await this.#transaction.rollback().catch(() => {});
  }

  close(): void {
    if (!this.#closed) void this.rollback();
  }
}

/**
 * A litefs-forward database in the shape of @libsql/client's `Client`, for drizzle-orm's libsql driver. Plain
 * statements run through the database (reads local, writes on the primary), batches run atomically on the
 * primary, and each transaction is its own object.
 */
export class LiteFSLibSQLClient {
  readonly #database: LiteFSDatabase;
  readonly protocol = 'file';
  #closed = false;

  constructor(database: LiteFSDatabase) {
    this.#database = database;
  }

  /** The litefs-forward database underneath. */
  get database(): LiteFSDatabase {
    return this.#database;
  }

  get closed(): boolean {
    return this.#closed;
  }

  execute(statement: LiteFSInStatement): Promise<LiteFSResultSet>;
  execute(sql: string, args?: LiteFSInArgs): Promise<LiteFSResultSet>;
  async execute(statement: LiteFSInStatement, args?: LiteFSInArgs): Promise<LiteFSResultSet> {
    const { sql, params } = toStatement(statement, args);
    return new ResultSetImpl(await this.#database.query(sql, params));
  }

  /** Runs the statements atomically; `read` runs them on a local snapshot, anything else on the primary. */
  async batch(statements: Array<LiteFSInStatement | [string, LiteFSInArgs?]>, mode?: LiteFSTransactionMode): Promise<LiteFSResultSet[]> {
    const converted = statements.map((statement) => toStatement(statement));
    if (mode === 'read') return this.#database.transaction((transaction) => runAll(transaction, converted), { readOnly: true });
    const results = await this.#database.batch(converted);
    return results.map((result) => new ResultSetImpl(result));
  }

  /**
   * Runs migration statements in one transaction. @libsql/client turns `foreign_keys` off around it, which
   * SQLite does not allow inside a transaction; foreign keys are deferred to the commit instead, so a table
   * can be rebuilt while rows still point at it.
   */
  migrate(statements: LiteFSInStatement[]): Promise<LiteFSResultSet[]> {
    const converted = statements.map((statement) => toStatement(statement));
    return this.#database.transaction(async (transaction) => {
      await transaction.run('PRAGMA defer_foreign_keys = ON');
      return runAll(transaction, converted);
    });
  }

  /** Opens a transaction: `read` is local and read-only, anything else runs on the primary. */
  async transaction(mode?: LiteFSTransactionMode): Promise<LiteFSLibSQLTransaction> {
    return new LiteFSLibSQLTransaction(await this.#database.begin({ readOnly: mode === 'read' }));
  }

  executeMultiple(sql: string): Promise<void> {
    return this.#database.exec(sql);
  }

  /** LiteFS replicates by itself: there is nothing to sync. */
  async sync(): Promise<undefined> {
    return undefined;
  }

  /** Closes the litefs-forward database. */
  close(): void {
    this.#closed = true;
    void this.#database.close();
  }

  reconnect(): void {}
}
