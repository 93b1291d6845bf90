import { request } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Logger } from '../logger.js';
import { backoffDelay, sleep } from '../util/abort.js';
import { isTxid } from '../util/txid.js';

/** What LiteFS says about the lease: in `init` (always first) and `primaryChange` events. */
export interface LeaseObservation {
  isPrimary: boolean;
  /** The primary's hostname; absent on the primary itself and while no primary is known. */
  hostname?: string | undefined;
}

export interface TxEvent {
  db: string;
  txid: string;
  /** LiteFS's post-apply checksum (`postApplyChecksum`): with the TXID, it names the transaction. */
  checksum?: string;
}

export interface EventStreamHandlers {
  onLease(observation: LeaseObservation, type: 'init' | 'primaryChange'): void;
  onTx(event: TxEvent): void;
  onConnectionChange(connected: boolean, error?: unknown): void;
}

export interface EventStreamOptions {
  url: string;
  logger: Logger;
  connectTimeoutMs?: number;
  backoffBaseMs?: number;
  backoffCapMs?: number;
}


/**
 * Follows LiteFS's `/events` NDJSON stream and reconnects forever with capped, jittered backoff. LiteFS drops a
 * subscriber whose 1024-event buffer overflows; that is a normal disconnect, and the `init` after reconnecting
 * is the truth again.
 */
export class EventStream {
  readonly #options: Required<EventStreamOptions>;
  readonly #handlers: EventStreamHandlers;
  readonly #stop = new AbortController();
  #connected = false;
  #loop: Promise<void> | undefined;

  constructor(options: EventStreamOptions, handlers: EventStreamHandlers) {
    this.#options = { connectTimeoutMs: 2_000, backoffBaseMs: 50, backoffCapMs: 2_000, ...options };
    this.#handlers = handlers;
  }

  get connected(): boolean {
    return this.#connected;
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  async close(): Promise<void> {
    this.#stop.abort();
    await this.#loop;
  }

  async #run(): Promise<void> {
    let failures = 0;
    while (!this.#stop.signal.aborted) {
      let sawEvent = false;
      try {
        await this.#follow(() => {
          sawEvent = true;
          failures = 0;
        });
      } catch (error) {
        if (this.#stop.signal.aborted) break;
        this.#setConnected(false, error);
        this.#options.logger.debug({ err: error, url: this.#options.url }, 'litefs event stream disconnected');
      }
      if (!sawEvent) failures++;
      try {
        await sleep(backoffDelay(failures, this.#options.backoffBaseMs, this.#options.backoffCapMs) + 10, this.#stop.signal);
      } catch {
        break;
      }
    }
    this.#setConnected(false);
  }

  #setConnected(connected: boolean, error?: unknown): void {
    if (this.#connected === connected) return;
    this.#connected = connected;
    this.#handlers.onConnectionChange(connected, error);
  }

  #follow(onEvent: () => void): Promise<void> {
    const url = new URL(this.#options.url);
    const send = url.protocol === 'https:' ? httpsRequest : request;
    // Settles only by rejecting: a stream that ends, for whatever reason, is a disconnect to recover from.
    return new Promise<void>((_resolve, reject) => {
      const req = send(url, { method: 'GET', signal: this.#stop.signal, headers: { accept: 'application/x-ndjson' }, agent: false });
      // The deadline covers connecting only; an open stream may stay quiet for as long as nothing happens.
      const connectTimer = setTimeout(() => req.destroy(new Error(`LiteFS event stream did not answer within ${this.#options.connectTimeoutMs} ms`)), this.#options.connectTimeoutMs);
      connectTimer.unref();
      req.once('error', (error) => {
        clearTimeout(connectTimer);
        reject(error);
      });
      req.once('response', (res) => {
        clearTimeout(connectTimer);
        if (res.statusCode !== 200) {
          res.resume();
          return reject(new Error(`LiteFS event stream answered HTTP ${res.statusCode}`));
        }
        req.removeAllListeners('error');
        const ended = new AbortController();
        req.once('error', (error) => {
          ended.abort();
          reject(error);
        });
        let buffered = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buffered += chunk;
          let newline = buffered.indexOf('\n');
          while (newline !== -1) {
            const line = buffered.slice(0, newline).trim();
            buffered = buffered.slice(newline + 1);
            if (line.length > 0 && this.#dispatch(line)) onEvent();
            newline = buffered.indexOf('\n');
          }
        });
        res.once('close', () => {
          if (!ended.signal.aborted) reject(new Error('LiteFS event stream closed'));
        });
        res.once('error', reject);
      });
      req.end();
    });
  }

  /** Returns true for a well-formed event. */
  #dispatch(line: string): boolean {
    let event: unknown;
    try {
      event = JSON.parse(line);
    } catch {
      return this.#malformed(line, 'not JSON');
    }
    const { type, data, db } = (event ?? {}) as { type?: unknown; data?: unknown; db?: unknown };
    if (typeof type !== 'string' || data === null || typeof data !== 'object') return this.#malformed(line, 'missing type or data');
    switch (type) {
      case 'init':
      case 'primaryChange': {
        const { isPrimary, hostname } = data as { isPrimary?: unknown; hostname?: unknown };
        if (typeof isPrimary !== 'boolean' || (hostname !== undefined && typeof hostname !== 'string')) {
          return this.#malformed(line, 'bad lease fields');
        }
        this.#setConnected(true);
        this.#handlers.onLease({ isPrimary, hostname: hostname === '' ? undefined : hostname }, type);
        return true;
      }
      case 'tx': {
        const { txID, postApplyChecksum } = data as { txID?: unknown; postApplyChecksum?: unknown };
        if (typeof db !== 'string' || !isTxid(txID)) return this.#malformed(line, 'bad tx fields');
        // The checksum has the TXID's form (%016x); one that does not is left out rather than trusted.
        this.#handlers.onTx(isTxid(postApplyChecksum) ? { db, txid: txID, checksum: postApplyChecksum } : { db, txid: txID });
        return true;
      }
      default:
        // Unknown event types from newer LiteFS versions are not errors.
        return true;
    }
  }

  #malformed(line: string, reason: string): false {
    this.#options.logger.warn({ line: line.slice(0, 200), reason }, 'skipping malformed LiteFS event');
    return false;
  }
}
