import type { SqlDriverAdapter, SqlDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import type { LiteFSDatabase } from '../../database.js';
import { ConfigError } from '../../errors.js';
import { isDatabaseSource, type PrismaLiteFSDatabase, type PrismaLiteFSOptions, type ResolvedPrismaLiteFSOptions, resolveOptions } from './prisma-adapter-config.js';
import { ADAPTER_NAME, LiteFSPrismaAdapter } from './prisma-adapter.js';

/**
 * Prisma 7's driver adapter factory for litefs-forward, in place of @prisma/adapter-better-sqlite3: reads run
 * on the local file; writes, nested writes and `$transaction` (both forms) run on the primary, forwarded from a
 * replica. Values, column types and errors are converted as @prisma/adapter-better-sqlite3 converts them, so a
 * unique violation is Prisma's P2002 on every node.
 *
 * ```ts
 * const prisma = new PrismaClient({ adapter: new PrismaLiteFS(await openDatabase({ path: '/litefs/app.db' })) })
 * ```
 *
 * `database` is the database from `openDatabase()`, which stays open until you close it, or an async function
 * that opens it on first use; a database opened that way is closed by `prisma.$disconnect()` and opened again
 * by the next query.
 */
export class PrismaLiteFS implements SqlDriverAdapterFactory {
  readonly provider = 'sqlite' as const;
  readonly adapterName = ADAPTER_NAME;
  readonly #source: PrismaLiteFSDatabase;
  readonly #options: ResolvedPrismaLiteFSOptions;
  #opened: Promise<LiteFSDatabase> | undefined;
  #closing: Promise<void> | undefined;
  #users = 0;

  constructor(database: PrismaLiteFSDatabase, options?: PrismaLiteFSOptions) {
    if (!isDatabaseSource(database)) {
      throw new ConfigError('database', database, "the database from litefs-forward's openDatabase(), or an async function that returns it");
    }
    this.#source = database;
    this.#options = resolveOptions(options);
  }

  async connect(): Promise<SqlDriverAdapter> {
    const source = this.#source;
    if (typeof source !== 'function') return new LiteFSPrismaAdapter(source, this.#options, async () => {});
    const database = await this.#acquire(source);
    return new LiteFSPrismaAdapter(database, this.#options, () => this.#release(database));
  }

  async #acquire(open: () => Promise<LiteFSDatabase>): Promise<LiteFSDatabase> {
    this.#users++;
    try {
      // A database being closed by the last $disconnect() must be gone before another one opens the file.
      await this.#closing;
      const opened = (this.#opened ??= open());
      try {
        return await opened;
      } catch (error) {
        // Not memoized when it fails: the next connect() tries again.
        if (this.#opened === opened) this.#opened = undefined;
        throw error;
      }
    } catch (error) {
      this.#users--;
      throw error;
    }
  }

  async #release(database: LiteFSDatabase): Promise<void> {
    if (--this.#users > 0) return;
    this.#opened = undefined;
    const closing = database.close();
    this.#closing = closing;
    try {
      await closing;
    } finally {
      if (this.#closing === closing) this.#closing = undefined;
    }
  }
}
