import type { DriverName } from '../config.js';

// The parts of a SQLite handle that litefs-forward uses, in better-sqlite3's shape and declared structurally (as
// Kysely declares its SQLite dialect's database), so the published declarations need neither better-sqlite3's
// types nor @types/better-sqlite3. better-sqlite3 12 and 13 satisfy them as they are; node:sqlite through
// drivers/node-sqlite.ts.

/** What `run()` returns. */
export interface SqliteRunResult {
  changes: number;
  lastInsertRowid: number | bigint;
}

/** A column of a statement's result, as `columns()` describes it. */
export interface SqliteColumn {
  name: string;
  column: string | null;
  table: string | null;
  database: string | null;
  type: string | null;
}

/** A prepared statement. */
export interface SqliteStatement {
  readonly source: string;
  /** sqlite3_stmt_readonly: the statement does not write the database file directly. */
  readonly readonly: boolean;
  /** The statement returns rows. */
  readonly reader: boolean;
  run(...params: unknown[]): SqliteRunResult;
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
  iterate(...params: unknown[]): IterableIterator<unknown>;
  raw(toggle?: boolean): this;
  safeIntegers(toggle?: boolean): this;
  columns(): SqliteColumn[];
}

/** An open database connection. */
export interface SqliteDatabase {
  readonly name: string;
  readonly open: boolean;
  readonly inTransaction: boolean;
  readonly readonly: boolean;
  prepare(source: string): SqliteStatement;
  exec(source: string): this;
  pragma(source: string, options?: { simple?: boolean }): unknown;
  close(): this;
  defaultSafeIntegers(toggle?: boolean): this;
}

/** The class of SQLite's errors: SQLite's extended result code by name (`SQLITE_CONSTRAINT_UNIQUE`) and message. */
export interface SqliteErrorConstructor {
  new (message: string, code: string): Error & { code: string };
  readonly prototype: Error & { code: string };
}

export interface OpenOptions {
  readonly?: boolean;
  /** SQLite's busy timeout in ms. */
  timeout?: number;
}

/** A SQLite binding: how connections are opened, and the class their errors have. */
export interface SqliteDriver {
  readonly name: DriverName;
  open(path: string, options?: OpenOptions): SqliteDatabase;
  readonly SqliteError: SqliteErrorConstructor;
}
