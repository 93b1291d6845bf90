import { PreparedStatements } from '../sqlite/prepared-statements.js';
import type { Connection } from '../sqlite/statements.js';
import type { IdempotencyLedger } from './write-queue.js';

/**
 * The exactly-once ledger, `<tableName>_requests`, in the application's database: a keyed write's result is
 * recorded in the same transaction as the write, so a retry with the key gets the result instead of a second run.
 */
export class ExactlyOnceLedger implements IdempotencyLedger {
  readonly table: string;
  readonly #statements = new PreparedStatements();

  /** `tableName` is validated as an identifier before it gets here. */
  constructor(tableName: string) {
    this.table = `${tableName}_requests`;
  }

  ensureSchema(connection: Connection): void {
    connection.exec(
      `CREATE TABLE IF NOT EXISTS "${this.table}" (key TEXT PRIMARY KEY, result TEXT NOT NULL, created_at INTEGER NOT NULL) WITHOUT ROWID;` +
        `CREATE INDEX IF NOT EXISTS "${this.table}_created_at" ON "${this.table}" (created_at);`,
    );
  }

  lookup(connection: Connection, key: string): string | undefined {
    const row = this.#statements.get(connection, `SELECT result FROM "${this.table}" WHERE key = ?`).get(key) as { result: string } | undefined;
    return row?.result;
  }

  record(connection: Connection, key: string, result: string): void {
    this.#statements.get(connection, `INSERT INTO "${this.table}" (key, result, created_at) VALUES (?, ?, ?)`).run(key, result, Date.now());
  }

  /** Deletes entries older than `cutoff` (ms since epoch); returns how many. */
  purge(connection: Connection, cutoff: number): number {
    return this.#statements.get(connection, `DELETE FROM "${this.table}" WHERE created_at < ?`).run(cutoff).changes;
  }
}
