import {
  DefaultLogger,
  type DrizzleConfig,
  DrizzleError,
  DrizzleQueryError,
  type Logger,
  type RelationalSchemaConfig,
  type TablesRelationalConfig,
  createTableRelationsHelpers,
  extractTablesRelationalConfig,
} from 'drizzle-orm';
import type { BatchItem, BatchResponse } from 'drizzle-orm/batch';
import { LibSQLDatabase } from 'drizzle-orm/libsql/driver-core';
import { LibSQLSession, LibSQLTransaction } from 'drizzle-orm/libsql/session';
import { type BaseSQLiteDatabase, SQLiteAsyncDialect, type SQLiteTransactionConfig } from 'drizzle-orm/sqlite-core';
import type { LiteFSDatabase } from '../../database.js';
import { ConfigError } from '../../errors.js';
import { LiteFSLibSQLClient, type LiteFSLibSQLTransaction, type LiteFSResultSet } from './drizzle-client.js';

type SessionOptions = ConstructorParameters<typeof LibSQLSession>[3];
type AnySchema = RelationalSchemaConfig<TablesRelationalConfig> | undefined;

/**
 * drizzle-orm's libsql session, throwing errors as drizzle-orm's better-sqlite3 driver does (drizzle-orm 0.45).
 * The libsql driver wraps every failed query in a DrizzleQueryError (no `code`; the SqliteError in `cause`); the
 * better-sqlite3 driver, which runs the same better-sqlite3 underneath, throws the SqliteError itself, code and
 * message intact, except for `db.run(sql)`, which it wraps in a DrizzleError (the SqliteError in `cause`). This
 * adapter does the same, and throws litefs-forward's own errors (`FORWARD_TIMEOUT`...) as they are.
 */
// biome-ignore lint/suspicious/noExplicitAny: drizzle's session generics are erased at this level.
class LiteFSDrizzleSession extends LibSQLSession<any, any> {
  readonly #client: LiteFSLibSQLClient;
  readonly #dialect: SQLiteAsyncDialect;
  readonly #schema: AnySchema;
  readonly #options: SessionOptions;

  constructor(client: LiteFSLibSQLClient, dialect: SQLiteAsyncDialect, schema: AnySchema, options: SessionOptions, tx: LiteFSLibSQLTransaction | undefined) {
    super(client as never, dialect, schema, options, tx as never);
    this.#client = client;
    this.#dialect = dialect;
    this.#schema = schema;
    this.#options = options;
    const prepare = this.prepareQuery.bind(this);
    this.prepareQuery = ((...args: Parameters<typeof prepare>) => {
      const prepared = prepare(...args);
      // queryWithCache is where every query of a prepared statement runs, and where drizzle wraps its errors.
      const target = prepared as unknown as { queryWithCache(...rest: unknown[]): Promise<unknown> };
      const original = target.queryWithCache;
      target.queryWithCache = async function (this: unknown, ...rest: unknown[]): Promise<unknown> {
        try {
          return await original.apply(this, rest);
        } catch (error) {
          throw unwrapQueryError(error);
        }
      };
      return prepared;
    }) as typeof this.prepareQuery;
    // drizzle's SQLiteSession.run wraps a failure in a DrizzleError only when it is synchronous, as with
    // better-sqlite3; in async mode the rejection escapes its try. Wrap it the same way, so `db.run()` fails alike.
    this.run = (async (query: Parameters<typeof this.run>[0]) => {
      const staticQuery = dialect.sqlToQuery(query);
      try {
        return await this.prepareOneTimeQuery(staticQuery, undefined, 'run', false).run();
      } catch (error) {
        throw new DrizzleError({ cause: error, message: `Failed to run the query '${staticQuery.sql}'` });
      }
    }) as typeof this.run;
  }

  // What LibSQLSession.transaction does, with a session of this class so that queries inside throw the same way.
  override async transaction<T>(transaction: (tx: LibSQLTransaction<never, never>) => T | Promise<T>, _config?: SQLiteTransactionConfig): Promise<T> {
    const clientTx = await this.#client.transaction();
    const session = new LiteFSDrizzleSession(this.#client, this.#dialect, this.#schema, this.#options, clientTx);
    const tx = new LibSQLTransaction('async', this.#dialect, session, this.#schema as never);
    try {
      const result = await transaction(tx as never);
      await clientTx.commit();
      return result;
    } catch (error) {
      await clientTx.rollback();
      throw error;
    }
  }
}

function unwrapQueryError(error: unknown): unknown {
  return error instanceof DrizzleQueryError && error.cause instanceof Error ? error.cause : error;
}

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
  const session = new LiteFSDrizzleSession(client, dialect, schema, { logger, cache: config.cache }, undefined);
  const db = new LibSQLDatabase('async', dialect, session as never, schema as never) as unknown as LiteFSDrizzleDatabase<TSchema>;
  db.$client = client;
  const cache = config.cache;
  Object.assign(db, { $cache: cache });
  if (cache !== undefined) Object.assign(cache, { invalidate: cache.onMutate });
  return db;
}
