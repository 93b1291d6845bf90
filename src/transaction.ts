import { LiteFSForwardError } from './errors.js';
import type { BindParameters, CallOptions, QueryResult, Row, RunResult, SqlValue, Transaction } from './types.js';
import type { StatementMode } from './wire/protocol.js';

/** What each kind of transaction (local read, local write, remote session) provides underneath. */
export interface TransactionDriver {
  readonly location: 'local' | 'remote';
  readonly readOnly: boolean;
  query(sql: string, params: BindParameters | undefined, mode: StatementMode, options: CallOptions): Promise<unknown>;
  exec(sql: string, options: CallOptions): Promise<void>;
  commit(options: CallOptions): Promise<void>;
  rollback(options: CallOptions): Promise<void>;
}

/**
 * The one Transaction the user sees. Calls run one at a time in the order they were made, as on a single
 * connection, and nothing runs after commit() or rollback().
 */
export class DatabaseTransaction implements Transaction {
  readonly #driver: TransactionDriver;
  #tail: Promise<unknown> = Promise.resolve();
  #ended = false;

  constructor(driver: TransactionDriver) {
    this.#driver = driver;
  }

  get location(): 'local' | 'remote' {
    return this.#driver.location;
  }

  get readOnly(): boolean {
    return this.#driver.readOnly;
  }

  run(sql: string, params?: BindParameters, options: CallOptions = {}): Promise<RunResult> {
    return this.#enqueue(() => this.#driver.query(sql, params, 'run', options)) as Promise<RunResult>;
  }

  get<T = Row>(sql: string, params?: BindParameters, options: CallOptions = {}): Promise<T | undefined> {
    return this.#enqueue(() => this.#driver.query(sql, params, 'get', options)) as Promise<T | undefined>;
  }

  all<T = Row>(sql: string, params?: BindParameters, options: CallOptions = {}): Promise<T[]> {
    return this.#enqueue(() => this.#driver.query(sql, params, 'all', options)) as Promise<T[]>;
  }

  values(sql: string, params?: BindParameters, options: CallOptions = {}): Promise<SqlValue[][]> {
    return this.#enqueue(() => this.#driver.query(sql, params, 'values', options)) as Promise<SqlValue[][]>;
  }

  query(sql: string, params?: BindParameters, options: CallOptions = {}): Promise<QueryResult> {
    return this.#enqueue(() => this.#driver.query(sql, params, 'query', options)) as Promise<QueryResult>;
  }

  exec(sql: string, options: CallOptions = {}): Promise<void> {
    return this.#enqueue(() => this.#driver.exec(sql, options)) as Promise<void>;
  }

  commit(options: CallOptions = {}): Promise<void> {
    return this.#end(() => this.#driver.commit(options));
  }

  /** Rolls back; a no-op once the transaction has ended. */
  rollback(options: CallOptions = {}): Promise<void> {
    if (this.#ended) return this.#tail.then(() => {});
    return this.#end(() => this.#driver.rollback(options));
  }

  /**
   * For `await using tx = await db.begin()`: rolls back a transaction that was not committed, and does nothing
   * after commit() or rollback(). A rollback that cannot reach the primary is not an error here: the primary rolls
   * the session back itself after `transactionIdleTimeout`.
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.rollback().catch(() => {});
  }

  #end(fn: () => Promise<void>): Promise<void> {
    const result = this.#enqueue(fn) as Promise<void>;
    this.#ended = true;
    return result;
  }

  #enqueue(fn: () => Promise<unknown>): Promise<unknown> {
    if (this.#ended) return Promise.reject(new LiteFSForwardError('TRANSACTION_CLOSED', 'The transaction has already been committed or rolled back; start a new one.'));
    const result = this.#tail.then(fn, fn);
    this.#tail = result.catch(() => {});
    return result;
  }
}
