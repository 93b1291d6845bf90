/** Stable error codes. Each is documented in the README; a test keeps the two in step. */
export const ERROR_CODES = [
  'CONFIG_INVALID',
  'PRIMARY_UNAVAILABLE',
  'NOT_PRIMARY',
  'FORWARD_TIMEOUT',
  'FORWARD_FAILED',
  'UNAUTHORIZED',
  'REQUEST_TOO_LARGE',
  'PROTOCOL_ERROR',
  'INVALID_ARGUMENT',
  'TRANSACTION_EXPIRED',
  'TRANSACTION_CLOSED',
  'READ_YOUR_WRITES_TIMEOUT',
  'LINEAGE_CHANGED',
  'BOOKMARK_LOST',
  'ABORTED',
  'CLOSED',
  'DATABASE_UNAVAILABLE',
  'STATEMENT_REFUSED',
  'OVERLOADED',
  'MIGRATION_FAILED',
  'MIGRATION_INTERRUPTED',
  'MIGRATION_TIMEOUT',
  'SCHEMA_NOT_READY',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export interface ErrorContext {
  /** Hostname of the node that raised the error. */
  node?: string;
  /** The primary the call was sent to, when there was one. */
  primary?: string;
  sql?: string;
  cause?: unknown;
  /** The write's idempotency key, when the outcome is unknown: retry with it to apply the write at most once. */
  idempotencyKey?: string;
  /** True when the request may have reached the primary and run there (timeout, reset, unverifiable answer). */
  mayHaveBeenApplied?: boolean;
}

/**
 * Marks litefs-forward's errors. A registry symbol is the same in every copy of the package (two versions in one
 * node_modules), while a `code` alone is not ours: other libraries throw `{ code: 'ABORTED' }` too.
 */
const BRAND = Symbol.for('litefs-forward.error');

export class LiteFSForwardError extends Error {
  static {
    // On the prototype: no own property that would show up in deepEqual or structured clones of an error.
    Object.defineProperty(LiteFSForwardError.prototype, BRAND, { value: true });
  }

  readonly code: ErrorCode;
  readonly node?: string;
  readonly primary?: string;
  readonly sql?: string;
  readonly idempotencyKey?: string;
  readonly mayHaveBeenApplied?: boolean;

  constructor(code: ErrorCode, message: string, context: ErrorContext = {}) {
    super(message, context.cause === undefined ? undefined : { cause: context.cause });
    this.name = new.target.name;
    this.code = code;
    if (context.node !== undefined) this.node = context.node;
    if (context.primary !== undefined) this.primary = context.primary;
    if (context.sql !== undefined) this.sql = context.sql;
    if (context.idempotencyKey !== undefined) this.idempotencyKey = context.idempotencyKey;
    if (context.mayHaveBeenApplied !== undefined) this.mayHaveBeenApplied = context.mayHaveBeenApplied;
  }
}

export class ConfigError extends LiteFSForwardError {
  readonly option: string;
  constructor(option: string, value: unknown, expectation: string) {
    super('CONFIG_INVALID', `Invalid option \`${option}\`: ${describe(value)}. Expected ${expectation}.`);
    this.option = option;
  }
}

export class PrimaryUnavailableError extends LiteFSForwardError {
  constructor(message: string, context?: ErrorContext) {
    super('PRIMARY_UNAVAILABLE', message, context);
  }
}

export class NotPrimaryError extends LiteFSForwardError {
  /** The primary this node knows of, so the caller can go there. */
  readonly knownPrimary?: string;
  constructor(message: string, context: ErrorContext & { knownPrimary?: string } = {}) {
    super('NOT_PRIMARY', message, context);
    if (context.knownPrimary !== undefined) this.knownPrimary = context.knownPrimary;
  }
}

export class ForwardTimeoutError extends LiteFSForwardError {
  constructor(timeoutMs: number, context: ErrorContext = {}) {
    super(
      'FORWARD_TIMEOUT',
      `The forwarded call did not finish within ${timeoutMs} ms. The write may have been applied on the primary; ` +
        `retry with the same idempotencyKey${context.idempotencyKey === undefined ? '' : ` (${context.idempotencyKey}, also in \`error.idempotencyKey\`)`} to apply it at most once, or raise \`timeout\`.`,
      { mayHaveBeenApplied: true, ...context },
    );
  }
}

export class UnauthorizedError extends LiteFSForwardError {
  constructor(reason: string, context?: ErrorContext) {
    super(
      'UNAUTHORIZED',
      `The primary refused the request: ${reason}. Check that every node has the same \`secret\` and synchronized clocks.`,
      context,
    );
  }
}

/**
 * This node holds another transaction at the TXID a write was acknowledged at: the cluster failed over to a node
 * that did not have the write, and LiteFS discarded it and reused the number.
 */
export class LineageChangedError extends LiteFSForwardError {
  readonly txid: string;
  constructor(txid: string, context?: ErrorContext) {
    super(
      'LINEAGE_CHANGED',
      `The primary acknowledged the write at TXID ${txid}, but this node now holds a different transaction at that TXID: ` +
        'the cluster failed over to a node that did not have the write, and LiteFS discarded it. ' +
        (context?.idempotencyKey === undefined
          ? 'The write is not in the database: run it again if it still applies.'
          : `It was sent again under its key until the call's deadline, without a confirmation on this node. Retry it with the same idempotencyKey (${context.idempotencyKey}, in \`error.idempotencyKey\`) to apply it exactly once.`),
      context,
    );
    this.txid = txid;
  }
}

/** A read-your-writes token (bookmark) names a commit the cluster no longer has: a failover discarded it. */
export class BookmarkLostError extends LiteFSForwardError {
  readonly txid: string;
  constructor(txid: string, context?: ErrorContext) {
    super(
      'BOOKMARK_LOST',
      `The token asks for the commit at TXID ${txid}, which this cluster no longer has: a failover to a node that did not have it discarded it. ` +
        'Waiting would not bring it back. Drop the token; a write made under it must be made again if it still applies.',
      context,
    );
    this.txid = txid;
  }
}

export class ReadYourWritesTimeoutError extends LiteFSForwardError {
  readonly txid: string;
  /** The call's own result: the write is committed on the primary. */
  readonly result: unknown;
  constructor(txid: string, timeoutMs: number, result: unknown, context?: ErrorContext) {
    super(
      'READ_YOUR_WRITES_TIMEOUT',
      `The write committed on the primary at TXID ${txid}, but this replica had not replicated it after ${timeoutMs} ms. ` +
        'Do not retry the write; the result is in `error.result`. Raise `readYourWritesTimeout` or check replication lag.',
      context,
    );
    this.txid = txid;
    this.result = result;
  }
}

/**
 * The local database file could not be read because LiteFS under it is restarting or unreachable (its FUSE mount
 * went away: SQLITE_IOERR_*, SQLITE_CANTOPEN, ENOTCONN). Nothing was changed; retry shortly. Measured on a LiteFS
 * restart: about 1 s of failed reads, after which the connections are reopened on the new mount.
 */
export class DatabaseUnavailableError extends LiteFSForwardError {
  /** Always true: the same call succeeds once LiteFS is back. */
  readonly retryable = true;
  constructor(cause: unknown, context: ErrorContext = {}) {
    const reason = (cause as { code?: unknown } | null)?.code;
    super(
      'DATABASE_UNAVAILABLE',
      `The local database could not be read${typeof reason === 'string' ? ` (${reason})` : ''}: LiteFS is restarting or its mount is unreachable. ` +
        'Nothing was changed; retry the call in a moment.',
      { ...context, cause },
    );
  }
}

/**
 * True for any error raised by litefs-forward, even from a second copy of the package, by its brand, not by its
 * `code`. The one exception: Prisma rethrows an adapter's error as a PrismaClientKnownRequestError that keeps
 * only `code` and message, so one of those with one of our codes counts (Prisma's own are P1234 and SQLITE_*).
 */
export function isLiteFSForwardError(error: unknown): error is LiteFSForwardError {
  if (typeof error !== 'object' || error === null) return false;
  if ((error as { [BRAND]?: unknown })[BRAND] === true) return true;
  return error instanceof Error && error.name === 'PrismaClientKnownRequestError' && (ERROR_CODES as readonly unknown[]).includes((error as { code?: unknown }).code);
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (value === undefined || value === null || typeof value !== 'object') return String(value);
  try {
    return JSON.stringify(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

/**
 * A statement that would change the shared writer connection for every later caller (transaction control outside
 * a transaction's own API, ATTACH/DETACH, connection pragmas, VACUUM, TEMP objects). Nothing of the call was
 * applied: the refusal comes before the call's first statement runs, on the primary, locally and forwarded alike.
 */
export class StatementRefusedError extends LiteFSForwardError {
  /** What was refused: 'transaction-control', 'savepoint', 'connection-state' or 'temp-object'. */
  readonly reason: string;
  constructor(reason: string, message: string, context?: ErrorContext) {
    super('STATEMENT_REFUSED', message, context);
    this.reason = reason;
  }
}

/**
 * A migration run (`migrate()`, `litefs-forward migrate`) that did not finish. `code` says how:
 * - MIGRATION_FAILED: a SQL file failed (nothing of it was applied) or the command exited non-zero; fix it and re-run.
 * - MIGRATION_INTERRUPTED: this node lost the lock or the lease while migrating; re-run (it is safe: applied files
 *   are recorded with their own transaction, and a command's own bookkeeping skips what it finished).
 * - MIGRATION_TIMEOUT: the deadline passed while waiting (for the lock, for the primary's record, for replication).
 */
export class MigrationError extends LiteFSForwardError {
  /** The migration concerned: a SQL file's name, or `command:<id>`. */
  readonly migration?: string;
  /** A finer reason within the code, e.g. 'sql-error', 'checksum-mismatch', 'exit-code', 'lock-lost', 'lease-lost'. */
  readonly reason: string;
  constructor(code: 'MIGRATION_FAILED' | 'MIGRATION_INTERRUPTED' | 'MIGRATION_TIMEOUT', reason: string, message: string, context: ErrorContext & { migration?: string } = {}) {
    super(code, message, context);
    this.reason = reason;
    if (context.migration !== undefined) this.migration = context.migration;
  }
}

/** Schema gating in 'refuse' mode, or a 'wait' that ran out: this replica has not replicated these migrations yet. */
export class SchemaNotReadyError extends LiteFSForwardError {
  /** The migrations this replica does not have yet. */
  readonly missing: readonly string[];
  constructor(missing: readonly string[], message: string, context?: ErrorContext) {
    super('SCHEMA_NOT_READY', message, context);
    this.missing = missing;
  }
}
