import type { SqliteDatabase, SqliteDriver, SqliteErrorConstructor } from '../driver-types.js';

interface BetterSqlite3Module {
  new (path: string, options?: { readonly?: boolean; timeout?: number }): SqliteDatabase;
  readonly SqliteError: SqliteErrorConstructor;
}

/** better-sqlite3, imported only when chosen, so that an app on node:sqlite does not need it installed. */
export async function loadBetterSqlite3(): Promise<SqliteDriver> {
  const Database = ((await import('better-sqlite3')) as unknown as { default: BetterSqlite3Module }).default;
  return {
    name: 'better-sqlite3',
    open: (path, options = {}) => new Database(path, options),
    SqliteError: Database.SqliteError,
  };
}
