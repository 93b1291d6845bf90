import type { ResolvedConfig } from '../config.js';
import { PrimaryUnavailableError } from '../errors.js';
import type { Role, RoleChange, SignalStatus } from '../types.js';
import { abortError, sleep } from '../util/abort.js';
import { EventStream, type LeaseObservation, type TxEvent } from './event-stream.js';
import { readPrimaryFile } from './litefs-files.js';
import { fetchLiteFSInfo } from './litefs-info.js';

/** The replicated row in which a primary publishes where its forwarding endpoint is. */
export interface TrackingRow {
  hostname: string;
  rpcUrl: string;
  updatedAt: number;
}

export interface PrimaryEndpoint {
  hostname: string;
  rpcUrl: string;
}

export interface TrackerHooks {
  /** Reads the tracking table from the local file; undefined when it has no row yet. */
  readTrackingRow(): TrackingRow | undefined;
  onRoleChange(change: RoleChange): void;
  onTx(event: TxEvent): void;
  onEventStreamChange(connected: boolean): void;
}

type Source = 'eventStream' | 'primaryFile' | 'writeRejected' | 'start';

const INFO_TIMEOUT_MS = 2_000;
const STALE_ROW_RETRY_MS = 25;
/** How often a caller waiting for a primary re-reads `.primary` when no event stream would announce one. */
const REREAD_WITHOUT_STREAM_MS = 250;
/**
 * How long "no primary known" must last on a replica before it is reported. While a dead primary still holds the
 * lease, LiteFS re-announces it on every reconnect attempt (reconnect-delay, 1 s by default) and withdraws it when
 * the attempt fails: without this, a replica flaps between "replica of <dead>" and "unknown" every second. Only
 * this transition waits; a new primary, or this node becoming primary or losing the lease, is applied at once.
 */
export const UNKNOWN_DEBOUNCE_MS = 1_500;

/**
 * The one owner of "am I primary, and where is the primary?".
 *
 * Precedence: while the `/events` stream is connected, its latest `init`/`primaryChange` decides the role. When it
 * is not, the `.primary` file decides; a missing file is confirmed with `/info`, because LiteFS also removes it on
 * replicas during elections. A write that LiteFS rejects demotes this node at once, until a signal says otherwise.
 * The tracking table never decides the role: it only maps the primary's hostname, as LiteFS reports it, to the
 * primary's RPC address, and a row naming another hostname is stale and not used.
 */
export class PrimaryTracker {
  readonly #config: ResolvedConfig;
  readonly #hooks: TrackerHooks;
  readonly #events: EventStream | undefined;
  #role: Role = 'unknown';
  #primaryHostname: string | undefined;
  #lastChange: { from: Role; to: Role; at: string; reason: string } | undefined;
  #waiters = new Set<() => void>();
  #pollTimer: NodeJS.Timeout | undefined;
  #closed = false;
  #cachedRow: { row: TrackingRow | undefined; readAt: number } | undefined;
  /** A replica's pending move to "unknown", applied only if no primary is announced again meanwhile. */
  #pendingUnknown: { timer: NodeJS.Timeout } | undefined;
  /** Settles once any signal has answered at all (an event, or a finished read of `.primary`), whatever it said. */
  #reported = false;
  readonly #signals: { eventStream: SignalStatus; primaryFile: SignalStatus; trackingTable: SignalStatus };

  constructor(config: ResolvedConfig, hooks: TrackerHooks) {
    this.#config = config;
    this.#hooks = hooks;
    this.#signals = {
      eventStream: { enabled: config.eventStreamUrl !== false, state: config.eventStreamUrl === false ? 'disabled' : 'connecting' },
      primaryFile: { enabled: true, state: 'idle' },
      trackingTable: { enabled: true, state: 'idle' },
    };
    if (config.eventStreamUrl !== false) {
      this.#events = new EventStream(
        { url: config.eventStreamUrl, logger: config.logger },
        {
          onLease: (observation, type) => {
            this.#record('eventStream', observation);
            this.#apply('eventStream', observation, `LiteFS ${type} event`);
            this.#markReported();
          },
          onTx: (event) => this.#hooks.onTx(event),
          onConnectionChange: (connected, error) => {
            this.#signals.eventStream.state = connected ? 'connected' : 'reconnecting';
            if (error !== undefined) this.#signals.eventStream.lastError = String((error as Error)?.message ?? error);
            this.#hooks.onEventStreamChange(connected);
            // Without the stream, the file is the best signal: read it now rather than at the next poll. After a
            // reconnect (LiteFS restarted, say), every signal read while it was away may be stale or failed
            // (ENOTCONN on `.primary`): read them all again now, not at the next poll.
            void this.refresh();
            if (connected) this.invalidate();
          },
        },
      );
    }
  }

  get role(): Role {
    return this.#role;
  }

  get primaryHostname(): string | undefined {
    return this.#role === 'primary' ? this.#config.hostname : this.#primaryHostname;
  }

  get eventStreamConnected(): boolean {
    return this.#events?.connected ?? false;
  }

  get signals(): { eventStream: SignalStatus; primaryFile: SignalStatus; trackingTable: SignalStatus } {
    return structuredClone(this.#signals);
  }

  get lastChange(): { from: Role; to: Role; at: string; reason: string } | undefined {
    return this.#lastChange;
  }

  /** Starts every signal: the event stream, the `.primary` poll and a first read of the file. Returns at once. */
  start(): void {
    if (this.#pollTimer !== undefined || this.#closed) return;
    this.#events?.start();
    this.#pollTimer = setInterval(() => void this.refresh(), this.#config.pollInterval);
    this.#pollTimer.unref();
    void this.refresh();
  }

  /**
   * Resolves once any signal has answered (normally within milliseconds of start(), even during an election,
   * whose answer is "no primary known"), or when `timeoutMs` passes.
   */
  async waitForFirstReport(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    const deadline = AbortSignal.timeout(timeoutMs);
    const combined = signal ? AbortSignal.any([signal, deadline]) : deadline;
    while (!this.#reported && !this.#closed) {
      try {
        await this.waitForChange(combined);
      } catch (error) {
        if (signal?.aborted) throw error;
        return;
      }
    }
  }

  #markReported(): void {
    if (this.#reported) return;
    this.#reported = true;
    for (const wake of [...this.#waiters]) wake();
  }

  /**
   * Resolves once a signal has decided the role, or when `timeoutMs` passes (an election that outlasts it is not an
   * error: writes wait for a primary within their own deadline). Rejects only when `signal` aborts.
   */
  async waitForRole(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    const deadline = AbortSignal.timeout(timeoutMs);
    const combined = signal ? AbortSignal.any([signal, deadline]) : deadline;
    while (this.#role === 'unknown' && !this.#closed) {
      try {
        await this.waitForChange(combined);
      } catch (error) {
        if (signal?.aborted) throw error;
        return;
      }
    }
  }

  /** Reads the `.primary` file (and `/info` when it is missing) now. */
  async refresh(): Promise<void> {
    if (this.#closed) return;
    try {
      await this.#readPrimaryFile();
    } finally {
      this.#markReported();
    }
  }

  async #readPrimaryFile(): Promise<void> {
    let observation: LeaseObservation | undefined;
    try {
      const hostname = await readPrimaryFile(this.#config.primaryFile);
      if (hostname !== undefined) {
        observation = { isPrimary: false, hostname };
        this.#signals.primaryFile.state = 'present';
      } else {
        this.#signals.primaryFile.state = 'missing';
        // A missing file means "primary" only if LiteFS confirms it; it also means "election" on a replica.
        observation = this.#config.infoUrl === false ? undefined : await fetchLiteFSInfo(this.#config.infoUrl, INFO_TIMEOUT_MS);
      }
      delete this.#signals.primaryFile.lastError;
    } catch (error) {
      this.#signals.primaryFile.state = 'error';
      this.#signals.primaryFile.lastError = String((error as Error)?.message ?? error);
      return;
    }
    if (this.#closed || observation === undefined) return;
    this.#record('primaryFile', observation);
    // The stream, when connected, is fresher than a poll that may have started before its last event.
    if (!this.eventStreamConnected) this.#apply('primaryFile', observation, 'LiteFS .primary file');
  }

  /** LiteFS refused a write here: stop acting as primary at once, and look for the new one. */
  demote(reason: string): void {
    if (this.#role !== 'primary') return;
    this.#apply('writeRejected', { isPrimary: false }, reason);
    void this.refresh();
  }

  /** Resolves on the next change of role or primary. */
  waitForChange(signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(abortError(signal));
      const done = (): void => {
        signal?.removeEventListener('abort', onAbort);
        this.#waiters.delete(done);
        resolve();
      };
      const onAbort = (): void => {
        this.#waiters.delete(done);
        reject(abortError(signal!));
      };
      this.#waiters.add(done);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /**
   * The primary's forwarding endpoint. Waits, within the signal's deadline, through elections and until the
   * tracking table names the same hostname as LiteFS does.
   */
  async resolvePrimary(signal: AbortSignal): Promise<PrimaryEndpoint> {
    let forceRead = false;
    for (;;) {
      if (signal.aborted) throw abortError(signal);
      const hostname = this.#role === 'replica' ? this.#primaryHostname : undefined;
      if (hostname !== undefined) {
        const row = this.#trackingRow(forceRead);
        if (row !== undefined && row.hostname === hostname) return { hostname, rpcUrl: row.rpcUrl };
        this.#signals.trackingTable.state = row === undefined ? 'empty' : 'stale';
        forceRead = true;
        // The new primary's row has not replicated here yet; it arrives with the next transactions.
        await Promise.race([this.waitForChange(signal), sleep(STALE_ROW_RETRY_MS, signal)]);
        continue;
      }
      if (this.#role === 'primary') {
        throw new PrimaryUnavailableError('This node became the primary while the call was being routed.', { node: this.#config.hostname });
      }
      if (this.eventStreamConnected) {
        await this.waitForChange(signal);
        continue;
      }
      // Nothing would announce the next primary (no stream, and the poll may be minutes away; a single read after a
      // demotion can land before LiteFS has written `.primary`): read the signals again while the caller waits.
      await Promise.race([this.waitForChange(signal), sleep(REREAD_WITHOUT_STREAM_MS, signal)]);
      await this.refresh();
    }
  }

  /** Reads the tracking table through the cache and records whether it names the primary LiteFS reports. */
  checkTrackingTable(): void {
    const row = this.#trackingRow(false);
    if (row !== undefined && this.#role === 'replica' && row.hostname !== this.#primaryHostname) this.#signals.trackingTable.state = 'stale';
  }

  /** Forgets the cached tracking row, e.g. after the primary it named refused a call. */
  invalidate(): void {
    this.#cachedRow = undefined;
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#pollTimer);
    this.#cancelPendingUnknown();
    await this.#events?.close();
    for (const wake of this.#waiters) wake();
  }

  #trackingRow(force: boolean): TrackingRow | undefined {
    const now = Date.now();
    if (!force && this.#cachedRow !== undefined && now - this.#cachedRow.readAt < this.#config.cacheTtl) return this.#cachedRow.row;
    try {
      const row = this.#hooks.readTrackingRow();
      this.#cachedRow = { row, readAt: now };
      this.#signals.trackingTable = {
        enabled: true,
        state: row === undefined ? 'empty' : 'ok',
        ...(row === undefined ? {} : { primaryHostname: row.hostname, lastUpdate: new Date(row.updatedAt).toISOString() }),
      };
      return row;
    } catch (error) {
      // Before the primary has created the table, there is nothing to read.
      this.#signals.trackingTable = { enabled: true, state: 'error', lastError: String((error as Error)?.message ?? error) };
      this.#cachedRow = { row: undefined, readAt: now };
      return undefined;
    }
  }

  #record(source: 'eventStream' | 'primaryFile', observation: LeaseObservation): void {
    const status = this.#signals[source];
    status.isPrimary = observation.isPrimary;
    if (observation.hostname === undefined) delete status.primaryHostname;
    else status.primaryHostname = observation.hostname;
    status.lastUpdate = new Date().toISOString();
  }

  #apply(source: Source, observation: LeaseObservation, reason: string): void {
    const role: Role = observation.isPrimary ? 'primary' : observation.hostname !== undefined ? 'replica' : 'unknown';
    const primary = observation.isPrimary ? undefined : observation.hostname;
    if (role === 'unknown' && this.#role === 'replica' && source !== 'writeRejected') {
      // Possibly one beat of LiteFS's reconnect loop: report it only if it lasts (see UNKNOWN_DEBOUNCE_MS).
      if (this.#pendingUnknown === undefined) {
        const timer = setTimeout(() => {
          this.#pendingUnknown = undefined;
          if (!this.#closed) this.#set(role, primary, source, reason);
        }, UNKNOWN_DEBOUNCE_MS);
        timer.unref();
        this.#pendingUnknown = { timer };
      }
      return;
    }
    this.#cancelPendingUnknown();
    this.#set(role, primary, source, reason);
  }

  #cancelPendingUnknown(): void {
    if (this.#pendingUnknown === undefined) return;
    clearTimeout(this.#pendingUnknown.timer);
    this.#pendingUnknown = undefined;
  }

  /** Changes the role and primary that callers see; a repeat of what they already see is not a change. */
  #set(role: Role, primary: string | undefined, source: Source, reason: string): void {
    if (role === this.#role && primary === this.#primaryHostname) return;
    const from = this.#role;
    this.#role = role;
    this.#primaryHostname = primary;
    this.#cachedRow = undefined;
    const change: RoleChange = { from, to: role, reason: `${reason} (${source})` };
    const primaryName = role === 'primary' ? this.#config.hostname : primary;
    if (primaryName !== undefined) change.primary = primaryName;
    if (from !== role) this.#lastChange = { from, to: role, at: new Date().toISOString(), reason: change.reason };
    this.#hooks.onRoleChange(change);
    for (const wake of [...this.#waiters]) wake();
  }
}
