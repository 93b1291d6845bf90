
import { existsSync } from 'node:fs';
import { type LiteFSForwardOptions, type ResolvedConfig, resolveConfig } from './config.js';
import { ConsistencyScopes, WriteScope } from './consistency.js';
import { isLiteFSMount, type Position, readLagFile } from './detection/litefs-files.js';
import { isMountUnavailableError, readingLocally } from './detection/mount-errors.js';
import { PrimaryTracker } from './detection/primary-tracker.js';
import { AddressBook } from './detection/address-book.js';
import { ReplicationPosition, type WaitOutcome } from './detection/replication-position.js';
import {
  closeChannel,
  type ForwardContext,
  forwardChannel,
  type LineageChangeEvent,
  lineageChangeChannel,
  openChannel,
  type RoleChangeEvent,
  roleChangeChannel,
} from './diagnostics.js';
import { BookmarkLostError, DatabaseUnavailableError, LineageChangedError, LiteFSForwardError, NotPrimaryError, ReadYourWritesTimeoutError } from './errors.js';
import { ExactlyOnceLedger } from './primary/ledger.js';
import { PrimaryService } from './primary/primary-service.js';
import { EndpointServer } from './primary/endpoint-server.js';
import { RemoteSessions } from './primary/remote-sessions.js';
import { createRpcHandler, type RpcHandler } from './primary/rpc-handler.js';
import { batchUnit, runScript, statementUnit, writerRefusal } from './primary/units.js';
import { type Committed, WriteQueue } from './primary/write-queue.js';
import type { SqliteDriver } from './sqlite/driver-types.js';
import { loadDriver } from './sqlite/drivers/index.js';
import { isLeaseLostError } from './sqlite/errors.js';
import { BecamePrimary, Forwarder } from './replica/forwarder.js';
import { RpcClient } from './replica/rpc-client.js';
import { type Connection, executeLocal, type PreparedEntry, shapeResult, StatementCache } from './sqlite/statements.js';
import { DatabaseTransaction, type TransactionDriver } from './transaction.js';
import { openLocalReadDriver } from './transactions/local-read.js';
import { openLocalWriteDriver } from './transactions/local-write.js';
import { openRemoteDriver } from './transactions/remote.js';
import type {
  BindParameters,
  CallOptions,
  QueryResult,
  Queryable,
  ReadGate,
  Role,
  RoleChange,
  Row,
  RunResult,
  SqlValue,
  Statement,
  Status,
  Transaction,
  TransactionOptions,
} from './types.js';
import { sleep } from './util/abort.js';
import { newIdempotencyKey } from './util/idempotency-key.js';
import { isTxid } from './util/txid.js';
import { decodeResult, encodeParams, type WireResult } from './wire/codec.js';
import type { Request, StatementMode } from './wire/protocol.js';

/**
 * One SQLite database on a LiteFS cluster. Reads run on the local file; writes, batches and transactions run on
 * the primary, here or over the forwarding channel. Open it with `openDatabase()`; stop it with `close()`.
 */
export class LiteFSDatabase implements Queryable, AsyncDisposable {
  readonly #config: ResolvedConfig;
  readonly #driver: SqliteDriver;
  readonly #mode: 'litefs' | 'local';
  #reader: Connection;
  readonly #readerCache: StatementCache;
  #writer: Connection;
  readonly #writerCache: StatementCache;
  readonly #queue: WriteQueue;
  readonly #addressBook: AddressBook;
  readonly #ledger: ExactlyOnceLedger;
  readonly #sessions: RemoteSessions;
  readonly #tracker: PrimaryTracker | undefined;
  readonly #position: ReplicationPosition | undefined;
  readonly #client: RpcClient | undefined;
  readonly #forwarder: Forwarder | undefined;
  readonly #scopes = new ConsistencyScopes();
  readonly #roleListeners = new Set<(change: RoleChange) => void>();
  #handler: RpcHandler | undefined;
  #server: EndpointServer | undefined;
  #purgeTimer: NodeJS.Timeout | undefined;
  #closing: Promise<void> | undefined;
  /** Local write transactions still open, each with the function that rolls it back (on close). */
  readonly #localTransactions = new Set<(reason: string) => void>();
  #counters = { inFlight: 0, forwarded: 0, failed: 0, resent: 0 };
  /** Schema gating's hook (src/migrate/schema-gate.ts); undefined, and free, unless an app installs it. */
  #readGate: ReadGate | undefined;

  /** Use `openDatabase()`. */
  private constructor(
    config: ResolvedConfig,
    driver: SqliteDriver,
    mode: 'litefs' | 'local',
    tracker: PrimaryTracker | undefined,
    position: ReplicationPosition | undefined,
  ) {
    this.#config = config;
    this.#driver = driver;
    this.#mode = mode;
    this.#tracker = tracker;
    this.#position = position;
    [this.#reader, this.#writer] = this.#openConnections();
    this.#readerCache = new StatementCache(this.#reader);
    this.#writerCache = new StatementCache(this.#writer);
    this.#addressBook = new AddressBook(config.tableName);
    this.#ledger = new ExactlyOnceLedger(config.tableName);
    this.#queue = new WriteQueue({
      connection: this.#writer,
      maxGroupSize: config.groupCommit.maxSize,
      maxGroupWaitMs: config.groupCommit.maxWaitMs,
      ledger: config.exactlyOnce ? this.#ledger : undefined,
      readPosition: () => this.#readPosition(),
      onLeaseLost: (error) => this.#tracker?.demote(`LiteFS rejected a write (${(error as { code?: string }).code})`),
      logger: config.logger,
    });
    this.#sessions = new RemoteSessions({
      queue: this.#queue,
      cache: this.#writerCache,
      ledger: config.exactlyOnce ? this.#ledger : undefined,
      idleTimeoutMs: config.transactionIdleTimeout,
      totalTimeoutMs: config.transactionTimeout,
      maxSessions: config.limits.maxRemoteTransactions,
      logger: config.logger,
    });
    if (mode === 'litefs') {
      this.#client = new RpcClient({ secret: config.secret!, hostname: config.hostname, databaseName: config.databaseName, sqliteError: driver.SqliteError });
      this.#forwarder = new Forwarder(tracker!, this.#client, config.hostname);
    }
  }

  static async open(options: LiteFSForwardOptions): Promise<LiteFSDatabase> {
    const config = resolveConfig(options);
    const driver = await loadDriver(config.driver);
    const mode = config.mode === 'auto' ? ((await isLiteFSMount(config.mountDir)) ? 'litefs' : 'local') : config.mode;
    if (mode === 'litefs' && (config.secret === undefined || config.advertiseUrl === undefined)) {
      // `auto` found a mount, but forwarding cannot be set up without these; the same rule as `mode: 'litefs'`.
      resolveConfig({ ...options, mode: 'litefs' });
    }
    let tracker: PrimaryTracker | undefined;
    let position: ReplicationPosition | undefined;
    let database: LiteFSDatabase | undefined;
    if (mode === 'litefs') {
      position = new ReplicationPosition(config.path, (change) => {
        config.logger.warn(
          { from: change.from, to: change.to, reason: change.reason },
          "litefs-forward: this node's LiteFS moved to another lineage (a failover to a node that was behind); TXIDs before it name other transactions now",
        );
        if (lineageChangeChannel.hasSubscribers) lineageChangeChannel.publish({ node: config.hostname, database: config.databaseName, ...change } satisfies LineageChangeEvent);
      });
      const pos = position;
      tracker = new PrimaryTracker(config, {
        readTrackingRow: () => (database === undefined ? undefined : database.#addressBook.read(database.#reader)),
        onRoleChange: (change) => {
          if (database !== undefined) database.#onRoleChange(change);
        },
        onTx: (event) => {
          if (event.db === config.databaseName) pos.advance(event.txid, event.checksum);
        },
        onEventStreamChange: (connected) => {
          pos.eventsConnected = connected;
          // LiteFS restarted (or dropped us): a new mount makes the open file descriptors useless.
          if (connected && database !== undefined) void database.#reopenConnections();
        },
      });
      try {
        tracker.start();
        // Reads need only the file; a write made before a primary is known waits for one within its own deadline.
        await waitForDatabaseFile(config.path, tracker, config.startTimeout);
      } catch (error) {
        await tracker.close();
        throw error;
      }
    } else {
      config.logger.info({ path: config.path, mountDir: config.mountDir }, 'litefs-forward: no LiteFS mount found; running locally without forwarding');
    }
    try {
      database = new LiteFSDatabase(config, driver, mode, tracker, position);
    } catch (error) {
      await tracker?.close();
      position?.close();
      throw error;
    }
    try {
      await database.#start();
    } catch (error) {
      // The port in use, say: release every connection, timer and socket this instance holds.
      await database.close().catch(() => {});
      throw error;
    }
    return database;
  }

  /** `primary` or `replica` on LiteFS, `unknown` during an election, `standalone` without LiteFS. */
  get role(): Role {
    return this.#tracker?.role ?? 'standalone';
  }

  get hostname(): string {
    return this.#config.hostname;
  }

  /** The database file's path, as given in `path`. */
  get path(): string {
    return this.#config.path;
  }

  /**
   * Installs (or, with undefined, removes) a gate that every local read on a replica passes first; the primary
   * never consults it. `gateSchema()` uses it to hold reads back until this replica has a migration.
   */
  setReadGate(gate: ReadGate | undefined): void {
    this.#readGate = gate;
  }

  /** The database's file name, which is also its name in LiteFS's events. */
  get databaseName(): string {
    return this.#config.databaseName;
  }

  /**
   * The forwarding endpoint as a Node HTTP handler, for `listen: false` setups: `(req, res, next?) => void`.
   * Mount it at the server's root; it answers only its own path and passes anything else to `next`.
   */
  get rpcHandler(): RpcHandler {
    if (this.#handler === undefined) throw new LiteFSForwardError('CONFIG_INVALID', 'There is no forwarding endpoint without LiteFS (local mode).');
    return this.#handler;
  }

  /** The URL the built-in endpoint listens on, once started (useful with port 0). */
  get listenUrl(): string | undefined {
    const address = this.#server?.address();
    return address && typeof address === 'object' ? `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}` : undefined;
  }

  /** Calls `listener` on every change of role or primary. Returns a function that removes it. */
  onRoleChange(listener: (change: RoleChange) => void): () => void {
    this.#roleListeners.add(listener);
    return () => this.#roleListeners.delete(listener);
  }

  run(sql: string, params?: BindParameters, options?: CallOptions): Promise<RunResult> {
    return this.#statement(sql, params, 'run', options) as Promise<RunResult>;
  }

  get<T = Row>(sql: string, params?: BindParameters, options?: CallOptions): Promise<T | undefined> {
    return this.#statement(sql, params, 'get', options) as Promise<T | undefined>;
  }

  all<T = Row>(sql: string, params?: BindParameters, options?: CallOptions): Promise<T[]> {
    return this.#statement(sql, params, 'all', options) as Promise<T[]>;
  }

  values(sql: string, params?: BindParameters, options?: CallOptions): Promise<SqlValue[][]> {
    return this.#statement(sql, params, 'values', options) as Promise<SqlValue[][]>;
  }

  query(sql: string, params?: BindParameters, options?: CallOptions): Promise<QueryResult> {
    return this.#statement(sql, params, 'query', options) as Promise<QueryResult>;
  }

  /** Runs a script of statements. Always a write: on a replica it is forwarded. */
  async exec(sql: string, options: CallOptions = {}): Promise<void> {
    this.#assertOpen();
    await this.#write(
      {
        kind: 'exec',
        sql,
        local: (key, signal) => runScript(this.#queue, this.#ledger, sql, key, signal),
        request: (key, timeoutMs) => ({ op: 'exec', sql, ...(key ? { key } : {}), timeoutMs }),
        decode: () => null,
      },
      options,
    );
  }

  /** Runs the statements atomically, on the primary, and returns each one's result. */
  async batch(statements: readonly Statement[], options: CallOptions = {}): Promise<QueryResult[]> {
    this.#assertOpen();
    const results = await this.#write(
      {
        kind: 'batch',
        sql: statements[0]?.sql,
        local: (key, signal) => this.#queue.submit(batchUnit(this.#writerCache, statements, key), signal),
        request: (key, timeoutMs) => ({
          op: 'batch',
          statements: statements.map((statement) => ({ sql: statement.sql, ...(statement.params === undefined ? {} : { params: encodeParams(statement.params)! }) })),
          ...(key ? { key } : {}),
          timeoutMs,
        }),
        decode: (result) => (result as WireResult[]).map((wire) => decodeResult(wire, true)),
      },
      options,
    );
    return results.map((result) => shapeResult(result, 'query', this.#config.safeIntegers) as QueryResult);
  }

  /** Opens a transaction: local and read-only, local on the primary, or a remote session from a replica. */
  async begin(options: TransactionOptions = {}): Promise<Transaction> {
    this.#assertOpen();
    if (options.readOnly === true) return new DatabaseTransaction(this.#localReadDriver());
    if (this.#isWriter()) {
      try {
        return new DatabaseTransaction(await this.#localWriteDriver(options));
      } catch (error) {
        if (!(error instanceof NotPrimaryError) || this.#mode === 'local') throw error;
      }
    }
    for (;;) {
      try {
        return new DatabaseTransaction(await this.#remoteDriver(options));
      } catch (error) {
        if (!(error instanceof BecamePrimary)) throw error;
      }
      try {
        return new DatabaseTransaction(await this.#localWriteDriver(options));
      } catch (error) {
        if (!(error instanceof NotPrimaryError)) throw error;
      }
    }
  }

  /** Runs `fn` in a transaction: committed when it resolves, rolled back when it throws. */
  async transaction<T>(fn: (tx: Transaction) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    const tx = await this.begin(options);
    let value: T;
    try {
      value = await fn(tx);
    } catch (error) {
      // After a transport failure the primary is likely out of reach: a ROLLBACK with a deadline of its own would
      // double the caller's wait. Try briefly; an abandoned session is rolled back by the primary's idle timeout.
      const unreachable = (error as { mayHaveBeenApplied?: unknown }).mayHaveBeenApplied === true || (error as { code?: unknown }).code === 'PRIMARY_UNAVAILABLE';
      await tx.rollback(unreachable ? { timeout: ROLLBACK_AFTER_TRANSPORT_FAILURE_MS } : {}).catch(() => {});
      throw error;
    }
    await tx.commit(options);
    return value;
  }

  /**
   * Runs `fn` and returns, with its value, the highest TXID it wrote and that commit's checksum: a bookmark for
   * `waitForTxid(txid, { checksum })` (the HTTP middleware's cookie).
   */
  async trackWrites<T>(fn: () => Promise<T>): Promise<{ value: T; txid: string | undefined; checksum: string | undefined }> {
    const scope = new WriteScope();
    const value = await this.#scopes.run(scope, fn);
    return { value, txid: scope.txid, checksum: scope.checksum };
  }

  /** Runs `fn` with writes reported to `scope` (the building block of the HTTP middleware). */
  runInWriteScope<T>(scope: WriteScope, fn: () => T): T {
    return this.#scopes.run(scope, fn);
  }

  /** The longest read-your-writes wait configured for this instance, in ms. */
  get readYourWritesTimeout(): number {
    return this.#config.readYourWritesTimeout;
  }

  /**
   * Resolves once this node has replicated `txid` (16 hex digits); at once on the primary. With `checksum` (the
   * commit's, as a write's token carries it), that exact commit: BOOKMARK_LOST when a failover discarded it, at
   * once when this node can tell (it holds another transaction at that TXID, or it is the primary and has no such
   * TXID yet).
   */
  async waitForTxid(txid: string, options: { timeout?: number; signal?: AbortSignal; checksum?: string } = {}): Promise<void> {
    if (!isTxid(txid)) throw new LiteFSForwardError('INVALID_ARGUMENT', `Not a TXID: ${JSON.stringify(txid)}; pass 16 lowercase hex digits, as a write's TXID or LiteFS's -pos file gives them.`);
    const { checksum } = options;
    if (checksum !== undefined && !isTxid(checksum)) throw new LiteFSForwardError('INVALID_ARGUMENT', `Not a checksum: ${JSON.stringify(checksum)}; pass 16 lowercase hex digits, as a write's token carries it.`);
    const primary = this.role === 'primary';
    if (this.#position === undefined || (primary && checksum === undefined)) return;
    try {
      // The primary is as far as the lineage goes: what it does not have now, it never will.
      await this.#position.waitFor(txid, primary ? 0 : (options.timeout ?? this.#config.readYourWritesTimeout), undefined, options.signal, checksum);
    } catch (error) {
      if (error instanceof LineageChangedError || (primary && error instanceof ReadYourWritesTimeoutError)) throw new BookmarkLostError(txid, { node: this.#config.hostname });
      throw error;
    }
  }

  /** This node's replication position, as 16 hex digits (undefined without LiteFS). */
  get txid(): string | undefined {
    return this.#position?.current();
  }

  async status(): Promise<Status> {
    const tracker = this.#tracker;
    const disabled = { enabled: false, state: 'disabled' };
    const primaryHostname = tracker?.primaryHostname ?? (this.#mode === 'local' ? this.#config.hostname : undefined);
    if (this.role === 'replica') tracker?.checkTrackingTable();
    const status: Status = {
      role: this.role,
      hostname: this.#config.hostname,
      signals: tracker?.signals ?? { eventStream: disabled, primaryFile: disabled, trackingTable: disabled },
      forwarding: { ...this.#counters, sessions: this.#sessions.size },
    };
    if (primaryHostname !== undefined) {
      const rpcUrl = this.role === 'primary' ? this.#config.advertiseUrl : tracker?.signals.trackingTable.primaryHostname === primaryHostname ? this.#trackedUrl() : undefined;
      status.primary = rpcUrl === undefined ? { hostname: primaryHostname } : { hostname: primaryHostname, rpcUrl };
    }
    if (tracker?.lastChange) status.lastChange = tracker.lastChange;
    const position = this.#position?.currentPosition();
    if (position !== undefined) {
      status.txid = position.txid;
      if (position.checksum !== undefined) status.checksum = position.checksum;
    }
    if (this.#position !== undefined) status.lineageChanges = this.#position.lineageChanges;
    if (this.#mode === 'litefs') {
      const lag = await readLagFile(this.#config.mountDir);
      if (lag !== undefined) status.lagMs = lag;
    }
    return status;
  }

  /** Stops pollers, streams, the endpoint and connections; waits for the writes in flight. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #start(): Promise<void> {
    if (this.#mode === 'litefs') {
      const config = this.#config;
      const service = new PrimaryService({
        queue: this.#queue,
        cache: this.#writerCache,
        ledger: this.#ledger,
        sessions: this.#sessions,
        exactlyOnce: config.exactlyOnce,
        // A closing primary takes no new work: replicas retry, and their retry finds the next primary.
        isPrimary: () => this.role === 'primary' && this.#closing === undefined,
        knownPrimary: () => this.#tracker?.primaryHostname,
        readPosition: () => this.#readPosition(),
        status: () => this.status(),
      });
      this.#handler = createRpcHandler({
        service,
        databaseName: config.databaseName,
        secret: config.secret!,
        maxRequestBytes: config.maxRequestBytes,
        maxClockSkewMs: config.maxClockSkew,
        maxPendingBodies: config.limits.maxPendingBodies,
        logger: config.logger,
      });
      if (config.listen !== false) await this.#listen(config.listen);
    }
    if (this.#isWriter()) await this.#takeOverAsPrimary();
    openChannel.publish({ node: this.#config.hostname, database: this.#config.databaseName, mode: this.#mode });
    this.#config.logger.info({ role: this.role, mode: this.#mode, path: this.#config.path, listen: this.listenUrl }, 'litefs-forward started');
  }

  async #listen(listen: { host: string; port: number }): Promise<void> {
    const { limits, logger } = this.#config;
    this.#server = await EndpointServer.start({
      handler: this.#handler!,
      host: listen.host,
      port: listen.port,
      maxConnections: limits.maxConnections,
      headersTimeoutMs: limits.headersTimeout,
      requestTimeoutMs: limits.requestTimeout,
      keepAliveTimeoutMs: limits.keepAliveTimeout,
      closeGraceMs: limits.closeGrace,
      logger,
    });
  }

  /** On becoming primary: create the cluster tables and publish this node's address for the replicas. */
  async #takeOverAsPrimary(): Promise<void> {
    const { hostname, advertiseUrl } = this.#config;
    try {
      const lease = await this.#queue.acquire();
      try {
        // Outside any transaction: SQLite cannot change into WAL mode inside one.
        if (this.#config.journalMode !== undefined) this.#writer.pragma(`journal_mode = ${this.#config.journalMode}`);
        this.#writer.exec('BEGIN IMMEDIATE');
        this.#addressBook.ensureSchema(this.#writer);
        this.#ledger.ensureSchema(this.#writer);
        if (advertiseUrl !== undefined) this.#addressBook.publish(this.#writer, hostname, advertiseUrl);
        this.#writer.exec('COMMIT');
      } catch (error) {
        if (this.#writer.inTransaction) this.#writer.exec('ROLLBACK');
        throw error;
      } finally {
        lease.release();
      }
    } catch (error) {
      if ((error as LiteFSForwardError).code === 'CLOSED') return;
      this.#config.logger.error({ err: error }, 'litefs-forward could not publish this node as primary');
      if (isLeaseLostError(error, this.#writer)) this.#tracker?.demote('LiteFS rejected the tracking-table write');
      return;
    }
    this.#schedulePurge();
  }

  #schedulePurge(): void {
    if (!this.#config.exactlyOnce || this.#purgeTimer !== undefined) return;
    const every = Math.min(60_000, Math.max(1_000, Math.floor(this.#config.idempotencyWindow / 4)));
    this.#purgeTimer = setInterval(() => void this.purgeExpiredKeys().catch(() => {}), every);
    this.#purgeTimer.unref();
  }

  /** Deletes idempotency records older than `idempotencyWindow`. Runs on a timer on the primary. */
  async purgeExpiredKeys(now = Date.now()): Promise<number> {
    if (!this.#isWriter()) return 0;
    const cutoff = now - this.#config.idempotencyWindow;
    const committed = await this.#queue.submit({ execute: (connection) => this.#ledger.purge(connection, cutoff) });
    return committed.value;
  }

  /**
   * The shared reader, with the caller's integer mode, and the writer: no busy wait, since the write queue is its
   * only user, and integers lossless for the wire and the ledger.
   */
  #openConnections(): [reader: Connection, writer: Connection] {
    const { path, safeIntegers } = this.#config;
    const reader = this.#driver.open(path);
    try {
      reader.defaultSafeIntegers(safeIntegers);
      const writer = this.#driver.open(path, { timeout: 0 });
      writer.defaultSafeIntegers(true);
      return [reader, writer];
    } catch (error) {
      reader.close();
      throw error;
    }
  }

  /** Reopens both connections between writes, so that a remounted LiteFS is read and written again. */
  async #reopenConnections(): Promise<void> {
    if (this.#closing !== undefined) return;
    let lease: Awaited<ReturnType<WriteQueue['acquire']>>;
    try {
      lease = await this.#queue.acquire();
    } catch {
      return;
    }
    try {
      const config = this.#config;
      const [reader, writer] = this.#openConnections();
      const [oldReader, oldWriter] = [this.#reader, this.#writer];
      this.#reader = reader;
      this.#writer = writer;
      this.#readerCache.reset(reader);
      this.#writerCache.reset(writer);
      this.#queue.setConnection(writer);
      this.#tracker?.invalidate();
      for (const old of [oldReader, oldWriter]) {
        try {
          old.close();
        } catch {}
      }
      config.logger.debug({ path: config.path }, 'litefs-forward reopened its connections');
    } catch (error) {
      this.#config.logger.warn({ err: error }, 'litefs-forward could not reopen its connections');
    } finally {
      lease.release();
    }
  }

  #onRoleChange(change: RoleChange): void {
    const { logger, hostname, databaseName } = this.#config;
    logger.info({ ...change }, 'litefs-forward role change');
    if (change.from === 'primary' && change.to !== 'primary') {
      this.#sessions.rollbackAll('this node is no longer the primary');
      clearInterval(this.#purgeTimer);
      this.#purgeTimer = undefined;
    }
    if (change.to === 'primary' && change.from !== 'primary' && this.#closing === undefined) void this.#takeOverAsPrimary();
    if (roleChangeChannel.hasSubscribers) roleChangeChannel.publish({ ...change, node: hostname, database: databaseName } satisfies RoleChangeEvent);
    for (const listener of this.#roleListeners) {
      try {
        listener(change);
      } catch (error) {
        logger.error({ err: error }, 'a role-change listener threw');
      }
    }
  }

  #isWriter(): boolean {
    const role = this.role;
    return role === 'primary' || role === 'standalone';
  }

  /** This node's position from the `-pos` file, read right after a commit on the writer's turn. */
  #readPosition(): Position | undefined {
    if (this.#mode !== 'litefs') return undefined;
    return this.#position?.currentPosition();
  }

  #trackedUrl(): string | undefined {
    try {
      return this.#addressBook.read(this.#reader)?.rpcUrl;
    } catch {
      return undefined;
    }
  }

  #assertOpen(): void {
    if (this.#closing !== undefined) throw new LiteFSForwardError('CLOSED', 'The database was closed; open a new instance to keep using it.');
  }

  async #statement(sql: string, params: BindParameters | undefined, mode: StatementMode, options: CallOptions = {}): Promise<unknown> {
    this.#assertOpen();
    let entry: PreparedEntry | undefined;
    try {
      entry = this.#readerCache.prepare(sql);
    } catch (error) {
      if (isMountUnavailableError(error)) throw new DatabaseUnavailableError(error, { node: this.#config.hostname, sql });
      // A replica's schema may lag the primary's: let the primary judge the statement.
      if (this.#isWriter() || this.#mode === 'local') throw error;
    }
    if (entry !== undefined) {
      // The reader is shared by every caller on this node, as the writer is: the same refusals keep it unchanged.
      const refused = writerRefusal(entry, sql, 'call');
      if (refused !== undefined) throw refused;
      if (entry.kind === 'read') {
        const prepared = entry;
        const gate = this.#readGate;
        // 'forward' falls through to the write path: the primary runs the read and answers it.
        if (gate === undefined || this.#isWriter() || (await gate(options)) === 'local') {
          return readingLocally(() => executeLocal(this.#reader, prepared, params, mode), { node: this.#config.hostname, sql });
        }
      }
    }
    const result = await this.#write(
      {
        kind: 'query',
        sql,
        local: (key, signal) => this.#queue.submit(statementUnit(this.#writerCache, sql, params, mode, key), signal),
        request: (key, timeoutMs) => {
          const wireParams = encodeParams(params);
          return { op: 'query', mode, sql, ...(wireParams ? { params: wireParams } : {}), ...(key ? { key } : {}), timeoutMs };
        },
        decode: (wire) => decodeResult(wire as WireResult, true),
      },
      // A read forwarded by the gate changed nothing: there is nothing to wait for.
      entry?.kind === 'read' ? { ...options, readYourWrites: false } : options,
    );
    return shapeResult(result, mode, this.#config.safeIntegers);
  }

  /** Runs a write here when this node is the writer, else forwards it; falls over between the two on role changes. */
  async #write<T>(
    call: {
      kind: string;
      sql: string | undefined;
      local(key: string | undefined, signal: AbortSignal | undefined): Promise<Committed<T>>;
      request(key: string | undefined, timeoutMs: number): Request;
      decode(result: unknown): T;
    },
    options: CallOptions,
  ): Promise<T> {
    let key = options.idempotencyKey;
    if (this.#isWriter()) {
      try {
        const committed = await call.local(key, options.signal);
        this.#scopes.observe(committed.txid, committed.checksum);
        return committed.value;
      } catch (error) {
        if (!(error instanceof NotPrimaryError) || this.#mode === 'local') throw error;
      }
    }
    key ??= this.#config.exactlyOnce ? newIdempotencyKey() : undefined;
    for (;;) {
      try {
        return await this.#forward(call, key, options);
      } catch (error) {
        if (!(error instanceof BecamePrimary)) throw error;
      }
      // This node won the lease mid-call: run it here, under the same key in case an earlier attempt landed.
      try {
        const committed = await call.local(key, options.signal);
        this.#scopes.observe(committed.txid, committed.checksum);
        return committed.value;
      } catch (error) {
        if (!(error instanceof NotPrimaryError)) throw error;
      }
    }
  }

  async #forward<T>(
    call: { kind: string; sql: string | undefined; request(key: string | undefined, timeoutMs: number): Request; decode(result: unknown): T },
    key: string | undefined,
    options: CallOptions,
  ): Promise<T> {
    const context: ForwardContext = { kind: call.kind, node: this.#config.hostname, database: this.#config.databaseName, sql: call.sql };
    const sentAt = Date.now();
    const deadline = sentAt + (options.timeout ?? this.#config.rpcTimeout);
    let resends = 0;
    // Becoming primary mid-call is an outcome, not a failure: the trace ends there, and the call runs locally.
    const outcome = await this.#traced(context, async () => {
      try {
        for (;;) {
          const { response, endpoint } = await this.#forwarder!.send((timeoutMs) => call.request(key, timeoutMs), {
            signal: options.signal,
            timeoutMs: Math.max(1, deadline - Date.now()),
            idempotent: key !== undefined,
            sql: call.sql,
          });
          context.primary = endpoint.hostname;
          const value = call.decode(response.result);
          if (response.txid !== undefined) context.txid = response.txid;
          if (await this.#afterRemoteCommit(response.txid, response.checksum, value, options, { key, sentAt })) {
            this.#counters.forwarded++;
            return { value };
          }
          // Acknowledged, then lost with a failover. The primary now in charge lost the write's ledger row with
          // it, so the same key applies the write there exactly once.
          this.#counters.resent++;
          this.#config.logger.warn({ txid: response.txid, idempotencyKey: key }, 'litefs-forward: an acknowledged write was lost in a failover; sending it again under its key');
          // Until LiteFS moves this node onto the primary's lineage, the same answer comes back: do not hammer it.
          await sleep(Math.min(RESEND_BACKOFF_MAX_MS, RESEND_BACKOFF_MS * 2 ** Math.min(resends++, 10), Math.max(0, deadline - Date.now())), options.signal);
          if (Date.now() >= deadline) throw new LineageChangedError(response.txid!, { node: this.#config.hostname, primary: endpoint.hostname, ...(key ? { idempotencyKey: key } : {}) });
        }
      } catch (error) {
        if (error instanceof BecamePrimary) return BECAME_PRIMARY;
        this.#counters.failed++;
        throw error;
      }
    });
    if (outcome === BECAME_PRIMARY) throw new BecamePrimary();
    return outcome.value;
  }

  /**
   * Runs one forwarded call under the `litefs-forward:forward` tracing channel, with `tracePromise`, so that an APM's
   * `bindStore` on `start` sees its store in everything the call awaits.
   */
  async #traced<T>(context: ForwardContext, fn: () => Promise<T>): Promise<T> {
    const startedAt = performance.now();
    const run = async (): Promise<T> => {
      this.#counters.inFlight++;
      try {
        return await fn();
      } finally {
        this.#counters.inFlight--;
        context.durationMs = performance.now() - startedAt;
      }
    };
    return forwardChannel.hasSubscribers ? forwardChannel.tracePromise(run, context) : run();
  }

  /**
   * Read-your-writes with a verified acknowledgement: waits until this node holds the commit the primary answered
   * with (same TXID, same checksum). True when it does, or when no wait was asked for. False when the commit is not
   * on this node's lineage and the call can safely go again under `resend.key`; LINEAGE_CHANGED when it cannot.
   */
  async #afterRemoteCommit(
    txid: string | undefined,
    checksum: string | undefined,
    value: unknown,
    options: CallOptions,
    resend: { key: string | undefined; sentAt: number } | undefined,
  ): Promise<boolean> {
    if (txid === undefined) return true;
    if (!(options.readYourWrites ?? this.#config.readYourWrites) || this.#position === undefined) {
      this.#scopes.observe(txid, checksum);
      return true;
    }
    let outcome: WaitOutcome;
    try {
      outcome = await this.#position.waitFor(txid, this.#config.readYourWritesTimeout, value, options.signal, checksum);
    } catch (error) {
      if (error instanceof ReadYourWritesTimeoutError) {
        // Committed on the primary, not here yet: later reads in this scope still wait for it.
        this.#scopes.observe(txid, checksum);
        this.#config.logger.warn({ txid, timeoutMs: this.#config.readYourWritesTimeout }, 'read-your-writes wait timed out');
      }
      // Another transaction holds that TXID here: the write was lost. With a key it goes again (its row went too).
      if (error instanceof LineageChangedError && resend?.key !== undefined && this.#config.exactlyOnce) return false;
      if (error instanceof LineageChangedError) throw new LineageChangedError(txid, { node: this.#config.hostname, ...(resend?.key ? { idempotencyKey: resend.key } : {}) });
      throw error;
    }
    if (outcome === 'reached' && resend?.key !== undefined && this.#config.exactlyOnce && !this.#holdsLedgerRow(resend.key, resend.sentAt)) return false;
    this.#scopes.observe(txid, checksum);
    return true;
  }

  /**
   * Whether this node holds the write recorded under `key`, for when the checksum cannot tell (a snapshot restore
   * skipped the TXID). The row commits with the write, so its absence means the write is not here, unless the
   * primary's purge could already have removed it: then the answer is yes, since a resend could apply it twice.
   */
  #holdsLedgerRow(key: string, sentAt: number): boolean {
    if (Date.now() - sentAt >= this.#config.idempotencyWindow - this.#config.maxClockSkew) return true;
    try {
      return this.#ledger.lookup(this.#reader, key) !== undefined;
    } catch {
      return true;
    }
  }

  #localReadDriver(): TransactionDriver {
    const { path, hostname, safeIntegers } = this.#config;
    return openLocalReadDriver({ path, hostname, safeIntegers, driver: this.#driver });
  }

  #localWriteDriver(options: TransactionOptions): Promise<TransactionDriver> {
    const { safeIntegers, transactionIdleTimeout, transactionTimeout, logger } = this.#config;
    return openLocalWriteDriver(
      {
        queue: this.#queue,
        writerCache: this.#writerCache,
        ledger: this.#ledger,
        safeIntegers,
        transactionIdleTimeout,
        transactionTimeout,
        logger,
        open: this.#localTransactions,
        onLeaseLost: () => this.#tracker?.demote('LiteFS rejected a transaction commit'),
        onCommitted: () => {
          const position = this.#readPosition();
          this.#scopes.observe(position?.txid, position?.checksum);
        },
      },
      options,
    );
  }

  #remoteDriver(options: TransactionOptions): Promise<TransactionDriver> {
    const { hostname, databaseName, rpcTimeout, safeIntegers, exactlyOnce } = this.#config;
    return openRemoteDriver(
      {
        forwarder: this.#forwarder!,
        hostname,
        databaseName,
        rpcTimeout,
        safeIntegers,
        exactlyOnce,
        traced: (context, fn) => this.#traced(context, fn),
        onCommitted: async (txid, checksum, callOptions) => {
          this.#counters.forwarded++;
          // A transaction cannot go again by itself: a lost commit is LINEAGE_CHANGED to the caller.
          await this.#afterRemoteCommit(txid, checksum, undefined, callOptions, undefined);
        },
      },
      options,
    );
  }

  /**
   * Bounded by design, within about 2 x `limits.closeGrace`: sessions are rolled back first, because they hold the write queue and
   * HTTP requests queued behind them would otherwise keep the HTTP drain waiting for their idle timeout.
   */
  async #shutdown(): Promise<void> {
    clearInterval(this.#purgeTimer);
    this.#rollBackSessions();
    // The endpoint's own close() is bounded: idle sockets go at once, requests in flight get `limits.closeGrace`.
    await this.#server?.close();
    // A `tx begin` that was already waiting for the queue may have opened a session meanwhile.
    this.#rollBackSessions();
    await Promise.race([this.#queue.drain(), sleep(this.#config.limits.closeGrace)]);
    this.#queue.close();
    await this.#tracker?.close();
    this.#position?.close();
    this.#client?.close();
    this.#reader.close();
    this.#writer.close();
    closeChannel.publish({ node: this.#config.hostname, database: this.#config.databaseName, mode: this.#mode });
    this.#config.logger.info({ path: this.#config.path }, 'litefs-forward closed');
  }

  #rollBackSessions(): void {
    this.#sessions.rollbackAll('the database is closing');
    for (const expire of [...this.#localTransactions]) expire('the database was closed');
  }
}

/** What a forwarded call's trace returns when this node became primary mid-call. */
const BECAME_PRIMARY = Symbol('became primary');

/** The pause before sending a lost write again, doubling per resend up to the cap (the call's deadline bounds it). */
const RESEND_BACKOFF_MS = 25;
const RESEND_BACKOFF_MAX_MS = 1_000;

/** How long transaction() tries to roll back after the primary stopped answering (see transaction()). */
const ROLLBACK_AFTER_TRANSPORT_FAILURE_MS = 1_000;

/** Opens a database: on LiteFS it detects the primary and starts forwarding; without LiteFS it runs locally. */
export function openDatabase(options: LiteFSForwardOptions): Promise<LiteFSDatabase> {
  return LiteFSDatabase.open(options);
}

/**
 * Waits, up to `timeoutMs`, for the database file (a new replica sees it once the primary has created it and LiteFS
 * has replicated it) or for this node to be primary (it creates the file), then briefly for LiteFS's first answer,
 * so that the role is known at once when LiteFS is up. It never waits for an election to end.
 */
async function waitForDatabaseFile(path: string, tracker: PrimaryTracker, timeoutMs: number): Promise<void> {
  const startedAt = Date.now();
  // A timer that keeps the process alive: nothing else may be running yet while open() waits.
  const keepAlive = setTimeout(() => {}, timeoutMs);
  try {
    while (!existsSync(path) && tracker.role !== 'primary') {
      if (Date.now() - startedAt > timeoutMs) {
        throw new LiteFSForwardError('PRIMARY_UNAVAILABLE', `The database ${path} did not appear within ${timeoutMs} ms. Start the primary's app first, or raise \`startTimeout\`.`);
      }
      const stop = new AbortController();
      await Promise.race([sleep(50, stop.signal), tracker.waitForChange(stop.signal)]).catch(() => {});
      stop.abort();
    }
    await tracker.waitForFirstReport(Math.max(1, Math.min(FIRST_REPORT_WAIT_MS, timeoutMs - (Date.now() - startedAt))));
  } finally {
    clearTimeout(keepAlive);
  }
}

/** LiteFS answers `/events` and `.primary` in milliseconds; this bounds the wait when it does not answer at all. */
const FIRST_REPORT_WAIT_MS = 2_000;
