import type { LiteFSDatabase } from '../../database.js';

/** Configuration of {@link LiteFSDialect}. */
export interface LiteFSDialectConfig {
  /**
   * The database from `openDatabase()`, or a function that opens it on first use. Kysely's `db.destroy()` closes
   * it, as Kysely's own SQLite dialect closes its database.
   */
  database: LiteFSDatabase | (() => Promise<LiteFSDatabase>);
}
