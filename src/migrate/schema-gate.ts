import type { LiteFSDatabase } from '../database.js';
import { ConfigError, SchemaNotReadyError } from '../errors.js';
import { type Logger, silentLogger } from '../logger.js';
import type { CallOptions } from '../types.js';
import { abortError } from '../util/abort.js';
import { MIGRATE_DEFAULTS } from './migrate.js';
import { readSqlFiles } from './sql-files.js';
import { MigrationStore } from './store.js';

export const SCHEMA_GATE_MODES = ['wait', 'forward', 'refuse'] as const;
export type SchemaGateMode = (typeof SCHEMA_GATE_MODES)[number];

export interface SchemaGateOptions {
  /**
   * What a replica's reads do until it has every migration: `wait` (up to `timeout`, then SCHEMA_NOT_READY),
   * `forward` (the primary runs the read) or `refuse` (SCHEMA_NOT_READY at once).
   */
  mode: SchemaGateMode;
  /** The SQL files this code expects (the same directory `migrate` applies). */
  sqlDir?: string;
  /** The command run this code expects (`migrate`'s `id`). */
  id?: string;
  /** Migration names this code expects, as the migrations table records them. */
  migrations?: readonly string[];
  /** The migrations table `migrate` uses. Default `_litefs_forward_migrations`. */
  table?: string;
  /** The longest wait of one read in `wait` mode, in ms, unless the call's own `timeout` is shorter. Default: the database's `readYourWritesTimeout`. */
  timeout?: number;
  /** How often the migrations table is read again while the gate is closed, in ms. Default 50. */
  pollInterval?: number;
  logger?: Logger;
}

interface Waiter {
  resolve(): void;
}

/**
 * Schema gating: until this replica has replicated every migration the application expects, its reads do what
 * `mode` says. "Has the migration" means its row is in this node's own migrations table: the row commits in the
 * same transaction as the schema it records, so a node that has the row has the schema, on whatever lineage
 * (TXIDs alone would not say so: they are not comparable across a failover). Once open, the gate removes itself,
 * and reads cost nothing more. The primary is never gated. Read-only transactions (`readOnly: true`) are not gated.
 */
export class SchemaGate {
  readonly #db: LiteFSDatabase;
  readonly #mode: SchemaGateMode;
  readonly #store: MigrationStore;
  readonly #wanted: readonly string[];
  readonly #timeout: number;
  readonly #logger: Logger;
  readonly #waiters = new Set<Waiter>();
  #missing: readonly string[];
  #timer: NodeJS.Timeout | undefined;
  #checking = false;
  #closed = false;

  private constructor(db: LiteFSDatabase, mode: SchemaGateMode, store: MigrationStore, wanted: readonly string[], missing: readonly string[], timeout: number, logger: Logger) {
    this.#db = db;
    this.#mode = mode;
    this.#store = store;
    this.#wanted = wanted;
    this.#missing = missing;
    this.#timeout = timeout;
    this.#logger = logger;
  }

  /** Use `gateSchema()`. */
  static async open(db: LiteFSDatabase, options: SchemaGateOptions): Promise<SchemaGate> {
    if (options === null || typeof options !== 'object') throw new ConfigError('options', options, 'an object with `mode`');
    if (!(SCHEMA_GATE_MODES as readonly unknown[]).includes(options.mode)) throw new ConfigError('mode', options.mode, `one of ${SCHEMA_GATE_MODES.join(', ')}`);
    const table = options.table ?? MIGRATE_DEFAULTS.table;
    if (typeof table !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]{0,58}$/.test(table)) throw new ConfigError('table', table, 'an SQL identifier, as given to migrate');
    if (options.migrations !== undefined && (!Array.isArray(options.migrations) || !options.migrations.every((name) => typeof name === 'string' && name !== ''))) {
      throw new ConfigError('migrations', options.migrations, 'an array of migration names');
    }
    if (options.id !== undefined && (typeof options.id !== 'string' || options.id === '')) throw new ConfigError('id', options.id, "a non-empty string, migrate's `id`");
    const timeout = options.timeout ?? db.readYourWritesTimeout;
    if (!Number.isSafeInteger(timeout) || timeout < 0) throw new ConfigError('timeout', timeout, 'an integer number of ms ≥ 0');
    const pollInterval = options.pollInterval ?? 50;
    if (!Number.isSafeInteger(pollInterval) || pollInterval < 5) throw new ConfigError('pollInterval', pollInterval, 'an integer number of ms ≥ 5');
    const wanted = [
      ...(options.sqlDir === undefined ? [] : (await readSqlFiles(options.sqlDir)).map((file) => file.name)),
      ...(options.id === undefined ? [] : [`command:${options.id}`]),
      ...(options.migrations ?? []),
    ];
    if (wanted.length === 0) throw new ConfigError('sqlDir', options.sqlDir, 'the migrations to gate on: `sqlDir`, `id` or `migrations`');
    const store = new MigrationStore(table);
    const recorded = await store.recorded(db);
    const gate = new SchemaGate(db, options.mode, store, wanted, wanted.filter((name) => !recorded.has(name)), timeout, options.logger ?? silentLogger);
    if (gate.#missing.length > 0) {
      db.setReadGate((callOptions) => gate.#decide(callOptions));
      gate.#timer = setInterval(() => void gate.#check(), pollInterval);
      gate.#timer.unref();
      gate.#logger.info({ missing: gate.#missing, mode: gate.#mode }, 'litefs-forward: reads are gated until this replica has the migrations');
    }
    return gate;
  }

  /** True once this node has every migration (or is the primary). */
  get ready(): boolean {
    return this.#missing.length === 0;
  }

  /** The migrations this node does not have yet. */
  get missing(): readonly string[] {
    return this.#missing;
  }

  /** Resolves once the gate is open; SCHEMA_NOT_READY after `timeout` ms, ABORTED when `signal` aborts. */
  async waitUntilReady(options: { timeout?: number; signal?: AbortSignal } = {}): Promise<void> {
    if (this.ready) return;
    const timeoutMs = options.timeout ?? this.#timeout;
    const { signal } = options;
    if (signal?.aborted) throw abortError(signal);
    await new Promise<void>((resolve, reject) => {
      const finish = (error?: Error): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.#waiters.delete(waiter);
        if (error === undefined) resolve();
        else reject(error);
      };
      const waiter: Waiter = { resolve: () => finish() };
      const onAbort = (): void => finish(abortError(signal!));
      const timer = setTimeout(() => finish(this.#notReady(`after waiting ${timeoutMs} ms`)), timeoutMs);
      timer.unref();
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.add(waiter);
      void this.#check();
    });
  }

  /** Removes the gate: reads run locally again, whatever this node has. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#open();
  }

  async #decide(options: CallOptions): Promise<'local' | 'forward'> {
    if (this.ready || this.#closed) return 'local';
    if (this.#mode === 'forward') return 'forward';
    if (this.#mode === 'refuse') throw this.#notReady('and schema gating refuses reads until it has');
    const timeout = options.timeout === undefined ? this.#timeout : Math.min(options.timeout, this.#timeout);
    await this.waitUntilReady({ timeout, ...(options.signal === undefined ? {} : { signal: options.signal }) });
    return 'local';
  }

  async #check(): Promise<void> {
    if (this.#checking || this.ready) return;
    this.#checking = true;
    try {
      const recorded = await this.#store.recorded(this.#db);
      this.#missing = this.#wanted.filter((name) => !recorded.has(name));
    } catch (error) {
      // A LiteFS restart or a closed database: the next tick looks again (close() stops the ticks).
      this.#logger.debug({ err: error }, 'litefs-forward: schema gate could not read the migrations table');
    } finally {
      this.#checking = false;
    }
    if (this.ready) {
      this.#logger.info({ migrations: this.#wanted }, 'litefs-forward: this replica has the migrations; reads are no longer gated');
      this.#open();
    }
  }

  #open(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#db.setReadGate(undefined);
    for (const waiter of [...this.#waiters]) waiter.resolve();
  }

  #notReady(detail: string): SchemaNotReadyError {
    return new SchemaNotReadyError(
      this.#missing,
      `This replica (${this.#db.hostname}) has not yet replicated the migration(s) ${this.#missing.join(', ')} ${detail}. ` +
        "Retry shortly, or choose schema gating mode 'wait' or 'forward'.",
      { node: this.#db.hostname },
    );
  }
}

/** Installs schema gating on a replica's reads; see {@link SchemaGate}. Call `close()` to remove it. */
export function gateSchema(db: LiteFSDatabase, options: SchemaGateOptions): Promise<SchemaGate> {
  return SchemaGate.open(db, options);
}
