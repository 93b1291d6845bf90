import type { SqliteErrorConstructor } from './driver-types.js';
import { resultCodeNumber } from './drivers/result-codes.js';

/**
 * SQLite's error, with driver `node:sqlite`: `code` is the extended result code's name, as better-sqlite3's
 * SqliteError has it (`SQLITE_CONSTRAINT_UNIQUE`), and `errcode` its number, as node:sqlite has it.
 */
export class SqliteError extends Error {
  readonly code: string;
  readonly errcode: number;

  constructor(message: string, code: string) {
    super(message);
    this.name = 'SqliteError';
    this.code = code;
    this.errcode = resultCodeNumber(code) ?? 1;
  }
}

export function sqliteCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_') ? code : undefined;
}

/** What {@link isLeaseLostError} reads of the connection that raised the error. */
export interface ConnectionState {
  readonly readonly: boolean;
  pragma(source: string, options: { simple: true }): unknown;
}

/**
 * LiteFS refuses writes on a replica with EACCES, which SQLite reports as SQLITE_IOERR_WRITE in WAL mode and
 * SQLITE_READONLY in rollback-journal mode. A node that sees one has lost the lease, whatever it believed.
 *
 * The cause is checked, not only the code: SQLITE_READONLY also comes from the connection itself (`query_only`,
 * a read-only open), and that is no reason to step down. Without the connection, a READONLY code is not taken
 * for a lost lease.
 */
export function isLeaseLostError(error: unknown, connection?: ConnectionState): boolean {
  const code = sqliteCode(error);
  if (code === undefined) return false;
  if (code === 'SQLITE_IOERR_WRITE') return true;
  if (!code.startsWith('SQLITE_READONLY') || connection === undefined || connection.readonly) return false;
  try {
    return Number(connection.pragma('query_only', { simple: true })) === 0;
  } catch {
    return false;
  }
}

export function isBusyError(error: unknown): boolean {
  const code = sqliteCode(error);
  return code !== undefined && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'));
}

/** Rebuilds a primary's SQLite error on the replica as the driver's own class, code and message intact. */
export function toSqliteError(SqliteError: SqliteErrorConstructor, code: string, message: string): Error {
  return new SqliteError(message, code);
}
