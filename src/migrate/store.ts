import type { LiteFSDatabase } from '../database.js';
import type { CallOptions, Queryable } from '../types.js';

/**
 * The primary's clock, in ms since the epoch, as SQLite computes it. Every lock time is written and compared in the
 * same statement on the primary, so the nodes' clocks never meet (a replica's lock call would run on the primary).
 */
const NOW = `CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)`;

export interface LockHolder {
  owner: string;
  /** How long the holder's lease on the lock still runs, by the primary's clock; ≤ 0 once expired. */
  remainingMs: number;
}

/**
 * litefs-forward's migration tables in the application's database: `<table>` records each applied migration (a SQL
 * file by name, or a command run as `command:<id>`), and `<table>_lock` is the cluster-wide migration lock, one row
 * with an owner, a random token and an expiry. The database has a single writer, the primary, so one row is one
 * lock for the whole cluster, and LiteFS replicates both tables to every node.
 */
export class MigrationStore {
  readonly table: string;
  readonly lockTable: string;

  /** `table` is validated as an identifier before it gets here. */
  constructor(table: string) {
    this.table = table;
    this.lockTable = `${table}_lock`;
  }

  get schemaSql(): string {
    return (
      `CREATE TABLE IF NOT EXISTS "${this.table}" (name TEXT PRIMARY KEY, kind TEXT NOT NULL, checksum TEXT NOT NULL, node TEXT NOT NULL, applied_at INTEGER NOT NULL) WITHOUT ROWID;` +
      `CREATE TABLE IF NOT EXISTS "${this.lockTable}" (id INTEGER PRIMARY KEY CHECK (id = 1), owner TEXT NOT NULL, token TEXT NOT NULL, acquired_at INTEGER NOT NULL, heartbeat_at INTEGER NOT NULL, expires_at INTEGER NOT NULL);`
    );
  }

  /**
   * The migrations recorded in this node's own copy (name → checksum), read in a read-only transaction: local on
   * every node, never forwarded and never held back by schema gating. Empty before the table exists here.
   */
  async recorded(db: LiteFSDatabase): Promise<Map<string, string>> {
    return db.transaction(
      async (tx) => {
        const exists = await tx.get(`SELECT 1 AS found FROM sqlite_master WHERE type = 'table' AND name = ?`, [this.table]);
        if (exists === undefined) return new Map<string, string>();
        const rows = await tx.all<{ name: string; checksum: string }>(`SELECT name, checksum FROM "${this.table}"`);
        return new Map(rows.map((row) => [row.name, row.checksum]));
      },
      { readOnly: true },
    );
  }

  /** Takes the lock when it is free or expired; true when this token now holds it. */
  async acquire(db: Queryable, owner: string, token: string, ttlMs: number, options: CallOptions): Promise<boolean> {
    const result = await db.run(
      `INSERT INTO "${this.lockTable}" (id, owner, token, acquired_at, heartbeat_at, expires_at) VALUES (1, ?, ?, ${NOW}, ${NOW}, ${NOW} + ?) ` +
        `ON CONFLICT (id) DO UPDATE SET owner = excluded.owner, token = excluded.token, acquired_at = excluded.acquired_at, ` +
        `heartbeat_at = excluded.heartbeat_at, expires_at = excluded.expires_at WHERE "${this.lockTable}".expires_at <= excluded.acquired_at`,
      [owner, token, ttlMs],
      options,
    );
    return result.changes === 1;
  }

  /** Extends the lock held by `token` (in a transaction: fences it). False when the token no longer holds it. */
  async renew(db: Queryable, token: string, ttlMs: number, options?: CallOptions): Promise<boolean> {
    const result = await db.run(
      `UPDATE "${this.lockTable}" SET heartbeat_at = ${NOW}, expires_at = ${NOW} + ? WHERE id = 1 AND token = ? AND expires_at > ${NOW}`,
      [ttlMs, token],
      options,
    );
    return result.changes === 1;
  }

  async release(db: Queryable, token: string, options: CallOptions): Promise<void> {
    await db.run(`DELETE FROM "${this.lockTable}" WHERE id = 1 AND token = ?`, [token], options);
  }

  async holder(db: Queryable): Promise<LockHolder | undefined> {
    const row = await db.get<{ owner: string; remaining: number | bigint }>(`SELECT owner, expires_at - ${NOW} AS remaining FROM "${this.lockTable}" WHERE id = 1`);
    return row === undefined ? undefined : { owner: row.owner, remainingMs: Number(row.remaining) };
  }

  async checksumOf(db: Queryable, name: string): Promise<string | undefined> {
    const row = await db.get<{ checksum: string }>(`SELECT checksum FROM "${this.table}" WHERE name = ?`, [name]);
    return row?.checksum;
  }

  /** Records a migration, only while `token` still holds an unexpired lock; true when recorded. */
  async record(db: Queryable, name: string, kind: 'sql' | 'command', checksum: string, node: string, token: string, options?: CallOptions): Promise<boolean> {
    const result = await db.run(
      `INSERT INTO "${this.table}" (name, kind, checksum, node, applied_at) SELECT ?, ?, ?, ?, ${NOW} ` +
        `WHERE EXISTS (SELECT 1 FROM "${this.lockTable}" WHERE id = 1 AND token = ? AND expires_at > ${NOW})`,
      [name, kind, checksum, node, token],
      options,
    );
    return result.changes === 1;
  }
}
