import { type DatabaseIntrospector, type Dialect, type DialectAdapter, type Driver, type Kysely, type QueryCompiler, SqliteIntrospector, SqliteQueryCompiler } from 'kysely';
import { ConfigError } from '../../errors.js';
import { LiteFSAdapter } from './kysely-adapter.js';
import type { LiteFSDialectConfig } from './kysely-dialect-config.js';
import { LiteFSDriver } from './kysely-driver.js';

/**
 * Kysely's SQLite dialect on a litefs-forward database: reads run on the local file, writes and transactions on
 * the primary. Kysely's SQLite query compiler, adapter and introspector are reused as they are.
 *
 * ```ts
 * const db = new Kysely<Database>({ dialect: new LiteFSDialect({ database: await openDatabase({ path: '/litefs/app.db' }) }) })
 * ```
 */
export class LiteFSDialect implements Dialect {
  readonly #config: LiteFSDialectConfig;

  constructor(config: LiteFSDialectConfig) {
    const database = (config as Partial<LiteFSDialectConfig> | undefined)?.database;
    const isDatabase = typeof database === 'object' && database !== null && typeof database.query === 'function' && typeof database.begin === 'function';
    if (!isDatabase && typeof database !== 'function') {
      throw new ConfigError('database', database, "the database from litefs-forward's openDatabase(), or an async function that returns it");
    }
    this.#config = Object.freeze({ ...config });
  }

  createDriver(): Driver {
    return new LiteFSDriver(this.#config);
  }

  createQueryCompiler(): QueryCompiler {
    return new SqliteQueryCompiler();
  }

  createAdapter(): DialectAdapter {
    return new LiteFSAdapter();
  }

  // biome-ignore lint/suspicious/noExplicitAny: Kysely's Dialect interface takes Kysely<any>.
  createIntrospector(db: Kysely<any>): DatabaseIntrospector {
    return new SqliteIntrospector(db);
  }
}
