import { LiteFSForwardError } from '../errors.js';
import { type Connection, executeRaw, type StatementCache } from '../sqlite/statements.js';
import type { BindParameters, QueryResult, Statement } from '../types.js';
import { decodeResult, encodeResult, type WireResult } from '../wire/codec.js';
import type { StatementMode } from '../wire/protocol.js';
import type { ClusterTables } from './cluster-tables.js';
import type { Committed, WriteQueue, WriteUnit } from './write-queue.js';

export function transactionControlError(sql: string): LiteFSForwardError {
  return new LiteFSForwardError(
    'PROTOCOL_ERROR',
    'Transaction-control statements (BEGIN, COMMIT, ROLLBACK, SAVEPOINT, RELEASE) cannot run as single calls. ' +
      'Use db.transaction(fn) or db.begin(); SAVEPOINT and RELEASE are allowed inside a transaction.',
    { sql },
  );
}

/** Runs one statement on the writer, refusing transaction control that would break the queue's transaction. */
export function runStatement(connection: Connection, cache: StatementCache, sql: string, params: BindParameters | undefined, mode: StatementMode): QueryResult {
  const entry = cache.prepare(sql);
  if (entry.kind === 'transaction-control' || entry.kind === 'savepoint') throw transactionControlError(sql);
  return executeRaw(connection, entry, params, mode);
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

export function scriptUnit(sql: string, key?: string): WriteUnit<null> {
  return {
    key,
    execute: (connection) => {
      connection.exec(sql);
      return null;
    },
    encode: () => 'null',
    decode: () => null,
  };
}

/** SQLite's refusal to open a transaction inside another: the script manages its own and must run alone. */
export function needsOwnTransaction(error: unknown): boolean {
  return (error as { code?: unknown })?.code === 'SQLITE_ERROR' && /within a transaction|cannot (VACUUM|change) .*transaction/i.test(String((error as Error).message));
}

/**
 * Runs a script as one unit; a script that manages its own transaction (or runs VACUUM) runs alone instead,
 * with its idempotency key recorded right after it.
 */
export async function runScript(
  queue: WriteQueue,
  ledger: ClusterTables,
  sql: string,
  key: string | undefined,
  signal: AbortSignal | undefined,
  readTxid: () => string | undefined,
): Promise<Committed<null>> {
  try {
    return await queue.submit(scriptUnit(sql, key), signal);
  } catch (error) {
    if (!needsOwnTransaction(error)) throw error;
  }
  const lease = await queue.acquire(signal);
  try {
    if (key !== undefined && ledger.lookup(lease.connection, key) !== undefined) return { value: null, txid: readTxid(), replayed: true };
    lease.connection.exec(sql);
    if (key !== undefined) ledger.record(lease.connection, key, 'null');
  } finally {
    lease.release();
  }
  return { value: null, txid: readTxid(), replayed: false };
}
