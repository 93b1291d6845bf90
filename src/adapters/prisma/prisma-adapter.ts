import {
  Debug,
  DriverAdapterError,
  type IsolationLevel,
  type Transaction as PrismaTransaction,
  type TransactionOptions as PrismaTransactionOptions,
  type SqlDriverAdapter,
  type SqlQuery,
  type SqlQueryable,
  type SqlResultSet,
} from '@prisma/driver-adapter-utils';
import type { LiteFSDatabase } from '../../database.js';
import type { BindParameters, Queryable, Transaction } from '../../types.js';
import type { ResolvedPrismaLiteFSOptions, TimestampFormat } from './prisma-adapter-config.js';
import { inferColumnTypes, mapArg, mapRow } from './prisma-conversion.js';
import { rethrowForPrisma } from './prisma-errors.js';

export const ADAPTER_NAME = 'litefs-forward';

const debug = Debug('prisma:driver-adapter:litefs-forward');

/**
 * COMMIT or ROLLBACK as a whole statement (`ROLLBACK TO` a savepoint is not one): the statements Prisma sends to
 * end a transaction. Matched as text because they must not reach SQLite: they end litefs-forward's transaction.
 */
const TRANSACTION_END = /^\s*(COMMIT|END|ROLLBACK)(?:\s+TRANSACTION)?\s*;?\s*$/i;

function transactionEnd(sql: string): 'commit' | 'rollback' | undefined {
  const match = TRANSACTION_END.exec(sql);
  if (match === null) return undefined;
  return match[1]!.toUpperCase() === 'ROLLBACK' ? 'rollback' : 'commit';
}

/** Queries on the database (reads local, writes on the primary) or in one of its transactions. */
class LiteFSPrismaQueryable implements SqlQueryable {
  readonly provider = 'sqlite' as const;
  readonly adapterName = ADAPTER_NAME;
  readonly #target: Queryable;
  readonly #timestampFormat: TimestampFormat;

  constructor(target: Queryable, timestampFormat: TimestampFormat) {
    this.#target = target;
    this.#timestampFormat = timestampFormat;
  }

  async queryRaw(query: SqlQuery): Promise<SqlResultSet> {
    debug('[js::queryRaw] %O', query);
    const result = await this.#target.query(query.sql, this.#parameters(query)).catch(rethrowForPrisma);
    const columnTypes = inferColumnTypes(result.columns.length, result.rows);
    return { columnNames: result.columns, columnTypes, rows: result.rows.map((row) => mapRow(row, columnTypes)) };
  }

  async executeRaw(query: SqlQuery): Promise<number> {
    debug('[js::executeRaw] %O', query);
    const { changes } = await this.#target.run(query.sql, this.#parameters(query)).catch(rethrowForPrisma);
    return changes;
  }

  #parameters(query: SqlQuery): BindParameters {
    return query.args.map((arg, i) => mapArg(arg, query.argTypes[i], this.#timestampFormat));
  }
}

/**
 * One Prisma transaction: one litefs-forward transaction (a local write transaction on the primary, a remote
 * session from a replica). Every query Prisma sends through this object runs in it, so concurrent Prisma
 * transactions never share one.
 *
 * Prisma 7 ends a transaction by sending `COMMIT` or `ROLLBACK` through `executeRaw` and then calling `commit()`
 * or `rollback()` (`usePhantomQuery: false`, as with @prisma/adapter-better-sqlite3). Whichever comes first ends
 * the litefs-forward transaction; the other is then a no-op, so both conventions work.
 */
export class LiteFSPrismaTransaction extends LiteFSPrismaQueryable implements PrismaTransaction {
  readonly options: PrismaTransactionOptions = Object.freeze({ usePhantomQuery: false });
  readonly #transaction: Transaction;
  readonly #onEnd: (transaction: LiteFSPrismaTransaction) => void;
  #ended = false;

  constructor(transaction: Transaction, timestampFormat: TimestampFormat, onEnd: (transaction: LiteFSPrismaTransaction) => void) {
    super(transaction, timestampFormat);
    this.#transaction = transaction;
    this.#onEnd = onEnd;
  }

  override async queryRaw(query: SqlQuery): Promise<SqlResultSet> {
    const end = transactionEnd(query.sql);
    if (end === undefined) return super.queryRaw(query);
    await this.#end(end, query.sql);
    return { columnNames: [], columnTypes: [], rows: [] };
  }

  override async executeRaw(query: SqlQuery): Promise<number> {
    const end = transactionEnd(query.sql);
    if (end === undefined) return super.executeRaw(query);
    await this.#end(end, query.sql);
    return 0;
  }

  commit(): Promise<void> {
    debug('[js::commit]');
    return this.#end('commit');
  }

  rollback(): Promise<void> {
    debug('[js::rollback]');
    return this.#end('rollback');
  }

  async createSavepoint(name: string): Promise<void> {
    await this.executeRaw({ sql: `SAVEPOINT ${name}`, args: [], argTypes: [] });
  }

  async rollbackToSavepoint(name: string): Promise<void> {
    await this.executeRaw({ sql: `ROLLBACK TO ${name}`, args: [], argTypes: [] });
  }

  async releaseSavepoint(name: string): Promise<void> {
    await this.executeRaw({ sql: `RELEASE SAVEPOINT ${name}`, args: [], argTypes: [] });
  }

  async #end(action: 'commit' | 'rollback', statement?: string): Promise<void> {
    if (this.#ended) {
      // The call after Prisma's COMMIT/ROLLBACK statement, or a rollback after a failed commit: nothing to do.
      if (action === 'rollback' || statement === undefined) return;
      throw new DriverAdapterError({ kind: 'TransactionAlreadyClosed', cause: `${statement} was sent after the transaction had ended.` });
    }
    this.#ended = true;
    this.#onEnd(this);
    if (action === 'rollback') {
      // Never throws, so that it cannot hide the error that led to it (Prisma's batches would report the
      // rollback's error instead): a remote transaction that cannot be reached is rolled back by the primary
      // after `transactionIdleTimeout`.
      await this.#transaction.rollback().catch((error: unknown) => debug('[js::rollback] failed: %O', error));
      return;
    }
    // A failed commit ends the transaction too: litefs-forward rolls it back.
    await this.#transaction.commit().catch(rethrowForPrisma);
  }
}

/**
 * Prisma's driver adapter on a litefs-forward database: reads run on the local file, writes and transactions on
 * the primary. Created by {@link PrismaLiteFS}'s `connect()`.
 */
export class LiteFSPrismaAdapter extends LiteFSPrismaQueryable implements SqlDriverAdapter {
  readonly #database: LiteFSDatabase;
  readonly #options: ResolvedPrismaLiteFSOptions;
  readonly #open = new Set<LiteFSPrismaTransaction>();
  readonly #onDispose: () => Promise<void>;
  #disposed: Promise<void> | undefined;

  constructor(database: LiteFSDatabase, options: ResolvedPrismaLiteFSOptions, onDispose: () => Promise<void>) {
    super(database, options.timestampFormat);
    this.#database = database;
    this.#options = options;
    this.#onDispose = onDispose;
  }

  /** The litefs-forward database underneath. */
  get database(): LiteFSDatabase {
    return this.#database;
  }

  /** Runs a script of statements atomically on the primary (forwarded from a replica). */
  async executeScript(script: string): Promise<void> {
    debug('[js::executeScript] %s', script);
    await this.#database.exec(script).catch(rethrowForPrisma);
  }

  /**
   * Opens a transaction on the primary. SQLite transactions are serializable, the only isolation level there is.
   * Prisma has no read-only transactions, so each one, `$transaction([...])` of reads included, runs on the
   * primary: from a replica it is a remote session, whose statements each make a round trip.
   */
  async startTransaction(isolationLevel?: IsolationLevel): Promise<PrismaTransaction> {
    if (isolationLevel !== undefined && isolationLevel !== 'SERIALIZABLE') throw new DriverAdapterError({ kind: 'InvalidIsolationLevel', level: isolationLevel });
    debug('[js::startTransaction]');
    const transaction = await this.#database.begin().catch(rethrowForPrisma);
    const prismaTransaction = new LiteFSPrismaTransaction(transaction, this.#options.timestampFormat, (ended) => this.#open.delete(ended));
    this.#open.add(prismaTransaction);
    return prismaTransaction;
  }

  /**
   * Called by `prisma.$disconnect()`: rolls back the transactions still open and releases the database, which is
   * closed only if {@link PrismaLiteFS} opened it (the lazy form). Idempotent.
   */
  dispose(): Promise<void> {
    this.#disposed ??= (async () => {
      const open = [...this.#open];
      this.#open.clear();
      await Promise.allSettled(open.map((transaction) => transaction.rollback()));
      await this.#onDispose();
    })();
    return this.#disposed;
  }
}
