import type { SqliteDatabase, SqliteStatement } from './driver-types.js';
import type { BindParameters, QueryResult, SqlValue } from '../types.js';
import type { StatementMode } from '../wire/protocol.js';
import { StatementRefusedError } from '../errors.js';
import { leadingWords } from './script.js';

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
  | 'savepoint'
  /**
   * Changes the connection rather than the database: ATTACH, DETACH, VACUUM (INTO). Never runs on a connection the
   * library shares between callers. (A PRAGMA outside {@link PRAGMA_POLICY} is refused before it is even prepared.)
   */
  | 'connection-state';

export interface PreparedEntry {
  readonly statement: PreparedStatement;
  readonly kind: StatementKind;
  readonly returnsData: boolean;
}

interface ExplainRow {
  opcode: string;
  p1: number;
  p2: number;
  p4: unknown;
}

const MAIN_DATABASE = 0;

/**
 * The pragmas a caller may run on a shared connection, by name. 'any': any form, because it only reads, or writes
 * the database file (not the connection), or has no lasting effect inside the transaction every write runs in
 * (`foreign_keys` is a no-op inside a transaction; `defer_foreign_keys` resets at COMMIT, and Prisma's and
 * Drizzle's migrations set both). 'read': only the bare form that reports the current value. Any other pragma,
 * or a value given to a 'read' one, changes the connection for every later caller and is refused.
 */
export const PRAGMA_POLICY: ReadonlyMap<string, 'any' | 'read'> = new Map([
  ...(['table_info', 'table_xinfo', 'table_list', 'index_list', 'index_info', 'index_xinfo', 'foreign_key_list', 'foreign_key_check'] as const).map(
    (name) => [name, 'any'] as const,
  ),
  ...(['integrity_check', 'quick_check', 'user_version', 'application_id', 'foreign_keys', 'defer_foreign_keys'] as const).map((name) => [name, 'any'] as const),
  ...(
    [
      'journal_mode',
      'busy_timeout',
      'query_only',
      'synchronous',
      'cache_size',
      'page_size',
      'page_count',
      'freelist_count',
      'encoding',
      'auto_vacuum',
      'schema_version',
      'data_version',
      'compile_options',
      'database_list',
      'collation_list',
      'function_list',
      'module_list',
      'pragma_list',
      'recursive_triggers',
      'temp_store',
      'locking_mode',
      'secure_delete',
      'journal_size_limit',
      'wal_autocheckpoint',
      'mmap_size',
    ] as const
  ).map((name) => [name, 'read'] as const),
]);

/** For a PRAGMA (EXPLAIN or not), whether the policy allows it; undefined for any other statement. */
export function pragmaAllowed(sql: string): boolean | undefined {
  let words = leadingWords(sql, 9);
  // SQLite runs a PRAGMA's setting while it compiles the statement, EXPLAIN or not.
  if (words[0] === 'explain') words = words.slice(words[1] === 'query' && words[2] === 'plan' ? 3 : 1);
  if (words[0] !== 'pragma') return undefined;
  // PRAGMA [schema.]name [= value | (value)]
  const qualified = words[2] === '.';
  const name = words[qualified ? 3 : 1];
  const hasValue = words[qualified ? 4 : 2] !== undefined && words[qualified ? 4 : 2] !== ';';
  const policy = name === undefined ? undefined : PRAGMA_POLICY.get(name);
  return policy === 'any' || (policy === 'read' && !hasValue);
}

/**
 * Refused before it is prepared: SQLite applies most PRAGMA settings (query_only, busy_timeout, foreign_keys...)
 * while it compiles the statement, so preparing one on a shared connection is already too late.
 */
export function connectionStateError(sql: string): StatementRefusedError {
  return new StatementRefusedError(
    'connection-state',
    'Refused a statement that changes the shared connection (ATTACH, DETACH, VACUUM, VACUUM INTO, or a PRAGMA that sets connection ' +
      "state such as query_only, busy_timeout or journal_mode). Nothing was applied. Configure the connection through litefs-forward's " +
      'options, and run maintenance (VACUUM, backups) with a separate SQLite connection on the primary.',
    { sql },
  );
}

function classify(connection: Connection, statement: PreparedStatement, sql: string): StatementKind {
  // The common SELECT needs no further look (table-valued pragma functions exist only for side-effect-free
  // pragmas); everything else is decided from its bytecode.
  if (statement.readonly && statement.reader && pragmaAllowed(sql) === undefined) return 'read';
  const program = explain(connection, sql);
  let writesMain = false;
  let writesElsewhere = false;
  for (const op of program) {
    if (op.opcode === 'AutoCommit') return 'transaction-control';
    if (op.opcode === 'Savepoint') return 'savepoint';
    if (op.opcode === 'Vacuum') return 'connection-state';
    if (op.opcode === 'Function' && typeof op.p4 === 'string' && /^sqlite_(attach|detach)\(/.test(op.p4)) return 'connection-state';
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
  // Plain numbers whatever the connection's default: the opcodes' operands are compared with numbers.
  const statement = connection.prepare(`EXPLAIN ${sql}`).safeIntegers(false);
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

/**
 * Prepares one statement and lets SQLite classify it. Throws SQLite's own error when it does not prepare, and
 * STATEMENT_REFUSED for a PRAGMA outside {@link PRAGMA_POLICY}, which is never prepared.
 */
export function prepareEntry(connection: Connection, sql: string): PreparedEntry {
  if (pragmaAllowed(sql) === false) throw connectionStateError(sql);
  const statement = connection.prepare(sql) as PreparedStatement;
  return { statement, kind: classify(connection, statement, sql), returnsData: statement.reader };
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

  /** Throws SQLite's own error when the statement does not prepare (syntax, unknown table...), or STATEMENT_REFUSED. */
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
    const entry = prepareEntry(this.#connection, sql);
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
