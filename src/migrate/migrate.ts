import { createHash, randomUUID } from 'node:crypto';
import type { LiteFSDatabase } from '../database.js';
import { ConfigError, isLiteFSForwardError, MigrationError } from '../errors.js';
import { type Logger, silentLogger } from '../logger.js';
import type { Role } from '../types.js';
import { abortError, sleep } from '../util/abort.js';
import { runCommand } from './command.js';
import { readSqlFiles, type SqlFile } from './sql-files.js';
import { MigrationStore } from './store.js';

export const MIGRATE_DEFAULTS = Object.freeze({
  table: '_litefs_forward_migrations',
  timeout: 600_000,
  lockTtl: 30_000,
  pollInterval: 100,
});

export interface MigrateOptions {
  /** A directory of `*.sql` files, applied in name order, each in its own transaction with the row recording it. */
  sqlDir?: string;
  /** A command (`['npx', 'prisma', 'migrate', 'deploy']`) run on the primary under the lock, after the SQL files. */
  command?: readonly string[];
  /** With `command`: what identifies this run (a release or image id); the command runs once per id. */
  id?: string;
  /** The migrations table; the lock is `<table>_lock`. Default `_litefs_forward_migrations`. */
  table?: string;
  /** Deadline of the whole call in ms (the lock, the primary's record and replication included). Default 600 000. */
  timeout?: number;
  /** How long a lock lives without a heartbeat, in ms; an expired lock is taken over. Default 30 000. */
  lockTtl?: number;
  /** How often a waiting node looks again, in ms. Default 100. */
  pollInterval?: number;
  signal?: AbortSignal;
  /** A pino-compatible logger; silent by default. */
  logger?: Logger;
  /** Extra environment for the command (it also gets DATABASE_URL, LITEFS_FORWARD_DATABASE and LITEFS_FORWARD_DATABASE_PATH). */
  env?: Record<string, string>;
  /** The command's stdio. Default 'inherit'. */
  stdio?: 'inherit' | 'ignore';
  /** Called, and awaited, after each migration this call applied (a SQL file, or the command once recorded). */
  onApplied?: (event: { migration: string; kind: 'sql' | 'command' }) => void | Promise<void>;
}

export interface MigrateResult {
  /** The migrations this call applied, in order (on a replica, always empty: the primary applied them). */
  applied: string[];
  /** True when this call ran the command. */
  ranCommand: boolean;
  /** True when this node waited as a replica for the primary's record to replicate here. */
  waited: boolean;
  /** Times this call lost the lock or the lease and started over (SQL files only; a command is never rerun). */
  interruptions: number;
  /** This node's replication position when the call returned (LiteFS only). */
  txid?: string;
}

interface Resolved {
  sqlDir: string | undefined;
  command: readonly string[] | undefined;
  id: string | undefined;
  table: string;
  timeout: number;
  lockTtl: number;
  pollInterval: number;
  signal: AbortSignal | undefined;
  logger: Logger;
  env: Record<string, string>;
  stdio: 'inherit' | 'ignore';
  onApplied: ((event: { migration: string; kind: 'sql' | 'command' }) => void | Promise<void>) | undefined;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,58}$/;
/** What a transaction failing this way means for a migration: this node lost the primary, so start over. */
const LOST_PRIMARY_CODES = new Set(['NOT_PRIMARY', 'TRANSACTION_EXPIRED', 'PRIMARY_UNAVAILABLE', 'FORWARD_TIMEOUT', 'FORWARD_FAILED', 'DATABASE_UNAVAILABLE', 'OVERLOADED', 'READ_YOUR_WRITES_TIMEOUT']);
/** LiteFS refusing a write (this node lost the lease), as SQLite reports it in WAL and rollback-journal mode. */
const LEASE_LOST_SQLITE = /^SQLITE_(IOERR|READONLY)/;

export function resolveMigrateOptions(options: MigrateOptions): Resolved {
  if (options === null || typeof options !== 'object') throw new ConfigError('options', options, 'an object with `sqlDir` and/or `command`');
  const { sqlDir, command, id } = options;
  if (sqlDir !== undefined && (typeof sqlDir !== 'string' || sqlDir === '')) throw new ConfigError('sqlDir', sqlDir, 'the path of a directory of .sql files');
  if (command !== undefined && (!Array.isArray(command) || command.length === 0 || !command.every((part) => typeof part === 'string') || command[0] === '')) {
    throw new ConfigError('command', command, 'a non-empty array of strings, e.g. ["npx", "prisma", "migrate", "deploy"]');
  }
  if (sqlDir === undefined && command === undefined) throw new ConfigError('sqlDir', sqlDir, 'a directory of .sql files, or `command`: at least one of the two');
  if (command !== undefined && (typeof id !== 'string' || id === '' || id.length > 200)) {
    throw new ConfigError('id', id, 'with `command`, a non-empty string of at most 200 characters naming this release (the command runs once per id)');
  }
  if (command === undefined && id !== undefined) throw new ConfigError('id', id, 'no `id` without `command` (SQL files are named by their file names)');
  const table = options.table ?? MIGRATE_DEFAULTS.table;
  if (typeof table !== 'string' || !IDENTIFIER.test(table)) throw new ConfigError('table', table, 'an SQL identifier: letters, digits and _, not starting with a digit, at most 59 characters');
  const env = options.env ?? {};
  if (typeof env !== 'object' || env === null || !Object.values(env).every((value) => typeof value === 'string')) throw new ConfigError('env', env, 'an object of string values');
  const stdio = options.stdio ?? 'inherit';
  if (stdio !== 'inherit' && stdio !== 'ignore') throw new ConfigError('stdio', stdio, "'inherit' or 'ignore'");
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) throw new ConfigError('signal', options.signal, 'an AbortSignal');
  if (options.onApplied !== undefined && typeof options.onApplied !== 'function') throw new ConfigError('onApplied', options.onApplied, 'a function');
  return {
    sqlDir,
    command,
    id,
    table,
    timeout: positiveInteger('timeout', options.timeout ?? MIGRATE_DEFAULTS.timeout, 1),
    lockTtl: positiveInteger('lockTtl', options.lockTtl ?? MIGRATE_DEFAULTS.lockTtl, 100),
    pollInterval: positiveInteger('pollInterval', options.pollInterval ?? MIGRATE_DEFAULTS.pollInterval, 5),
    signal: options.signal,
    logger: options.logger ?? silentLogger,
    env,
    stdio,
    onApplied: options.onApplied,
  };
}

function positiveInteger(option: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) throw new ConfigError(option, value, `an integer number of ms ≥ ${min}`);
  return value;
}

const isWriterRole = (role: Role): boolean => role === 'primary' || role === 'standalone';

/**
 * Migrates the database on the primary, safely while the primary moves. Every node may call it (at start-up, say):
 *
 * - On the primary it takes the cluster-wide lock (a row in `<table>_lock`), applies each pending SQL file in its
 *   own transaction together with the row recording it (so a file is applied exactly once, whatever happens), then
 *   runs the command, if any, under the lock with a heartbeat, and records it as `command:<id>`.
 * - On a replica it waits, within the deadline, until the primary has recorded every migration and this replica has
 *   replicated those records (they commit with the schema they describe), then returns. If it becomes primary
 *   meanwhile, it takes over.
 *
 * Losing the lock or the lease while applying SQL files starts over (counted in `interruptions`): applied files are
 * recorded, so nothing runs twice. Losing them while the command runs stops the command and throws
 * MIGRATION_INTERRUPTED: re-run it; the command's own bookkeeping makes that safe.
 */
export async function migrate(db: LiteFSDatabase, options: MigrateOptions): Promise<MigrateResult> {
  const config = resolveMigrateOptions(options);
  const files = config.sqlDir === undefined ? [] : await readSqlFiles(config.sqlDir);
  return new MigrationRun(db, config, files).run();
}

class MigrationRun {
  readonly #db: LiteFSDatabase;
  readonly #config: Resolved;
  readonly #files: SqlFile[];
  readonly #store: MigrationStore;
  readonly #commandName: string | undefined;
  readonly #deadline: AbortSignal;
  readonly #signal: AbortSignal;
  readonly #result: MigrateResult = { applied: [], ranCommand: false, waited: false, interruptions: 0 };
  /** Set once this run has created the tables: a primary waiting for the lock does not write them again. */
  #schemaReady = false;
  /** What the run waits for now, for the timeout's message. */
  #waitingFor = 'the first look at the migrations table';
  #lastLogged = '';

  constructor(db: LiteFSDatabase, config: Resolved, files: SqlFile[]) {
    this.#db = db;
    this.#config = config;
    this.#files = files;
    this.#store = new MigrationStore(config.table);
    this.#commandName = config.command === undefined ? undefined : `command:${config.id}`;
    this.#deadline = AbortSignal.timeout(config.timeout);
    this.#signal = config.signal === undefined ? this.#deadline : AbortSignal.any([config.signal, this.#deadline]);
  }

  async run(): Promise<MigrateResult> {
    const wanted = [...this.#files.map((file) => file.name), ...(this.#commandName === undefined ? [] : [this.#commandName])];
    for (;;) {
      this.#checkpoint();
      let recorded: Map<string, string>;
      try {
        recorded = await this.#store.recorded(this.#db);
      } catch (error) {
        // A LiteFS restart, or replication holding the file's lock past the busy timeout: look again in a moment.
        const code = (error as { code?: unknown }).code;
        if (code !== 'DATABASE_UNAVAILABLE' && !(typeof code === 'string' && code.startsWith('SQLITE_BUSY'))) throw error;
        await this.#pause();
        continue;
      }
      this.#checkChecksums(recorded);
      const pending = wanted.filter((name) => !recorded.has(name));
      if (pending.length === 0) {
        const txid = this.#db.txid;
        this.#log('info', { applied: this.#result.applied, waited: this.#result.waited, txid }, 'litefs-forward migrate: up to date');
        return txid === undefined ? this.#result : { ...this.#result, txid };
      }
      if (isWriterRole(this.#db.role)) {
        try {
          if (await this.#migrateAsPrimary()) continue;
        } catch (error) {
          if (!(error instanceof MigrationError) || error.code !== 'MIGRATION_INTERRUPTED' || error.migration?.startsWith('command:') === true) throw this.#failure(error);
          this.#result.interruptions++;
          // A new primary may be on another lineage: look at its tables afresh.
          this.#schemaReady = false;
          this.#log('warn', { err: error, code: error.code }, 'litefs-forward migrate: interrupted; starting over');
        }
      } else {
        this.#result.waited = true;
        this.#waitingFor = `the primary to record ${pending.join(', ')} and this ${this.#db.role} node (${this.#db.hostname}) to replicate ${pending.length === 1 ? 'it' : 'them'}`;
        this.#log('info', { pending, role: this.#db.role }, `litefs-forward migrate: waiting for ${this.#waitingFor}`);
      }
      await this.#pause();
    }
  }

  /** Holds the lock and migrates; false when another run holds the lock (wait and look again). */
  async #migrateAsPrimary(): Promise<boolean> {
    const db = this.#db;
    const call = { signal: this.#signal };
    if (!this.#schemaReady) {
      await this.#guard(() => db.exec(this.#store.schemaSql, call), undefined);
      this.#schemaReady = true;
    }
    const token = randomUUID();
    const owner = `${db.hostname}/${process.pid}`;
    if (!(await this.#guard(() => this.#store.acquire(db, owner, token, this.#config.lockTtl, call), undefined))) {
      const holder = await this.#guard(() => this.#store.holder(db), undefined);
      this.#waitingFor = `the migration lock, held by ${holder?.owner ?? 'another run'}${holder === undefined ? '' : ` for up to ${Math.max(0, holder.remainingMs)} ms more unless it renews`}`;
      this.#log('info', { holder }, `litefs-forward migrate: waiting for ${this.#waitingFor}`);
      return false;
    }
    this.#log('info', { owner }, 'litefs-forward migrate: took the migration lock');
    try {
      for (const file of this.#files) await this.#applyFile(file, token);
      if (this.#commandName !== undefined) await this.#runCommand(this.#commandName, token);
    } finally {
      // Best effort: a lock left behind expires after lockTtl, and the next run takes it over.
      await this.#store.release(db, token, { timeout: Math.min(5_000, this.#config.lockTtl) }).catch((error: unknown) => {
        this.#log('warn', { err: error }, 'litefs-forward migrate: could not release the migration lock; it expires by itself');
      });
    }
    return true;
  }

  async #applyFile(file: SqlFile, token: string): Promise<void> {
    const db = this.#db;
    const migration = file.name;
    if (!isWriterRole(db.role)) throw this.#leaseLost(migration, 'before applying it');
    let applied = false;
    await this.#guard(
      () =>
        db.transaction(
          async (tx) => {
            // In the file's own transaction: the lock is ours for as long as the file's changes are uncommitted.
            if (!(await this.#store.renew(tx, token, this.#config.lockTtl))) throw this.#lockLost(migration);
            const checksum = await this.#store.checksumOf(tx, migration);
            if (checksum !== undefined) {
              if (checksum !== file.checksum) throw this.#checksumMismatch(migration, checksum, file.checksum);
              return;
            }
            if (file.sql.trim() !== '') {
              try {
                await tx.exec(file.sql);
              } catch (error) {
                throw this.#sqlFailure(migration, error);
              }
            }
            if (!(await this.#store.record(tx, migration, 'sql', file.checksum, db.hostname, token))) throw this.#lockLost(migration);
            applied = true;
          },
          { signal: this.#signal },
        ),
      migration,
    );
    if (!applied) return;
    this.#result.applied.push(migration);
    this.#log('info', { migration }, `litefs-forward migrate: applied ${migration}`);
    await this.#config.onApplied?.({ migration, kind: 'sql' });
  }

  async #runCommand(migration: string, token: string): Promise<void> {
    const db = this.#db;
    const argv = this.#config.command!;
    if (!isWriterRole(db.role)) throw this.#leaseLost(migration, 'before starting it');
    const lost = new AbortController();
    const stopWatching = db.onRoleChange((change) => {
      if (!isWriterRole(change.to)) lost.abort(this.#leaseLost(migration, 'while it ran'));
    });
    const ttl = this.#config.lockTtl;
    // The heartbeat: the lock outlives a run only by as long as it takes to notice this node is gone.
    const heartbeat = setInterval(() => {
      this.#store.renew(db, token, ttl, { timeout: Math.max(100, Math.floor(ttl / 2)) }).then(
        (held) => {
          if (!held) lost.abort(this.#lockLost(migration));
        },
        (error: unknown) => lost.abort(this.#leaseLost(migration, 'while it ran (the lock could not be renewed)', error)),
      );
    }, Math.max(50, Math.floor(ttl / 3)));
    const checksum = createHash('sha256').update(JSON.stringify(argv)).digest('hex');
    try {
      this.#log('info', { migration, command: argv }, 'litefs-forward migrate: running the command under the lock');
      const code = await runCommand(
        {
          argv,
          stdio: this.#config.stdio,
          migration,
          env: {
            ...this.#config.env,
            DATABASE_URL: `file:${db.path}`,
            LITEFS_FORWARD_DATABASE: db.databaseName,
            LITEFS_FORWARD_DATABASE_PATH: db.path,
          },
        },
        AbortSignal.any([this.#signal, lost.signal]),
      ).catch((error: unknown) => {
        throw lost.signal.aborted ? lost.signal.reason : error;
      });
      this.#result.ranCommand = true;
      if (code !== 0) {
        throw new MigrationError(
          'MIGRATION_FAILED',
          'exit-code',
          `The migration command ${JSON.stringify(argv.join(' '))} exited with code ${code}; it is not recorded and the lock is released. Fix it and run \`litefs-forward migrate\` again.`,
          { migration, node: db.hostname },
        );
      }
      if (lost.signal.aborted) throw lost.signal.reason;
      if (!isWriterRole(db.role)) throw this.#leaseLost(migration, 'after it finished, before it was recorded');
      if (!(await this.#guard(() => this.#store.record(db, migration, 'command', checksum, db.hostname, token, { signal: this.#signal }), migration))) {
        throw this.#lockLost(migration);
      }
      this.#result.applied.push(migration);
      await this.#config.onApplied?.({ migration, kind: 'command' });
    } finally {
      clearInterval(heartbeat);
      stopWatching();
    }
  }

  /** Runs a database call of the migration, turning "this node lost the primary" into MIGRATION_INTERRUPTED. */
  async #guard<T>(fn: () => Promise<T>, migration: string | undefined): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      if (error instanceof MigrationError) throw error;
      if (this.#signal.aborted) throw this.#failure(error);
      const code = (error as { code?: unknown }).code;
      if (isLiteFSForwardError(error) && LOST_PRIMARY_CODES.has(code as string)) throw this.#leaseLost(migration, 'while writing', error);
      if (typeof code === 'string' && LEASE_LOST_SQLITE.test(code)) throw this.#leaseLost(migration, 'while writing (LiteFS refused the write)', error);
      throw error;
    }
  }

  #checkChecksums(recorded: Map<string, string>): void {
    for (const file of this.#files) {
      const checksum = recorded.get(file.name);
      if (checksum !== undefined && checksum !== file.checksum) throw this.#checksumMismatch(file.name, checksum, file.checksum);
    }
  }

  /** Throws if the deadline passed or the caller aborted. */
  #checkpoint(): void {
    if (this.#signal.aborted) throw this.#failure(undefined);
  }

  /** Waits for `pollInterval`, or less when the role changes. Keeps the process alive: a CLI awaits it. */
  async #pause(): Promise<void> {
    const wake = new AbortController();
    const stopWatching = this.#db.onRoleChange(() => wake.abort());
    try {
      await sleep(this.#config.pollInterval, AbortSignal.any([this.#signal, wake.signal]), { keepAlive: true });
    } catch (error) {
      if (this.#signal.aborted) throw this.#failure(error);
    } finally {
      stopWatching();
    }
  }

  /** What an error becomes once the deadline has passed or the caller aborted. */
  #failure(error: unknown): unknown {
    if (this.#config.signal?.aborted) return abortError(this.#config.signal);
    if (!this.#deadline.aborted) return error;
    if (error instanceof MigrationError && error.code === 'MIGRATION_TIMEOUT') return error;
    return new MigrationError(
      'MIGRATION_TIMEOUT',
      'deadline',
      `litefs-forward migrate did not finish within ${this.#config.timeout} ms on ${this.#db.hostname} (${this.#db.role}): it was waiting for ${this.#waitingFor}. ` +
        'Check that the primary runs `litefs-forward migrate` (every node should, at start-up), or raise the timeout.',
      { node: this.#db.hostname, ...(error === undefined ? {} : { cause: error }) },
    );
  }

  #leaseLost(migration: string | undefined, when: string, cause?: unknown): MigrationError {
    const what = migration ?? 'the migration';
    return new MigrationError(
      'MIGRATION_INTERRUPTED',
      'lease-lost',
      `This node (${this.#db.hostname}) stopped being the primary ${when} ${what}. ${rerunAdvice(migration)}`,
      { node: this.#db.hostname, ...(migration === undefined ? {} : { migration }), ...(cause === undefined ? {} : { cause }) },
    );
  }

  #lockLost(migration: string): MigrationError {
    return new MigrationError(
      'MIGRATION_INTERRUPTED',
      'lock-lost',
      `This node (${this.#db.hostname}) lost the migration lock (it expired and another run took it over) during ${migration}. ${rerunAdvice(migration)}`,
      { node: this.#db.hostname, migration },
    );
  }

  #checksumMismatch(migration: string, recorded: string, current: string): MigrationError {
    return new MigrationError(
      'MIGRATION_FAILED',
      'checksum-mismatch',
      `${migration} was applied with SHA-256 ${recorded}, but the file now has ${current}. An applied migration must not change: restore it, and put the change in a new file.`,
      { node: this.#db.hostname, migration },
    );
  }

  #sqlFailure(migration: string, error: unknown): unknown {
    const code = (error as { code?: unknown }).code;
    // LiteFS refusing the write is the lease, not the file; our own transport errors are classified by #guard.
    if (typeof code === 'string' && LEASE_LOST_SQLITE.test(code)) return this.#leaseLost(migration, 'while applying (LiteFS refused the write)', error);
    if (isLiteFSForwardError(error) && code !== 'STATEMENT_REFUSED') return error;
    const hint = code === 'STATEMENT_REFUSED' ? ' A migration file runs inside the transaction that records it: leave out BEGIN/COMMIT, VACUUM, ATTACH and connection pragmas.' : '';
    return new MigrationError(
      'MIGRATION_FAILED',
      'sql-error',
      `${migration} failed: ${(error as Error)?.message ?? String(error)}. Nothing of it was applied and it is not recorded.${hint} Fix the file and run the migration again.`,
      { node: this.#db.hostname, migration, cause: error },
    );
  }

  #log(level: 'info' | 'warn', fields: object, message: string): void {
    // One line per state, not one per poll.
    if (level === 'info' && message === this.#lastLogged) return;
    this.#lastLogged = message;
    this.#config.logger[level](fields, message);
  }
}

function rerunAdvice(migration: string | undefined): string {
  return migration?.startsWith('command:') === true
    ? 'The command was stopped and is not recorded: run `litefs-forward migrate` again; its own bookkeeping skips what it finished.'
    : 'Files already applied are recorded with their own transaction and are not applied again; the run starts over.';
}
