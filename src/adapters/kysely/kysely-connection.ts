import type { CompiledQuery, DatabaseConnection, QueryResult } from 'kysely';
import type { LiteFSDatabase } from '../../database.js';
import { LiteFSForwardError } from '../../errors.js';
import type { BindParameters, QueryResult as LiteFSQueryResult, SqlValue, Statement, Transaction } from '../../types.js';

const WRITE_NODES = new Set(['InsertQueryNode', 'UpdateQueryNode', 'DeleteQueryNode', 'MergeQueryNode']);

/**
 * One Kysely connection. It is the identity of a transaction: between `begin()` and `commit()`/`rollback()` its
 * queries run in that transaction, and otherwise through the database (reads local, writes on the primary).
 */
export class LiteFSConnection implements DatabaseConnection {
  readonly #database: LiteFSDatabase;
  #transaction: Transaction | undefined;

  constructor(database: LiteFSDatabase) {
    this.#database = database;
  }

  get inTransaction(): boolean {
    return this.#transaction !== undefined;
  }

  async begin(readOnly: boolean): Promise<void> {
    if (this.#transaction !== undefined) {
      throw new LiteFSForwardError('INVALID_ARGUMENT', 'This Kysely connection is already in a transaction; use savepoints to nest.');
    }
    this.#transaction = await this.#database.begin({ readOnly });
  }

  async commit(): Promise<void> {
    const transaction = this.#transaction;
    if (transaction === undefined) throw new LiteFSForwardError('TRANSACTION_CLOSED', 'There is no transaction to commit on this connection.');
    try {
      await transaction.commit();
    } finally {
      // A transaction whose commit failed is over too: the database ends it, so nothing is left to roll back.
      this.#transaction = undefined;
    }
  }

  /** Rolls back; a no-op without a transaction, as after a failed commit. */
  async rollback(): Promise<void> {
    const transaction = this.#transaction;
    this.#transaction = undefined;
    await transaction?.rollback();
  }

  executeQuery<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
    return this.#execute<R>(compiledQuery);
  }

  /** Runs the queries as one atomic batch (one round trip from a replica), or in order inside the transaction. */
  async executeBatch(compiledQueries: readonly CompiledQuery[]): Promise<QueryResult<unknown>[]> {
    const transaction = this.#transaction;
    if (transaction !== undefined) {
      const results: QueryResult<unknown>[] = [];
      for (const compiled of compiledQueries) results.push(toKyselyResult(compiled, await transaction.query(compiled.sql, parametersOf(compiled))));
      return results;
    }
    const statements: Statement[] = compiledQueries.map((compiled) => ({ sql: compiled.sql, params: parametersOf(compiled) }));
    const results = await this.#database.batch(statements);
    return results.map((result, i) => toKyselyResult(compiledQueries[i]!, result));
  }

  /** Kysely's `stream()`: the rows are read in one call, then handed out `chunkSize` at a time (one by default). */
  async *streamQuery<R>(compiledQuery: CompiledQuery, chunkSize = 1): AsyncIterableIterator<QueryResult<R>> {
    const { rows } = await this.#execute<R>(compiledQuery);
    const size = Math.max(1, Math.floor(chunkSize));
    for (let i = 0; i < rows.length; i += size) yield { rows: rows.slice(i, i + size) };
  }

  async #execute<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
    const target = this.#transaction ?? this.#database;
    return toKyselyResult<R>(compiledQuery, await target.query(compiledQuery.sql, parametersOf(compiledQuery)));
  }
}

function parametersOf(compiledQuery: CompiledQuery): BindParameters {
  // Kysely's parameters are what the user passed; values SQLite cannot bind fail as they do with better-sqlite3.
  return compiledQuery.parameters as BindParameters;
}

/**
 * Kysely's result conventions: rows as objects; `numAffectedRows` (bigint) for insert, update, delete and merge;
 * `insertId` (bigint) for an insert that inserted. Raw statements that return no rows get both, as with Kysely's
 * SQLite driver.
 */
export function toKyselyResult<R>(compiledQuery: CompiledQuery, result: LiteFSQueryResult): QueryResult<R> {
  const { columns } = result;
  const rows = result.rows.map((row) => toObject(columns, row)) as R[];
  const kind = compiledQuery.query.kind;
  const isWrite = WRITE_NODES.has(kind);
  if (!isWrite && (kind !== 'RawNode' || columns.length > 0)) return { rows };
  const inserted = (kind === 'InsertQueryNode' || kind === 'RawNode') && result.changes > 0;
  return {
    rows,
    numAffectedRows: BigInt(result.changes),
    ...(inserted ? { insertId: BigInt(result.lastInsertRowid) } : {}),
  };
}

function toObject(columns: readonly string[], row: readonly SqlValue[]): Record<string, SqlValue> {
  const object: Record<string, SqlValue> = {};
  for (let i = 0; i < columns.length; i++) object[columns[i]!] = row[i] ?? null;
  return object;
}
