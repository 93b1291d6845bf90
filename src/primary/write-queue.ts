import { LiteFSForwardError, NotPrimaryError, StatementRefusedError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Connection } from '../sqlite/statements.js';
import { isBusyError, isLeaseLostError } from '../sqlite/errors.js';
import { abortError, backoffDelay } from '../util/abort.js';
import type { Position } from '../detection/litefs-files.js';

/** One caller's write: it runs inside a SAVEPOINT of a shared transaction, so its failure touches nothing else. */
export interface WriteUnit<T> {
  execute(connection: Connection): T;
  /** Idempotency key: when already recorded, the recorded result is returned and nothing runs. */
  key?: string | undefined;
  encode?(value: T): string;
  decode?(stored: string): T;
}

export interface Committed<T> {
  value: T;
  /** The LiteFS TXID of the commit that made this write durable, when LiteFS reports positions. */
  txid: string | undefined;
  /** LiteFS's post-apply checksum at that TXID: which transaction the number names. */
  checksum?: string | undefined;
  /** True when the key was already recorded and the write did not run again. */
  replayed: boolean;
}

/** The writer connection, held exclusively until `release()`; used by transactions and scripts. */
export interface WriterLease {
  readonly connection: Connection;
  release(): void;
}

/** Where exactly-once records live; writes happen inside the caller's transaction. */
export interface IdempotencyLedger {
  lookup(connection: Connection, key: string): string | undefined;
  record(connection: Connection, key: string, result: string): void;
}

export interface WriteQueueOptions {
  connection: Connection;
  maxGroupSize: number;
  maxGroupWaitMs: number;
  ledger?: IdempotencyLedger | undefined;
  readPosition(): Position | undefined;
  /** Called when LiteFS refused a write: this node is not primary any more. */
  onLeaseLost(error: unknown): void;
  logger: Logger;
}

type Pending =
  | { kind: 'unit'; unit: WriteUnit<unknown>; resolve(value: Committed<unknown>): void; reject(error: unknown): void; signal?: AbortSignal | undefined }
  | { kind: 'lease'; resolve(lease: WriterLease): void; reject(error: unknown): void; signal?: AbortSignal | undefined };

type Outcome = { ok: true; value: unknown; replayed: boolean } | { ok: false; error: unknown };

const SAVEPOINT = 'litefs_forward_unit';
const BUSY_BASE_MS = 2;
const BUSY_CAP_MS = 100;

/**
 * The one place that decides who may write. Every writer on the primary, local or forwarded, goes through it,
 * so writes never contend for SQLite's lock inside this process and nothing blocks the event loop on SQLITE_BUSY
 * (the writer connection has busy_timeout 0; a busy lock held by another process is retried asynchronously).
 *
 * Single writes queued together are committed as one SQLite transaction (group commit), each in its own
 * SAVEPOINT, which pays LiteFS's per-commit cost once for the whole group.
 */
export class WriteQueue {
  readonly #options: WriteQueueOptions;
  readonly #pending: Pending[] = [];
  #busy = false;
  #scheduled = false;
  #busyAttempts = 0;
  /** How many queued units must be committed alone, after a group failed as a whole. */
  #isolate = 0;
  #closed: Error | undefined;

  constructor(options: WriteQueueOptions) {
    this.#options = options;
  }

  /** Swaps the writer connection; call only while holding a lease. */
  setConnection(connection: Connection): void {
    this.#options.connection = connection;
  }

  /** Entries waiting (writes and lease requests): the queue's depth. */
  get pending(): number {
    return this.#pending.length;
  }

  /**
   * Queues a write. While it waits, its AbortSignal (which carries the caller's deadline) can take it out of the
   * queue: it is then rejected with the signal's error and never runs. Once its group has started, it runs to the end.
   */
  submit<T>(unit: WriteUnit<T>, signal?: AbortSignal): Promise<Committed<T>> {
    return new Promise<Committed<T>>((resolve, reject) => {
      if (this.#closed) return reject(this.#closed);
      if (signal?.aborted) return reject(abortError(signal));
      const first = this.#pending.length === 0;
      const detach = this.#onAbort(signal, () => entry);
      const entry: Pending = {
        kind: 'unit',
        unit: unit as WriteUnit<unknown>,
        resolve: (value) => {
          detach();
          resolve(value as Committed<T>);
        },
        reject: (error) => {
          detach();
          reject(error);
        },
        signal,
      };
      this.#pending.push(entry);
      this.#schedule(first ? this.#options.maxGroupWaitMs : 0);
    });
  }

  /** Waits for exclusive use of the writer connection. The holder owns BEGIN/COMMIT and must release. */
  acquire(signal?: AbortSignal): Promise<WriterLease> {
    return new Promise<WriterLease>((resolve, reject) => {
      if (this.#closed) return reject(this.#closed);
      if (signal?.aborted) return reject(abortError(signal));
      const detach = this.#onAbort(signal, () => entry);
      const entry: Pending = {
        kind: 'lease',
        resolve: (lease) => {
          detach();
          resolve(lease);
        },
        reject: (error) => {
          detach();
          reject(error);
        },
        signal,
      };
      this.#pending.push(entry);
      this.#schedule();
    });
  }

  /** Listens for the abort of a queued entry until it settles; returns the function that stops listening. */
  #onAbort(signal: AbortSignal | undefined, entry: () => Pending): () => void {
    if (signal === undefined) return () => {};
    const onAbort = (): void => this.#cancel(entry());
    signal.addEventListener('abort', onAbort, { once: true });
    return () => signal.removeEventListener('abort', onAbort);
  }

  /** Resolves once everything queued so far has been committed or has failed. */
  async drain(): Promise<void> {
    while (this.#pending.length > 0 || this.#busy) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  /** Refuses new work and fails what is queued; a lease already granted stays with its holder. */
  close(reason: Error = new LiteFSForwardError('CLOSED', 'The database was closed; open a new instance to keep writing.')): void {
    this.#closed = reason;
    for (const entry of this.#pending.splice(0)) entry.reject(reason);
  }

  #cancel(entry: Pending): void {
    // Not in the queue: it is running (or ran) in a group, and its outcome is the group's.
    const index = this.#pending.indexOf(entry);
    if (index === -1) return;
    this.#pending.splice(index, 1);
    entry.reject(abortError(entry.signal!));
  }

  #schedule(delayMs = 0): void {
    if (this.#scheduled || this.#busy) return;
    this.#scheduled = true;
    // Deferring to the next turn lets requests that arrived together be committed together.
    const run = (): void => {
      this.#scheduled = false;
      this.#drain();
    };
    if (delayMs > 0) setTimeout(run, delayMs).unref();
    else setImmediate(run);
  }

  #drain(): void {
    if (this.#busy) return;
    const head = this.#pending[0];
    if (head === undefined) return;
    if (head.kind === 'lease') {
      this.#pending.shift();
      this.#busy = true;
      let released = false;
      head.resolve({
        connection: this.#options.connection,
        release: () => {
          if (released) return;
          released = true;
          this.#busy = false;
          this.#schedule();
        },
      });
      return;
    }
    const group = this.#takeGroup();
    if (group.length === 0) {
      this.#schedule();
      return;
    }
    this.#busy = true;
    let retryAfterBusy = false;
    try {
      retryAfterBusy = this.#commitGroup(group) === 'busy';
    } finally {
      this.#busy = false;
    }
    if (retryAfterBusy) {
      this.#pending.unshift(...group);
      this.#schedule(backoffDelay(this.#busyAttempts++, BUSY_BASE_MS, BUSY_CAP_MS) + 1);
    } else {
      this.#busyAttempts = 0;
      if (this.#pending.length > 0) this.#schedule();
    }
  }

  #takeGroup(): Extract<Pending, { kind: 'unit' }>[] {
    const group: Extract<Pending, { kind: 'unit' }>[] = [];
    const limit = this.#isolate > 0 ? 1 : this.#options.maxGroupSize;
    while (group.length < limit) {
      const next = this.#pending[0];
      if (next === undefined || next.kind !== 'unit') break;
      this.#pending.shift();
      if (next.signal?.aborted) next.reject(abortError(next.signal));
      else group.push(next);
    }
    if (this.#isolate > 0) this.#isolate--;
    return group;
  }

  /**
   * Runs a group in one transaction, each member in its own SAVEPOINT. Two rules keep a member from breaking the
   * group: after each member the connection must still be inside the group's transaction (a member that ended it
   * is that member's failure, and nothing that may have committed is run again), and only a failure of COMMIT
   * itself, when nothing of the group can have been committed, sends the members back to the queue.
   */
  #commitGroup(group: Extract<Pending, { kind: 'unit' }>[]): 'busy' | 'done' {
    const { connection, ledger } = this.#options;
    try {
      connection.exec('BEGIN IMMEDIATE');
    } catch (error) {
      if (isBusyError(error)) return 'busy';
      this.#failAll(group, error);
      return 'done';
    }
    const outcomes: Outcome[] = [];
    try {
      for (let index = 0; index < group.length; index++) {
        const { unit } = group[index]!;
        const recorded = unit.key !== undefined && ledger !== undefined ? ledger.lookup(connection, unit.key) : undefined;
        if (recorded !== undefined) {
          outcomes.push({ ok: true, value: unit.decode ? unit.decode(recorded) : JSON.parse(recorded), replayed: true });
          continue;
        }
        connection.exec(`SAVEPOINT ${SAVEPOINT}`);
        let value: unknown;
        let failure: { error: unknown } | undefined;
        try {
          value = unit.execute(connection);
        } catch (error) {
          failure = { error };
        }
        if (!connection.inTransaction) {
          if (failure === undefined) this.#groupEnded(group, outcomes, index);
          else if (isLeaseLostError(failure.error, connection)) throw failure.error;
          else this.#groupRolledBack(group, outcomes, index, failure.error);
          return 'done';
        }
        if (failure === undefined) {
          try {
            if (unit.key !== undefined && ledger !== undefined) ledger.record(connection, unit.key, unit.encode ? unit.encode(value) : JSON.stringify(value));
          } catch (error) {
            failure = { error };
          }
        }
        if (failure === undefined) {
          connection.exec(`RELEASE ${SAVEPOINT}`);
          outcomes.push({ ok: true, value, replayed: false });
        } else {
          if (isLeaseLostError(failure.error, connection)) throw failure.error;
          connection.exec(`ROLLBACK TO ${SAVEPOINT}`);
          connection.exec(`RELEASE ${SAVEPOINT}`);
          outcomes.push({ ok: false, error: failure.error });
        }
      }
    } catch (error) {
      // The group's own SAVEPOINT machinery failed, or LiteFS refused a write: nothing of the group is committed.
      rollbackQuietly(connection);
      this.#failAll(group, error);
      return 'done';
    }
    try {
      connection.exec('COMMIT');
    } catch (error) {
      rollbackQuietly(connection);
      if (isLeaseLostError(error, connection)) {
        this.#failAll(group, error);
        return 'done';
      }
      if (group.length > 1) {
        // A failure at COMMIT (a deferred constraint, say) belongs to one unit we cannot name. Nothing of the group
        // was committed, and every member ran inside its transaction: give each its own commit.
        this.#pending.unshift(...group);
        this.#isolate = group.length;
        return 'done';
      }
      if (isBusyError(error)) return 'busy';
      this.#failAll(group, error);
      return 'done';
    }
    const { txid, checksum } = this.#options.readPosition() ?? {};
    group.forEach((entry, index) => {
      const outcome = outcomes[index]!;
      if (outcome.ok) entry.resolve({ value: outcome.value, txid, checksum, replayed: outcome.replayed });
      else entry.reject(outcome.error);
    });
    return 'done';
  }

  /**
   * A member failed and SQLite rolled the whole transaction back (`INSERT OR ROLLBACK`, SQLITE_FULL, ...): nothing
   * of the group was committed. The member fails with its own error, as it would alone; every other member that
   * had not failed goes back to the queue, which is safe because its write was undone.
   */
  #groupRolledBack(group: Extract<Pending, { kind: 'unit' }>[], outcomes: Outcome[], index: number, error: unknown): void {
    const { txid, checksum } = this.#options.readPosition() ?? {};
    const requeue: Extract<Pending, { kind: 'unit' }>[] = [];
    for (let earlier = 0; earlier < index; earlier++) {
      const entry = group[earlier]!;
      const outcome = outcomes[earlier]!;
      if (!outcome.ok) entry.reject(outcome.error);
      else if (outcome.replayed) entry.resolve({ value: outcome.value, txid, checksum, replayed: true });
      else requeue.push(entry);
    }
    this.#pending.unshift(...requeue, ...group.slice(index + 1));
    group[index]!.reject(error);
  }

  /**
   * A member left the group's transaction without an error (it ran COMMIT or ROLLBACK itself). What ran before it
   * may or may not be committed, so none of it runs again: a keyed member is settled from the ledger, an unkeyed
   * one is told its write may have been applied. Members that had not run go back to the queue.
   */
  #groupEnded(group: Extract<Pending, { kind: 'unit' }>[], outcomes: Outcome[], index: number): void {
    const { connection, ledger } = this.#options;
    const { txid, checksum } = this.#options.readPosition() ?? {};
    const offender = group[index]!;
    this.#pending.unshift(...group.slice(index + 1));
    offender.reject(
      new StatementRefusedError(
        'transaction-ended',
        "The write ended the write queue's shared transaction (COMMIT, END or ROLLBACK); its statements may have been applied. " +
          'Use db.transaction() or db.begin() for transaction control.',
      ),
    );
    for (let earlier = 0; earlier < index; earlier++) {
      const entry = group[earlier]!;
      const outcome = outcomes[earlier]!;
      if (!outcome.ok) {
        entry.reject(outcome.error);
        continue;
      }
      if (outcome.replayed) {
        entry.resolve({ value: outcome.value, txid, checksum, replayed: true });
        continue;
      }
      const { key } = entry.unit;
      let recorded: string | undefined;
      try {
        recorded = key !== undefined && ledger !== undefined ? ledger.lookup(connection, key) : undefined;
      } catch {}
      if (recorded !== undefined) {
        entry.resolve({ value: outcome.value, txid, checksum, replayed: false });
      } else if (key !== undefined && ledger !== undefined) {
        // Recorded in the same savepoint as its write: absent means rolled back, so it is safe to run again.
        this.#pending.unshift(entry);
      } else {
        entry.reject(
          new LiteFSForwardError(
            'FORWARD_FAILED',
            'Another write in the same group commit ended the shared transaction; this write may or may not have been applied. ' +
              'Check before retrying, or give writes an idempotencyKey so that a retry applies them at most once.',
          ),
        );
      }
    }
  }

  #failAll(group: Extract<Pending, { kind: 'unit' }>[], error: unknown): void {
    if (isLeaseLostError(error, this.#options.connection)) {
      this.#options.onLeaseLost(error);
      const notPrimary = new NotPrimaryError('LiteFS refused the write: this node is no longer the primary. The write was not applied.', { cause: error });
      for (const entry of group) entry.reject(notPrimary);
      return;
    }
    for (const entry of group) entry.reject(error);
  }
}

function rollbackQuietly(connection: Connection): void {
  // SQLite may already have rolled back on its own (after an I/O error, for instance).
  if (!connection.inTransaction) return;
  try {
    connection.exec('ROLLBACK');
  } catch {}
}
