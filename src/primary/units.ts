import { StatementRefusedError } from '../errors.js';
import { splitStatements } from '../sqlite/script.js';
import { type Connection, connectionStateError, executeRaw, type PreparedEntry, prepareEntry, type StatementCache } from '../sqlite/statements.js';
import type { BindParameters, QueryResult, Statement } from '../types.js';
import { decodeResult, encodeResult, type WireResult } from '../wire/codec.js';
import type { StatementMode } from '../wire/protocol.js';
import type { ExactlyOnceLedger } from './ledger.js';
import type { Committed, WriteQueue, WriteUnit } from './write-queue.js';

export function transactionControlError(sql: string): StatementRefusedError {
  return new StatementRefusedError(
    'transaction-control',
    'Refused a transaction-control statement (BEGIN, COMMIT, END, ROLLBACK, SAVEPOINT, RELEASE) outside a transaction: ' +
      'it would end or hold the transaction the write queue shares between callers. Nothing was applied. ' +
      'Use db.transaction(fn) or db.begin(); SAVEPOINT and RELEASE are allowed inside a transaction.',
    { sql },
  );
}

/** Where a statement runs on the writer: a single call or exec() script, or a step of an interactive transaction. */
export type WriterContext = 'call' | 'transaction';

/**
 * Why a statement may not run on the shared writer connection, or undefined when it may. The writer's state
 * belongs to the library: nothing a caller runs may end its transaction, change its pragmas, attach a database or
 * leave a TEMP object that shadows a main table for later callers. Decided from SQLite's own classification.
 */
export function writerRefusal(entry: PreparedEntry, sql: string, context: WriterContext): StatementRefusedError | undefined {
  switch (entry.kind) {
    case 'transaction-control':
      if (context === 'call') return transactionControlError(sql);
      return new StatementRefusedError(
        'transaction-control',
        'Refused BEGIN, COMMIT, END or ROLLBACK inside a transaction; end it with commit() or rollback(). Only SAVEPOINT, RELEASE and ROLLBACK TO are allowed.',
        { sql },
      );
    case 'savepoint':
      return context === 'call' ? transactionControlError(sql) : undefined;
    case 'connection-state':
      return connectionStateError(sql);
    case 'local-write':
      return new StatementRefusedError(
        'temp-object',
        'Refused a statement that writes a TEMP (or attached) schema on a shared connection: a TEMP table would shadow the main ' +
          'table of the same name for every later caller. Nothing was applied. Use a main-schema table, or a CTE.',
        { sql },
      );
    default:
      return undefined;
  }
}

/** Runs one statement on the writer, refusing what would change the writer for later callers. */
export function runStatement(connection: Connection, cache: StatementCache, sql: string, params: BindParameters | undefined, mode: StatementMode): QueryResult {
  const entry = cache.prepare(sql);
  const refused = writerRefusal(entry, sql, 'call');
  if (refused !== undefined) throw refused;
  return executeRaw(connection, entry, params, mode);
}

/**
 * Runs a script statement by statement, each prepared and classified by SQLite just before it runs (a later
 * statement may use a table an earlier one created). Script statements are one-off: they bypass the cache.
 */
export function runScriptStatements(connection: Connection, sql: string, context: WriterContext): void {
  for (const text of splitStatements(sql)) {
    const entry = prepareEntry(connection, text);
    const refused = writerRefusal(entry, text, context);
    if (refused !== undefined) throw refused;
    entry.statement.run();
  }
}

const encodeOne = (result: QueryResult): string => JSON.stringify(encodeResult(result));
const decodeOne = (stored: string): QueryResult => decodeResult(JSON.parse(stored) as WireResult, true);

export function statementUnit(cache: StatementCache, sql: string, params: BindParameters | undefined, mode: StatementMode, key?: string): WriteUnit<QueryResult> {
  return { key, execute: (connection) => runStatement(connection, cache, sql, params, mode), encode: encodeOne, decode: decodeOne };
}

/** A batch is atomic: its statements share the unit's SAVEPOINT, so one failure undoes them all. */
export function batchUnit(cache: StatementCache, statements: readonly Statement[], key?: string): WriteUnit<QueryResult[]> {
  return {
    key,
    execute: (connection) => statements.map((statement) => runStatement(connection, cache, statement.sql, statement.params, 'query')),
    encode: (results) => JSON.stringify(results.map(encodeResult)),
    decode: (stored) => (JSON.parse(stored) as WireResult[]).map((result) => decodeResult(result, true)),
  };
}

/** A script is atomic, like a batch: its statements share the unit's SAVEPOINT, so a failure undoes them all. */
export function scriptUnit(sql: string, key?: string): WriteUnit<null> {
  return {
    key,
    execute: (connection) => {
      runScriptStatements(connection, sql, 'call');
      return null;
    },
    encode: () => 'null',
    decode: () => null,
  };
}

/**
 * Runs a script as one unit of the write queue, whether it was called on the primary or forwarded to it: all or
 * nothing, and refused as a whole when any statement would change the writer connection.
 */
export function runScript(
  queue: WriteQueue,
  _ledger: ExactlyOnceLedger,
  sql: string,
  key: string | undefined,
  signal: AbortSignal | undefined,
): Promise<Committed<null>> {
  return queue.submit(scriptUnit(sql, key), signal);
}
