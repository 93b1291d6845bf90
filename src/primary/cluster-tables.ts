import type { TrackingRow } from '../detection/primary-tracker.js';
import type { SqliteStatement } from '../sqlite/driver-types.js';
import type { Connection } from '../sqlite/statements.js';
import type { IdempotencyLedger } from './write-queue.js';

/**
 * The two replicated tables litefs-forward keeps in the application's database: the tracking table, where the
 * primary publishes its RPC address, and `<tableName>_requests`, the exactly-once ledger.
 */
export class ClusterTables implements IdempotencyLedger {
  readonly tracking: string;
  readonly requests: string;
  readonly #prepared = new WeakMap<Connection, Map<string, SqliteStatement>>();

  /** `tableName` is validated as an identifier before it gets here. */
  constructor(tableName: string) {
    this.tracking = tableName;
    this.requests = `${tableName}_requests`;
  }

  ensureSchema(connection: Connection): void {
    connection.exec(
      `CREATE TABLE IF NOT EXISTS "${this.tracking}" (id INTEGER PRIMARY KEY CHECK (id = 1), hostname TEXT NOT NULL, rpc_url TEXT NOT NULL, updated_at INTEGER NOT NULL);` +
        `CREATE TABLE IF NOT EXISTS "${this.requests}" (key TEXT PRIMARY KEY, result TEXT NOT NULL, created_at INTEGER NOT NULL) WITHOUT ROWID;` +
        `CREATE INDEX IF NOT EXISTS "${this.requests}_created_at" ON "${this.requests}" (created_at);`,
    );
  }

  publishPrimary(connection: Connection, hostname: string, rpcUrl: string, now = Date.now()): void {
    this.#prepare(connection, `INSERT INTO "${this.tracking}" (id, hostname, rpc_url, updated_at) VALUES (1, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET hostname = excluded.hostname, rpc_url = excluded.rpc_url, updated_at = excluded.updated_at`)
      .run(hostname, rpcUrl, now);
  }

  readTracking(connection: Connection): TrackingRow | undefined {
    const row = this.#prepare(connection, `SELECT hostname, rpc_url, updated_at FROM "${this.tracking}" WHERE id = 1`).get() as
      | { hostname: string; rpc_url: string; updated_at: number | bigint }
      | undefined;
    return row === undefined ? undefined : { hostname: row.hostname, rpcUrl: row.rpc_url, updatedAt: Number(row.updated_at) };
  }

  lookup(connection: Connection, key: string): string | undefined {
    const row = this.#prepare(connection, `SELECT result FROM "${this.requests}" WHERE key = ?`).get(key) as { result: string } | undefined;
    return row?.result;
  }

  record(connection: Connection, key: string, result: string): void {
    this.#prepare(connection, `INSERT INTO "${this.requests}" (key, result, created_at) VALUES (?, ?, ?)`).run(key, result, Date.now());
  }

  /** Deletes ledger entries older than `cutoff` (ms since epoch); returns how many. */
  purge(connection: Connection, cutoff: number): number {
    return this.#prepare(connection, `DELETE FROM "${this.requests}" WHERE created_at < ?`).run(cutoff).changes;
  }

  /** The ledger is on every forwarded write's path, so its statements are prepared once per connection. */
  #prepare(connection: Connection, sql: string): SqliteStatement {
    let statements = this.#prepared.get(connection);
    if (statements === undefined) this.#prepared.set(connection, (statements = new Map()));
    let statement = statements.get(sql);
    if (statement === undefined) statements.set(sql, (statement = connection.prepare(sql)));
    return statement;
  }
}
