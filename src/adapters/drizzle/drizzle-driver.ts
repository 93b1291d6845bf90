import { DefaultLogger, type DrizzleConfig, type Logger, type RelationalSchemaConfig, type TablesRelationalConfig, createTableRelationsHelpers, extractTablesRelationalConfig } from 'drizzle-orm';
import type { BatchItem, BatchResponse } from 'drizzle-orm/batch';
import { LibSQLDatabase } from 'drizzle-orm/libsql/driver-core';
import { LibSQLSession } from 'drizzle-orm/libsql/session';
import { type BaseSQLiteDatabase, SQLiteAsyncDialect } from 'drizzle-orm/sqlite-core';
import type { LiteFSDatabase } from '../../database.js';
import { ConfigError } from '../../errors.js';
import { LiteFSLibSQLClient, type LiteFSResultSet } from './drizzle-client.js';

/**
 * A Drizzle database on litefs-forward: drizzle-orm's libsql database, whose `run()` results are
 * {@link LiteFSResultSet}s and whose `$client` is the {@link LiteFSLibSQLClient}.
 */
export type LiteFSDrizzleDatabase<TSchema extends Record<string, unknown> = Record<string, never>> = BaseSQLiteDatabase<'async', LiteFSResultSet, TSchema> & {
  /** Runs the queries atomically on the primary (one round trip from a replica) and returns each one's result. */
  batch<U extends BatchItem<'sqlite'>, T extends Readonly<[U, ...U[]]>>(batch: T): Promise<BatchResponse<T>>;
  $client: LiteFSLibSQLClient;
};

/**
 * Drizzle on a litefs-forward database. Reads run on the local file; writes, `db.batch()` and `db.transaction()`
 * run on the primary. Built on drizzle-orm's libsql driver (`drizzle-orm/libsql/driver-core`, which does not
 * need @libsql/client), so every query builder, relational queries and nested transactions behave as with libsql.
 *
 * ```ts
 * const db = drizzle(await openDatabase({ path: '/litefs/app.db' }), { schema })
 * ```
 */
export function drizzle<TSchema extends Record<string, unknown> = Record<string, never>>(
  database: LiteFSDatabase,
  config: DrizzleConfig<TSchema> = {},
): LiteFSDrizzleDatabase<TSchema> {
  if (typeof database !== 'object' || database === null || typeof database.query !== 'function' || typeof database.begin !== 'function') {
    throw new ConfigError('database', database, "the database from litefs-forward's openDatabase()");
  }
  const client = new LiteFSLibSQLClient(database);
  // What drizzle-orm/libsql's drizzle() does, minus creating a @libsql/client.
  const dialect = new SQLiteAsyncDialect({ casing: config.casing });
  const logger: Logger | undefined = config.logger === true ? new DefaultLogger() : config.logger === false ? undefined : config.logger;
  let schema: RelationalSchemaConfig<TablesRelationalConfig> | undefined;
  if (config.schema !== undefined) {
    const tables = extractTablesRelationalConfig(config.schema, createTableRelationsHelpers);
    schema = { fullSchema: config.schema, schema: tables.tables, tableNamesMap: tables.tableNamesMap };
  }
  const session = new LibSQLSession(client, dialect, schema, { logger, cache: config.cache }, undefined);
  const db = new LibSQLDatabase('async', dialect, session, schema) as unknown as LiteFSDrizzleDatabase<TSchema>;
  db.$client = client;
  const cache = config.cache;
  Object.assign(db, { $cache: cache });
  if (cache !== undefined) Object.assign(cache, { invalidate: cache.onMutate });
  return db;
}
