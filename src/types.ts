/** A value SQLite can store: NULL, INTEGER (bigint, or number when safe integers are off), REAL, TEXT, BLOB. */
export type SqlValue = null | number | bigint | string | Uint8Array;

/** Positional (`?`) or named (`:name`, `@name`, `$name`) parameters, as better-sqlite3 accepts them. */
export type BindParameters = readonly (SqlValue | undefined)[] | Readonly<Record<string, SqlValue | undefined>>;

export type Row = Record<string, SqlValue>;

export interface RunResult {
  changes: number;
  lastInsertRowid: number | bigint;
}

/** Everything a statement produced: the shape adapters need (rows and changes from one call). */
export interface QueryResult {
  columns: string[];
  /** Rows as arrays, in column order. Empty for statements that return no data. */
  rows: SqlValue[][];
  changes: number;
  lastInsertRowid: number | bigint;
}

export interface Statement {
  sql: string;
  params?: BindParameters;
}

/** Options every call accepts. */
export interface CallOptions {
  /** Aborts the call; a forwarded write that was already sent may still commit. */
  signal?: AbortSignal;
  /** Deadline for the whole call in ms, retries included. Defaults to the instance's `rpcTimeout`. */
  timeout?: number;
  /** Wait until this replica has replicated the forwarded write before returning. Defaults to the instance setting. */
  readYourWrites?: boolean;
  /**
   * The key that makes a forwarded write exactly-once. Generated per call when omitted; pass your own to
   * retry a call that failed with FORWARD_TIMEOUT without risking a second application.
   */
  idempotencyKey?: string;
}

export interface TransactionOptions extends CallOptions {
  /** A read-only transaction runs locally on every node, on a snapshot of the local file. */
  readOnly?: boolean;
}

/** The calls available on a database and inside a transaction. */
export interface Queryable {
  run(sql: string, params?: BindParameters, options?: CallOptions): Promise<RunResult>;
  get<T = Row>(sql: string, params?: BindParameters, options?: CallOptions): Promise<T | undefined>;
  all<T = Row>(sql: string, params?: BindParameters, options?: CallOptions): Promise<T[]>;
  /** Rows as arrays, in column order. */
  values(sql: string, params?: BindParameters, options?: CallOptions): Promise<SqlValue[][]>;
  /** Rows, column names, changes and last insert rowid of one statement. */
  query(sql: string, params?: BindParameters, options?: CallOptions): Promise<QueryResult>;
  /** Runs a script of one or more statements. On a replica it is always forwarded. */
  exec(sql: string, options?: CallOptions): Promise<void>;
}

/**
 * A transaction opened with `db.begin()`. End it with `commit()` or `rollback()`, or open it with
 * `await using tx = await db.begin()` to have it rolled back when the block exits uncommitted. A write transaction
 * idle for `transactionIdleTimeout` is rolled back, and its next call fails with TRANSACTION_EXPIRED.
 */
export interface Transaction extends Queryable, AsyncDisposable {
  /** `local` when it runs on this node's SQLite file, `remote` when it is a session on the primary. */
  readonly location: 'local' | 'remote';
  readonly readOnly: boolean;
  commit(options?: CallOptions): Promise<void>;
  rollback(options?: CallOptions): Promise<void>;
}

export type Role = 'primary' | 'replica' | 'unknown' | 'standalone';

export interface SignalStatus {
  enabled: boolean;
  state: string;
  /** What the signal last said: is this node primary, and which hostname is. */
  isPrimary?: boolean;
  primaryHostname?: string;
  lastUpdate?: string;
  lastError?: string;
}

export interface Status {
  role: Role;
  hostname: string;
  primary?: { hostname: string; rpcUrl?: string };
  signals: {
    eventStream: SignalStatus;
    primaryFile: SignalStatus;
    trackingTable: SignalStatus;
  };
  lastChange?: { from: Role; to: Role; at: string; reason: string };
  /** This node's replication position (hex TXID), when LiteFS reports one. */
  txid?: string;
  /** LiteFS's post-apply checksum at that TXID: with it, the position names one transaction on one lineage. */
  checksum?: string;
  /**
   * Lineage changes seen since this instance opened: this node's LiteFS moved to another history (a failover to a
   * node that was behind), and TXIDs before it name other transactions now.
   */
  lineageChanges?: number;
  /** Milliseconds since this node last heard from the primary, from LiteFS's `.lag` file. */
  lagMs?: number;
  /** `resent`: acknowledged writes lost in a failover and sent again under their key. */
  forwarding: { inFlight: number; forwarded: number; failed: number; resent: number; sessions: number };
}

export interface RoleChange {
  from: Role;
  to: Role;
  primary?: string;
  reason: string;
}

/**
 * A gate every local read on a replica passes first (installed with `db.setReadGate()`, by schema gating): it
 * resolves 'local' to read here, 'forward' to read on the primary, or rejects to refuse the read.
 */
export type ReadGate = (options: CallOptions) => Promise<'local' | 'forward'>;
