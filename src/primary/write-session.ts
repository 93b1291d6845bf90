import { LiteFSForwardError } from '../errors.js';
import { isBusyError } from '../sqlite/errors.js';
import { type Connection, executeRaw, type StatementCache } from '../sqlite/statements.js';
import type { BindParameters, QueryResult } from '../types.js';
import { backoffDelay, sleep } from '../util/abort.js';
import type { StatementMode } from '../wire/protocol.js';
import { runScriptStatements, writerRefusal } from './units.js';
import type { IdempotencyLedger, WriteQueue, WriterLease } from './write-queue.js';

/**
 * An interactive write transaction on the primary. It holds the write queue from BEGIN to COMMIT/ROLLBACK, so
 * a local `db.transaction()` and a replica's remote session are the same thing underneath.
 */
export class WriteSession {
  readonly #lease: WriterLease;
  readonly #cache: StatementCache;
  #open = true;

  private constructor(lease: WriterLease, cache: StatementCache) {
    this.#lease = lease;
    this.#cache = cache;
  }

  static async begin(queue: WriteQueue, cache: StatementCache, signal?: AbortSignal): Promise<WriteSession> {
    const lease = await queue.acquire(signal);
    try {
      // busy_timeout is 0 on the writer: another process holding the lock is waited for here, asynchronously.
      for (let attempt = 0; ; attempt++) {
        try {
          lease.connection.exec('BEGIN IMMEDIATE');
          break;
        } catch (error) {
          if (!isBusyError(error)) throw error;
          await sleep(backoffDelay(attempt, 2, 100) + 1, signal);
        }
      }
      return new WriteSession(lease, cache);
    } catch (error) {
      lease.release();
      throw error;
    }
  }

  get open(): boolean {
    return this.#open;
  }

  get connection(): Connection {
    return this.#lease.connection;
  }

  query(sql: string, params: BindParameters | undefined, mode: StatementMode): QueryResult {
    this.#assertOpen();
    const entry = this.#cache.prepare(sql);
    const refused = writerRefusal(entry, sql, 'transaction');
    if (refused !== undefined) throw refused;
    return executeRaw(this.#lease.connection, entry, params, mode);
  }

  exec(sql: string): void {
    this.#assertOpen();
    runScriptStatements(this.#lease.connection, sql, 'transaction');
    // Defence in depth: a script have ended the transaction itself; the queue must not stay held by a session that has none.
    if (!this.#lease.connection.inTransaction) {
      this.#finish();
      throw new LiteFSForwardError('TRANSACTION_CLOSED', 'The script ended the transaction (COMMIT or ROLLBACK inside exec); end transactions with commit() or rollback().', { sql });
    }
  }

  /** Commits, recording the idempotency key in the same transaction. */
  commit(ledger: IdempotencyLedger | undefined, key: string | undefined): void {
    this.#assertOpen();
    const connection = this.#lease.connection;
    try {
      if (key !== undefined && ledger !== undefined) ledger.record(connection, key, 'null');
      connection.exec('COMMIT');
    } catch (error) {
      if (connection.inTransaction) {
        try {
          connection.exec('ROLLBACK');
        } catch {}
      }
      this.#finish();
      throw error;
    }
    this.#finish();
  }

  rollback(): void {
    if (!this.#open) return;
    try {
      if (this.#lease.connection.inTransaction) this.#lease.connection.exec('ROLLBACK');
    } finally {
      this.#finish();
    }
  }

  #finish(): void {
    this.#open = false;
    this.#lease.release();
  }

  #assertOpen(): void {
    if (!this.#open) throw new LiteFSForwardError('TRANSACTION_CLOSED', 'The transaction has already ended; start a new one.');
  }
}
