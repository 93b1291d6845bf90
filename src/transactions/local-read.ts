import { readingLocally } from '../detection/mount-errors.js';
import { transactionControlError } from '../primary/units.js';
import { executeLocal, StatementCache } from '../sqlite/statements.js';
import type { SqliteDriver } from '../sqlite/driver-types.js';
import type { TransactionDriver } from '../transaction.js';

export interface LocalReadOptions {
  path: string;
  hostname: string;
  safeIntegers: boolean;
  driver: SqliteDriver;
}

/**
 * A read-only transaction on every node: a connection of its own on a snapshot of the local file, so nothing it
 * runs (a TEMP table included) reaches another caller. Closed when the transaction ends.
 */
export function openLocalReadDriver(options: LocalReadOptions): TransactionDriver {
  const context = { node: options.hostname };
  const snapshot = readingLocally(() => options.driver.open(options.path, { readonly: true }), context);
  snapshot.defaultSafeIntegers(options.safeIntegers);
  const cache = new StatementCache(snapshot);
  snapshot.exec('BEGIN');
  const end = (sql: string): void => {
    try {
      if (snapshot.inTransaction) snapshot.exec(sql);
    } finally {
      snapshot.close();
    }
  };
  return {
    location: 'local',
    readOnly: true,
    query: async (sql, params, mode) => {
      const entry = readingLocally(() => cache.prepare(sql), { ...context, sql });
      if (entry.kind === 'transaction-control') throw transactionControlError(sql);
      return readingLocally(() => executeLocal(snapshot, entry, params, mode), { ...context, sql });
    },
    exec: async (sql) => {
      snapshot.exec(sql);
    },
    commit: async () => end('COMMIT'),
    rollback: async () => end('ROLLBACK'),
  };
}
