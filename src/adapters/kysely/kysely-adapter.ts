import { SqliteAdapter } from 'kysely';

/**
 * Kysely's SQLite adapter, except that migrations run in one transaction.
 *
 * Kysely's SQLite adapter has no migration lock: it relies on better-sqlite3's single connection. Here every
 * node of the cluster and every concurrent caller has its own connection, so the Migrator's transaction is the
 * lock instead: it holds the primary's write lock from the moment it reads the migration table until it commits,
 * so two nodes migrating at once run the migrations exactly once. SQLite's DDL is transactional, so a failed
 * migration leaves nothing behind. Pass `disableTransactions: true` to the Migrator for a migration that must run
 * outside a transaction (such as one that sets `PRAGMA foreign_keys`); it then has no lock.
 */
export class LiteFSAdapter extends SqliteAdapter {
  constructor() {
    super();
    // Kysely 0.29 runs every query through one connection unless the adapter says it supports several (its
    // SqliteAdapter says no; 0.28 has no such property). Here connections are independent, and an open
    // transaction must not block queries outside it. An own property, since only 0.29's types declare the getter.
    Object.defineProperty(this, 'supportsMultipleConnections', { value: true });
  }

  override get supportsTransactionalDdl(): boolean {
    return true;
  }
}
