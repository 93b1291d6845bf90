import { ReadYourWritesTimeoutError } from '../errors.js';
import { abortError } from '../util/abort.js';
import { formatTxid, parseTxid } from '../util/txid.js';
import { readPositionFile } from './litefs-files.js';

interface Waiter {
  target: bigint;
  resolve(): void;
}

/** Polling is the last resort: only while the event stream is down, or as a slow safety net. */
const POLL_WITHOUT_EVENTS_MS = 5;
const POLL_WITH_EVENTS_MS = 100;

/**
 * This node's replication position for one database. `tx` events move it forward; the `-pos` file is read when a
 * wait starts and, as a fallback, polled while someone waits. TXIDs are uint64 and kept as bigint throughout.
 */
export class ReplicationPosition {
  readonly #databasePath: string;
  #position = 0n;
  #waiters = new Set<Waiter>();
  #pollTimer: NodeJS.Timeout | undefined;
  #eventsConnected = false;

  constructor(databasePath: string) {
    this.#databasePath = databasePath;
  }

  /** The latest known position as 16 hex digits, reading the `-pos` file for freshness. */
  current(): string | undefined {
    this.#readFile();
    return this.#position === 0n ? undefined : formatTxid(this.#position);
  }

  set eventsConnected(connected: boolean) {
    this.#eventsConnected = connected;
    if (this.#pollTimer !== undefined) this.#restartPoll();
  }

  /** Feeds a TXID from a `tx` event of this database. */
  advance(txid: string): void {
    const value = parseTxid(txid);
    if (value <= this.#position) return;
    this.#position = value;
    for (const waiter of this.#waiters) {
      if (waiter.target <= value) waiter.resolve();
    }
  }

  /** Resolves once this node has applied `txid`; throws READ_YOUR_WRITES_TIMEOUT after `timeoutMs`. */
  async waitFor(txid: string, timeoutMs: number, result: unknown, signal?: AbortSignal): Promise<void> {
    const target = parseTxid(txid);
    if (target <= this.#position) return;
    this.#readFile();
    if (target <= this.#position) return;
    if (signal?.aborted) throw abortError(signal);
    await new Promise<void>((resolve, reject) => {
      const finish = (error?: Error): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.#waiters.delete(waiter);
        if (this.#waiters.size === 0) this.#stopPoll();
        if (error) reject(error);
        else resolve();
      };
      const waiter: Waiter = { target, resolve: () => finish() };
      const onAbort = (): void => finish(abortError(signal!));
      const timer = setTimeout(() => {
        // One last look: the position may have moved without an event reaching us.
        this.#readFile();
        if (target <= this.#position) finish();
        else finish(new ReadYourWritesTimeoutError(txid, timeoutMs, result));
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

  #readFile(): void {
    const txid = readPositionFile(this.#databasePath);
    if (txid !== undefined) this.advance(txid);
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
