import type { SqliteDatabase, SqliteStatement } from './driver-types.js';
import type { BindParameters, QueryResult, SqlValue } from '../types.js';
import type { StatementMode } from '../wire/protocol.js';

export type Connection = SqliteDatabase;
type PreparedStatement = SqliteStatement;

/**
 * How a statement must be routed, decided by SQLite itself (sqlite3_stmt_readonly and the statement's
 * bytecode), never by looking at the SQL text.
 */
export type StatementKind =
  /** Reads only: runs on the local file on every node. */
  | 'read'
  /** Writes the main database: runs on the primary. */
  | 'write'
  /** Writes only TEMP or ATTACHed databases, which the primary does not have: runs locally. */
  | 'local-write'
  /** BEGIN, COMMIT, ROLLBACK: session state, handled by transactions. */
  | 'transaction-control'
  /** SAVEPOINT, RELEASE, ROLLBACK TO: allowed inside a transaction only. */
  | 'savepoint';

export interface PreparedEntry {
  readonly statement: PreparedStatement;
  readonly kind: StatementKind;
  readonly returnsData: boolean;
}

interface ExplainRow {
  opcode: string;
  p1: number;
  p2: number;
}

const MAIN_DATABASE = 0;

function classify(connection: Connection, statement: PreparedStatement, sql: string): StatementKind {
  // The common SELECT needs no further look; everything else is decided from its bytecode.
  if (statement.readonly && statement.reader) return 'read';
  const program = explain(connection, sql);
  let writesMain = false;
  let writesElsewhere = false;
  for (const op of program) {
    if (op.opcode === 'AutoCommit') return 'transaction-control';
    if (op.opcode === 'Savepoint') return 'savepoint';
    if (op.opcode === 'Transaction' && op.p2 !== 0) {
      if (op.p1 === MAIN_DATABASE) writesMain = true;
      else writesElsewhere = true;
    }
  }
  if (statement.readonly) return 'read';
  return writesElsewhere && !writesMain ? 'local-write' : 'write';
}

/**
 * EXPLAIN needs no parameter values in SQLite, but better-sqlite3 insists on a value for each one and does not
 * say how many there are. Its refusals do, though: bind NULLs until it accepts. Runs once per distinct SQL text.
 */
function explain(connection: Connection, sql: string): ExplainRow[] {
  const statement = connection.prepare(`EXPLAIN ${sql}`);
  const named: Record<string, null> = {};
  let hasNamed = false;
  // Positional count lies in [low, high]; every `?` in the text is an upper bound.
  let low = 0;
  let high = sql.split('?').length - 1 + 999;
  let count = 0;
  for (let attempt = 0; attempt < 200; attempt++) {
    const args: unknown[] = new Array(count).fill(null);
    if (hasNamed) args.push(named);
    try {
      return statement.all(...args) as ExplainRow[];
    } catch (error) {
      const message = error instanceof Error ? error.message : '';
      const missing = /Missing named parameter "([^"]+)"/.exec(message);
      if (missing !== null) {
        named[missing[1]!] = null;
        hasNamed = true;
      } else if (message.startsWith('Missing named parameters') && !hasNamed) {
        // Without any object better-sqlite3 only says that names are needed; with one, it names each.
        hasNamed = true;
      } else if (message.startsWith('Too few parameter values')) {
        low = count + 1;
        count = count === 0 ? 1 : Math.min(high, count * 2);
      } else if (message.startsWith('Too many parameter values')) {
        high = count - 1;
        count = Math.floor((low + high) / 2);
      } else {
        throw error;
      }
      if (low > high) break;
      if (count < low) count = low;
    }
  }
  throw new Error(`Could not determine the parameters of: ${sql}`);
}

/** A bounded LRU of prepared statements and their routing, keyed by SQL text. */
export class StatementCache {
  #connection: Connection;
  readonly #capacity: number;
  readonly #entries = new Map<string, PreparedEntry>();

  constructor(connection: Connection, capacity = 500) {
    this.#connection = connection;
    this.#capacity = capacity;
  }

  /** Throws SQLite's own error when the statement does not prepare (syntax, unknown table...). */
  prepare(sql: string): PreparedEntry {
    const cached = this.#entries.get(sql);
    if (cached !== undefined) {
      // Refresh recency only when the map has filled up, keeping the hot path to one lookup.
      if (this.#entries.size >= this.#capacity) {
        this.#entries.delete(sql);
        this.#entries.set(sql, cached);
      }
      return cached;
    }
    const statement = this.#connection.prepare(sql) as PreparedStatement;
    const entry: PreparedEntry = { statement, kind: classify(this.#connection, statement, sql), returnsData: statement.reader };
    if (this.#entries.size >= this.#capacity) {
      const oldest = this.#entries.keys().next();
      if (oldest.done !== true) this.#entries.delete(oldest.value);
    }
    this.#entries.set(sql, entry);
    return entry;
  }

  /** Points the cache at a reopened connection; statements of the old one are dropped. */
  reset(connection: Connection): void {
    this.#connection = connection;
    this.#entries.clear();
  }
}

function bind(params: BindParameters | undefined): unknown[] {
  return params === undefined ? [] : [params];
}

/** Runs a statement in the shape of `mode`, returning rows as arrays (lossless form, for the wire and the queue). */
export function executeRaw(connection: Connection, entry: PreparedEntry, params: BindParameters | undefined, mode: StatementMode): QueryResult {
  const { statement } = entry;
  const args = bind(params);
  if (!entry.returnsData) {
    const info = statement.run(...args);
    return { columns: [], rows: [], changes: info.changes, lastInsertRowid: info.lastInsertRowid };
  }
  if (mode === 'run') {
    const info = statement.run(...args);
    return { columns: [], rows: [], changes: info.changes, lastInsertRowid: info.lastInsertRowid };
  }
  statement.raw(true);
  let rows: SqlValue[][];
  try {
    if (mode === 'get') {
      const row = statement.get(...args) as SqlValue[] | undefined;
      rows = row === undefined ? [] : [row];
    } else {
      rows = statement.all(...args) as SqlValue[][];
    }
  } finally {
    statement.raw(false);
  }
  const columns = statement.columns().map((column) => column.name);
  if (entry.kind === 'read') return { columns, rows, changes: 0, lastInsertRowid: 0 };
  // RETURNING: the changes are those of this statement, read on the same connection right after it.
  const counts = connection.prepare('SELECT changes(), last_insert_rowid()').raw(true).get() as [number | bigint, number | bigint];
  return { columns, rows, changes: Number(counts[0]), lastInsertRowid: counts[1] };
}

/** Runs a statement locally in the shape the caller asked for, straight from better-sqlite3. */
export function executeLocal(connection: Connection, entry: PreparedEntry, params: BindParameters | undefined, mode: StatementMode): unknown {
  const args = bind(params);
  const { statement } = entry;
  if (mode === 'run') return statement.run(...args);
  if (!entry.returnsData) {
    const info = statement.run(...args);
    if (mode === 'query') return { columns: [], rows: [], changes: info.changes, lastInsertRowid: info.lastInsertRowid };
    return mode === 'get' ? undefined : [];
  }
  switch (mode) {
    case 'get':
      return statement.get(...args);
    case 'all':
      return statement.all(...args);
    case 'values':
      return valuesOf(statement, args);
    case 'query':
      return executeRaw(connection, entry, params, mode);
  }
}

function valuesOf(statement: PreparedStatement, args: unknown[]): SqlValue[][] {
  statement.raw(true);
  try {
    return statement.all(...args) as SqlValue[][];
  } finally {
    statement.raw(false);
  }
}

/** Shapes a lossless result the way better-sqlite3 would have returned it for `mode`. */
export function shapeResult(result: QueryResult, mode: StatementMode, safeIntegers: boolean): unknown {
  const normalized = safeIntegers ? result : withNumbers(result);
  switch (mode) {
    case 'run':
      return { changes: normalized.changes, lastInsertRowid: normalized.lastInsertRowid };
    case 'get':
      return normalized.rows[0] === undefined ? undefined : toObject(normalized.columns, normalized.rows[0]);
    case 'all':
      return normalized.rows.map((row) => toObject(normalized.columns, row));
    case 'values':
      return normalized.rows;
    case 'query':
      return normalized;
  }
}

function toObject(columns: string[], row: SqlValue[]): Record<string, SqlValue> {
  const object: Record<string, SqlValue> = {};
  for (let i = 0; i < columns.length; i++) object[columns[i]!] = row[i] ?? null;
  return object;
}

function withNumbers(result: QueryResult): QueryResult {
  const toNumber = (value: SqlValue): SqlValue => (typeof value === 'bigint' ? Number(value) : value);
  return {
    columns: result.columns,
    rows: result.rows.map((row) => row.map(toNumber)),
    changes: result.changes,
    lastInsertRowid: Number(result.lastInsertRowid),
  };
}
