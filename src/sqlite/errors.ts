import BetterSqlite3 from 'better-sqlite3';
import type { SqliteErrorConstructor } from './driver-types.js';

export const SqliteError: SqliteErrorConstructor = BetterSqlite3.SqliteError;

export function sqliteCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_') ? code : undefined;
}

/**
 * LiteFS refuses writes on a replica with EACCES, which SQLite reports as SQLITE_IOERR_WRITE in WAL mode and
 * SQLITE_READONLY in rollback-journal mode. A node that sees one has lost the lease, whatever it believed.
 */
export function isLeaseLostError(error: unknown): boolean {
  const code = sqliteCode(error);
  return code !== undefined && (code === 'SQLITE_IOERR_WRITE' || code.startsWith('SQLITE_READONLY'));
}

export function isBusyError(error: unknown): boolean {
  const code = sqliteCode(error);
  return code !== undefined && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'));
}

/** Rebuilds a primary's SQLite error on the replica as better-sqlite3's own class, code and message intact. */
export function toSqliteError(code: string, message: string): Error {
  return new SqliteError(message, code);
}
