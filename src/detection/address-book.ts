import { PreparedStatements } from '../sqlite/prepared-statements.js';
import type { Connection } from '../sqlite/statements.js';
import type { TrackingRow } from './primary-tracker.js';

/**
 * The tracking table in the application's database: the primary publishes its hostname and RPC address there, and
 * LiteFS replicates the row, so every replica can read where to forward.
 */
export class AddressBook {
  readonly table: string;
  readonly #statements = new PreparedStatements();

  /** `tableName` is validated as an identifier before it gets here. */
  constructor(tableName: string) {
    this.table = tableName;
  }

  ensureSchema(connection: Connection): void {
    connection.exec(`CREATE TABLE IF NOT EXISTS "${this.table}" (id INTEGER PRIMARY KEY CHECK (id = 1), hostname TEXT NOT NULL, rpc_url TEXT NOT NULL, updated_at INTEGER NOT NULL);`);
  }

  publish(connection: Connection, hostname: string, rpcUrl: string, now = Date.now()): void {
    this.#statements
      .get(connection, `INSERT INTO "${this.table}" (id, hostname, rpc_url, updated_at) VALUES (1, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET hostname = excluded.hostname, rpc_url = excluded.rpc_url, updated_at = excluded.updated_at`)
      .run(hostname, rpcUrl, now);
  }

  read(connection: Connection): TrackingRow | undefined {
    const row = this.#statements.get(connection, `SELECT hostname, rpc_url, updated_at FROM "${this.table}" WHERE id = 1`).get() as
      | { hostname: string; rpc_url: string; updated_at: number | bigint }
      | undefined;
    return row === undefined ? undefined : { hostname: row.hostname, rpcUrl: row.rpc_url, updatedAt: Number(row.updated_at) };
  }
}
