import { LineageChangedError, ReadYourWritesTimeoutError } from '../errors.js';
import { abortError } from '../util/abort.js';
import { formatTxid, parseTxid } from '../util/txid.js';
import { type Position, readPosition } from './litefs-files.js';

/**
 * How a wait for a commit ended. `verified`: this node holds that exact commit (same TXID, same post-apply
 * checksum). `reached`: this node is at or past the TXID, but it cannot tell which transaction it holds there
 * (no checksum was given, or it was replicated by a snapshot, or it left the history): the caller checks another way.
 */
export type WaitOutcome = 'verified' | 'reached';

interface Waiter {
  target: bigint;
  checksum: string | undefined;
  settle(outcome: WaitOutcome | Error): void;
}

/** What {@link ReplicationPosition} reports when this node's LiteFS moves to another lineage. */
export interface LineageChange {
  /** The position before, and the one that showed the change. */
  from: Position;
  to: Position;
  reason: 'position-moved-back' | 'checksum-differs';
}

/** Polling is the last resort: only while the event stream is down, or as a slow safety net. */
const POLL_WITHOUT_EVENTS_MS = 5;
const POLL_WITH_EVENTS_MS = 100;
/** The commits remembered by TXID, to tell two transactions with the same number apart. */
const HISTORY_SIZE = 4_096;

/**
 * This node's replication position for one database, with its lineage. A TXID alone does not name a transaction:
 * after a failover to a node that was behind, LiteFS reuses TXID numbers for other transactions. LiteFS's
 * post-apply checksum (in `tx` events and the `-pos` file) does, so positions are (TXID, checksum) pairs, and the
 * last {@link HISTORY_SIZE} commits are remembered by TXID.
 *
 * A lineage change is seen when the position moves back (confirmed by the `-pos` file, since an event can arrive
 * after a newer file read) or when a known TXID comes back with another checksum. The position then restarts from
 * the new lineage, so a later wait is never judged against the old one's high-water mark, and every waiter is
 * judged again.
 */
export class ReplicationPosition {
  readonly #databasePath: string;
  readonly #onLineageChange: (change: LineageChange) => void;
  #position: Position | undefined;
  #value = 0n;
  /** TXID → post-apply checksum, oldest first. */
  #history = new Map<bigint, string>();
  #waiters = new Set<Waiter>();
  #pollTimer: NodeJS.Timeout | undefined;
  #eventsConnected = false;
  #lineageChanges = 0;

  constructor(databasePath: string, onLineageChange: (change: LineageChange) => void = () => {}) {
    this.#databasePath = databasePath;
    this.#onLineageChange = onLineageChange;
  }

  /** The latest known TXID as 16 hex digits, reading the `-pos` file for freshness. */
  current(): string | undefined {
    this.#readFile();
    return this.#position?.txid;
  }

  /** The latest known position, TXID and checksum, reading the `-pos` file for freshness. */
  currentPosition(): Position | undefined {
    this.#readFile();
    return this.#position;
  }

  /** How many lineage changes this node has seen since it opened. */
  get lineageChanges(): number {
    return this.#lineageChanges;
  }

  set eventsConnected(connected: boolean) {
    this.#eventsConnected = connected;
    if (this.#pollTimer !== undefined) this.#restartPoll();
  }

  /** Feeds a `tx` event of this database: its TXID and post-apply checksum. */
  advance(txid: string, checksum?: string): void {
    this.#observe({ txid, checksum }, 'event');
  }

  /**
   * Resolves once this node holds the commit at `txid`: `verified` when its checksum is `checksum`, `reached` when
   * that cannot be told. Throws LINEAGE_CHANGED when this node holds another transaction at that TXID (the commit
   * was lost with a failover), READ_YOUR_WRITES_TIMEOUT after `timeoutMs`.
   */
  async waitFor(txid: string, timeoutMs: number, result: unknown, signal?: AbortSignal, checksum?: string): Promise<WaitOutcome> {
    const target = parseTxid(txid);
    // A commit named by its checksum is judged on a fresh look: the file may already show another lineage.
    if (checksum !== undefined) this.#readFile();
    let judged = this.#judge(target, checksum);
    if (judged === undefined && checksum === undefined) {
      this.#readFile();
      judged = this.#judge(target, checksum);
    }
    if (judged instanceof Error) throw judged;
    if (judged !== undefined) return judged;
    if (signal?.aborted) throw abortError(signal);
    return new Promise<WaitOutcome>((resolve, reject) => {
      const settle = (outcome: WaitOutcome | Error): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.#waiters.delete(waiter);
        if (this.#waiters.size === 0) this.#stopPoll();
        if (outcome instanceof Error) reject(outcome);
        else resolve(outcome);
      };
      const waiter: Waiter = { target, checksum, settle };
      const onAbort = (): void => settle(abortError(signal!));
      const timer = setTimeout(() => {
        // One last look: the position may have moved without an event reaching us.
        this.#readFile();
        settle(this.#judge(target, checksum) ?? new ReadYourWritesTimeoutError(txid, timeoutMs, result));
      }, timeoutMs);
      timer.unref();
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.add(waiter);
      if (this.#pollTimer === undefined) this.#restartPoll();
    });
  }

  close(): void {
    this.#stopPoll();
  }

  /** The waiter's outcome if it can be told now, else undefined (keep waiting). */
  #judge(target: bigint, checksum: string | undefined): WaitOutcome | Error | undefined {
    if (target > this.#value) return undefined;
    const held = this.#history.get(target);
    if (checksum === undefined || held === undefined) return 'reached';
    if (held === checksum) return 'verified';
    return new LineageChangedError(formatTxid(target));
  }

  #observe(observed: { txid: string; checksum: string | undefined }, source: 'event' | 'file'): void {
    const value = parseTxid(observed.txid);
    const known = this.#history.get(value);
    const conflicting = observed.checksum !== undefined && known !== undefined && known !== observed.checksum;
    if (value < this.#value && !conflicting) {
      // An event older than a file read already taken is no news; the file says whether the position really moved back.
      if (source === 'event') {
        this.#readFile();
        return;
      }
      this.#changeLineage(observed, 'position-moved-back');
    } else if (conflicting) {
      this.#changeLineage(observed, 'checksum-differs');
    } else if (value === this.#value && (observed.checksum === undefined || known !== undefined)) {
      return;
    }
    this.#value = value;
    this.#position = observed.checksum === undefined ? { txid: observed.txid, checksum: this.#history.get(value) } : { txid: observed.txid, checksum: observed.checksum };
    if (observed.checksum !== undefined) this.#remember(value, observed.checksum);
    for (const waiter of this.#waiters) {
      const outcome = this.#judge(waiter.target, waiter.checksum);
      if (outcome !== undefined) waiter.settle(outcome);
    }
  }

  #changeLineage(to: { txid: string; checksum: string | undefined }, reason: LineageChange['reason']): void {
    const from = this.#position ?? { txid: formatTxid(this.#value), checksum: undefined };
    // The old lineage's numbers mean nothing now: forget them, and start the position over from the new one.
    this.#history.clear();
    this.#value = 0n;
    this.#lineageChanges++;
    this.#onLineageChange({ from, to, reason });
  }

  #remember(value: bigint, checksum: string): void {
    this.#history.delete(value);
    this.#history.set(value, checksum);
    if (this.#history.size > HISTORY_SIZE) this.#history.delete(this.#history.keys().next().value!);
  }

  #readFile(): void {
    const position = readPosition(this.#databasePath);
    if (position !== undefined) this.#observe(position, 'file');
  }

  #restartPoll(): void {
    this.#stopPoll();
    this.#pollTimer = setInterval(() => this.#readFile(), this.#eventsConnected ? POLL_WITH_EVENTS_MS : POLL_WITHOUT_EVENTS_MS);
    this.#pollTimer.unref();
  }

  #stopPoll(): void {
    clearInterval(this.#pollTimer);
    this.#pollTimer = undefined;
  }
}
