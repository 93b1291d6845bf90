import { LiteFSForwardError, NotPrimaryError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { ExactlyOnceLedger } from '../primary/ledger.js';
import type { WriteQueue } from '../primary/write-queue.js';
import { WriteSession } from '../primary/write-session.js';
import { isLeaseLostError } from '../sqlite/errors.js';
import { shapeResult, type StatementCache } from '../sqlite/statements.js';
import type { TransactionDriver } from '../transaction.js';
import type { TransactionOptions } from '../types.js';

export interface LocalWriteOptions {
  queue: WriteQueue;
  writerCache: StatementCache;
  ledger: ExactlyOnceLedger;
  safeIntegers: boolean;
  transactionIdleTimeout: number;
  transactionTimeout: number;
  logger: Logger;
  /** Every open local write transaction's expiry, so that close() can roll them all back. */
  open: Set<(reason: string) => void>;
  /** LiteFS refused the commit: this node is no longer primary. */
  onLeaseLost(): void;
  /** The transaction committed (for the write scope's TXID). */
  onCommitted(): void;
}

/**
 * A write transaction on the primary: a session that holds the write queue. A forgotten begin() must not hold it
 * for good, so an idle or overlong transaction is rolled back, and its next call fails with TRANSACTION_EXPIRED.
 */
export async function openLocalWriteDriver(deps: LocalWriteOptions, options: TransactionOptions): Promise<TransactionDriver> {
  const session = await WriteSession.begin(deps.queue, deps.writerCache, options.signal);
  const { safeIntegers, transactionIdleTimeout, transactionTimeout, logger } = deps;
  let expired: LiteFSForwardError | undefined;
  const finish = (): void => {
    clearTimeout(idleTimer);
    clearTimeout(totalTimer);
    deps.open.delete(expire);
  };
  const expire = (reason: string): void => {
    if (!session.open) {
      finish();
      return;
    }
    expired = new LiteFSForwardError('TRANSACTION_EXPIRED', `The transaction was rolled back: ${reason}. Nothing of it was applied; run it again, and end every begin() with commit() or rollback() (or \`await using\`).`);
    logger.warn({ reason }, 'litefs-forward rolled back a local write transaction');
    try {
      session.rollback();
    } catch {}
    finish();
  };
  const idleTimer = setTimeout(() => expire(`it was idle for ${transactionIdleTimeout} ms (transactionIdleTimeout)`), transactionIdleTimeout);
  const totalTimer = setTimeout(() => expire(`it was open for ${transactionTimeout} ms (transactionTimeout)`), transactionTimeout);
  idleTimer.unref();
  totalTimer.unref();
  deps.open.add(expire);
  const use = <T>(fn: () => T): T => {
    if (expired !== undefined) throw expired;
    try {
      return fn();
    } finally {
      if (session.open) idleTimer.refresh();
      else finish();
    }
  };
  return {
    location: 'local',
    readOnly: false,
    query: async (sql, params, mode) => use(() => shapeResult(session.query(sql, params, mode), mode, safeIntegers)),
    exec: async (sql) => use(() => session.exec(sql)),
    commit: async (commitOptions) => {
      try {
        use(() => session.commit(commitOptions.idempotencyKey === undefined ? undefined : deps.ledger, commitOptions.idempotencyKey));
      } catch (error) {
        if (isLeaseLostError(error, session.connection)) {
          deps.onLeaseLost();
          throw new NotPrimaryError('LiteFS refused the commit: this node lost the primary role mid-transaction. Nothing was applied; run the transaction again.', { cause: error });
        }
        throw error;
      }
      deps.onCommitted();
    },
    // After an expiry the transaction is already rolled back: nothing is left to do.
    rollback: async () => {
      if (expired === undefined) use(() => session.rollback());
    },
  };
}
