import { LiteFSForwardError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { StatementCache } from '../sqlite/statements.js';
import type { WireResult } from '../wire/codec.js';
import type { IdempotencyLedger, WriteQueue } from './write-queue.js';
import { WriteSession } from './write-session.js';
import type { Position } from '../detection/litefs-files.js';

export interface SessionAnswer {
  result?: WireResult | null;
  position?: Position | undefined;
}

interface RemoteSession {
  readonly session: WriteSession;
  readonly startedAt: number;
  lastSeq: number;
  lastAnswer: SessionAnswer | undefined;
  lastError: unknown;
  idleTimer: NodeJS.Timeout;
  totalTimer: NodeJS.Timeout;
}

export interface RemoteSessionOptions {
  queue: WriteQueue;
  cache: StatementCache;
  ledger: IdempotencyLedger | undefined;
  idleTimeoutMs: number;
  totalTimeoutMs: number;
  /** Sessions open or waiting to begin at once; a begin beyond it is refused (OVERLOADED). */
  maxSessions?: number;
  logger: Logger;
}

/** How long the answer of an ended session is kept, so a retried commit or rollback gets the same answer. */
const ENDED_ANSWER_TTL_MS = 60_000;

/**
 * Replicas' interactive transactions. Each holds the write queue; one that falls silent (its replica died or
 * lost the network) is rolled back after the idle timeout, and none lives longer than the total timeout.
 * Steps carry a sequence number so that a retried step returns its first answer instead of running twice.
 */
export class RemoteSessions {
  readonly #options: RemoteSessionOptions;
  readonly #open = new Map<string, RemoteSession>();
  readonly #ended = new Map<string, { answer: SessionAnswer; seq: number; expiresAt: number }>();
  readonly #opening = new Map<string, Promise<void>>();

  constructor(options: RemoteSessionOptions) {
    this.#options = options;
  }

  get size(): number {
    return this.#open.size;
  }

  /** Idempotent per id: a retried begin joins the first one. */
  begin(id: string, signal: AbortSignal): Promise<void> {
    if (this.#open.has(id)) return Promise.resolve();
    const opening = this.#opening.get(id);
    if (opening) return opening;
    const max = this.#options.maxSessions ?? Number.POSITIVE_INFINITY;
    if (this.#open.size + this.#opening.size >= max) {
      // Refused before it queues: nothing ran, so the replica may retry it (it does, within its deadline).
      return Promise.reject(
        new LiteFSForwardError('OVERLOADED', `The primary has ${max} remote transactions open or waiting already (\`limits.maxRemoteTransactions\`); this one was not begun. Retry shortly.`),
      );
    }
    const started = (async () => {
      const session = await WriteSession.begin(this.#options.queue, this.#options.cache, signal);
      const entry: RemoteSession = {
        session,
        startedAt: Date.now(),
        lastSeq: 0,
        lastAnswer: undefined,
        lastError: undefined,
        idleTimer: this.#timer(id, this.#options.idleTimeoutMs, 'idle'),
        totalTimer: this.#timer(id, this.#options.totalTimeoutMs, 'total'),
      };
      this.#open.set(id, entry);
    })().finally(() => this.#opening.delete(id));
    this.#opening.set(id, started);
    return started;
  }

  /** Runs one step of session `id`. `step` runs only if `seq` is new. */
  step(id: string, seq: number, end: 'commit' | 'rollback' | undefined, step: (session: WriteSession) => SessionAnswer): SessionAnswer {
    const entry = this.#open.get(id);
    if (entry === undefined) {
      const ended = this.#ended.get(id);
      if (ended !== undefined && ended.seq === seq) return ended.answer;
      throw new LiteFSForwardError('TRANSACTION_EXPIRED', 'The remote transaction no longer exists on the primary (timed out, rolled back, or the primary changed). Run the transaction again.');
    }
    if (seq === entry.lastSeq && entry.lastAnswer !== undefined) return entry.lastAnswer;
    if (seq === entry.lastSeq && entry.lastError !== undefined) throw entry.lastError;
    if (seq !== entry.lastSeq + 1) throw new LiteFSForwardError('PROTOCOL_ERROR', `Transaction step ${seq} arrived after step ${entry.lastSeq}.`);
    entry.idleTimer.refresh();
    let answer: SessionAnswer;
    try {
      answer = step(entry.session);
    } catch (error) {
      // A failed statement is still a step: SQLite undid only that statement, and the transaction goes on.
      entry.lastSeq = seq;
      entry.lastAnswer = undefined;
      entry.lastError = error;
      if (end !== undefined || !entry.session.open) this.#forget(id, entry, seq, undefined);
      throw error;
    }
    entry.lastSeq = seq;
    entry.lastAnswer = answer;
    entry.lastError = undefined;
    if (end !== undefined || !entry.session.open) this.#forget(id, entry, seq, answer);
    return answer;
  }

  /** Rolls back every open session (shutdown or loss of the primary role). */
  rollbackAll(reason: string): void {
    for (const [id, entry] of this.#open) {
      this.#options.logger.warn({ session: id, reason }, 'rolling back remote transaction');
      entry.session.rollback();
      this.#forget(id, entry, -1, undefined);
    }
  }

  #timer(id: string, ms: number, kind: 'idle' | 'total'): NodeJS.Timeout {
    const timer = setTimeout(() => {
      const entry = this.#open.get(id);
      if (entry === undefined) return;
      this.#options.logger.warn({ session: id, timeoutMs: ms, kind }, 'remote transaction timed out; rolling back');
      entry.session.rollback();
      this.#forget(id, entry, -1, undefined);
    }, ms);
    timer.unref();
    return timer;
  }

  #forget(id: string, entry: RemoteSession, seq: number, answer: SessionAnswer | undefined): void {
    clearTimeout(entry.idleTimer);
    clearTimeout(entry.totalTimer);
    this.#open.delete(id);
    const now = Date.now();
    for (const [endedId, ended] of this.#ended) {
      if (ended.expiresAt > now) break;
      this.#ended.delete(endedId);
    }
    if (answer !== undefined) this.#ended.set(id, { answer, seq, expiresAt: now + ENDED_ANSWER_TTL_MS });
  }
}
