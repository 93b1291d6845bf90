import { LiteFSForwardError, NotPrimaryError } from '../errors.js';
import type { StatementCache } from '../sqlite/statements.js';
import type { QueryResult } from '../types.js';
import { decodeParams, encodeResult } from '../wire/codec.js';
import type { Request, Response } from '../wire/protocol.js';
import type { ExactlyOnceLedger } from './ledger.js';
import type { RemoteSessions, SessionAnswer } from './remote-sessions.js';
import { batchUnit, runScript, statementUnit } from './units.js';
import type { Committed, WriteQueue } from './write-queue.js';
import type { Position } from '../detection/litefs-files.js';

export interface PrimaryServiceDeps {
  queue: WriteQueue;
  cache: StatementCache;
  ledger: ExactlyOnceLedger;
  sessions: RemoteSessions;
  exactlyOnce: boolean;
  isPrimary(): boolean;
  knownPrimary(): string | undefined;
  readPosition(): Position | undefined;
  status(): unknown;
}

/**
 * Runs authenticated, decoded requests on the primary. Requests that share an idempotency key while the first is
 * still running wait for it, so a replica's retry never races its own first attempt.
 */
export class PrimaryService {
  readonly #deps: PrimaryServiceDeps;
  readonly #inFlight = new Map<string, Promise<Response>>();

  constructor(deps: PrimaryServiceDeps) {
    this.#deps = deps;
  }

  async handle(request: Request, signal: AbortSignal): Promise<Response> {
    if (request.op === 'status') return { ok: true, status: await this.#deps.status() };
    if (!this.#deps.isPrimary()) {
      const primary = this.#deps.knownPrimary();
      throw new NotPrimaryError('This node is not the primary; the call was not run.', primary === undefined ? {} : { knownPrimary: primary });
    }
    const key = 'key' in request && this.#deps.exactlyOnce ? request.key : undefined;
    if (key === undefined) return this.#run(request, undefined, signal);
    const running = this.#inFlight.get(key);
    if (running) return running;
    const started = this.#run(request, key, signal).finally(() => this.#inFlight.delete(key));
    this.#inFlight.set(key, started);
    return started;
  }

  async #run(request: Request, key: string | undefined, signal: AbortSignal): Promise<Response> {
    const { queue, cache } = this.#deps;
    switch (request.op) {
      case 'query': {
        const committed = await queue.submit(statementUnit(cache, request.sql, decodeParams(request.params), request.mode, key), signal);
        return answer(committed, encodeResult(committed.value));
      }
      case 'batch': {
        const statements = request.statements.map((statement) => ({ sql: statement.sql, params: decodeParams(statement.params) }));
        const committed = await queue.submit(batchUnit(cache, statements, key), signal);
        return answer(committed, committed.value.map((result: QueryResult) => encodeResult(result)));
      }
      case 'exec':
        return this.#script(request.sql, key, signal);
      case 'tx':
        return this.#transactionStep(request, signal);
      default:
        throw new LiteFSForwardError('PROTOCOL_ERROR', 'Invalid request: `op` is not a known operation.');
    }
  }

  async #script(sql: string, key: string | undefined, signal: AbortSignal): Promise<Response> {
    const committed = await runScript(this.#deps.queue, this.#deps.ledger, sql, key, signal);
    return answer(committed, null);
  }

  async #transactionStep(request: Extract<Request, { op: 'tx' }>, signal: AbortSignal): Promise<Response> {
    const { sessions, exactlyOnce, readPosition } = this.#deps;
    if (request.action === 'begin') {
      await sessions.begin(request.session, signal);
      return { ok: true, session: request.session };
    }
    const end = request.action === 'commit' || request.action === 'rollback' ? request.action : undefined;
    let result: SessionAnswer;
    try {
      result = this.#step(request, end);
    } catch (error) {
      // The session is gone, but its commit may have landed before (here, or on a primary that since failed over).
      if (request.action !== 'commit' || request.key === undefined || !exactlyOnce || (error as LiteFSForwardError).code !== 'TRANSACTION_EXPIRED') throw error;
      if (!(await this.#isRecorded(request.key, signal))) throw error;
      return { ok: true, result: null, ...positionFields(readPosition()) };
    }
    return { ok: true, result: result.result ?? null, ...positionFields(result.position) };
  }

  #step(request: Exclude<Extract<Request, { op: 'tx' }>, { action: 'begin' }>, end: 'commit' | 'rollback' | undefined): SessionAnswer {
    const { sessions, ledger, exactlyOnce, readPosition } = this.#deps;
    return sessions.step(request.session, request.seq, end, (session) => {
      switch (request.action) {
        case 'query':
          return { result: encodeResult(session.query(request.sql, decodeParams(request.params), request.mode)) };
        case 'exec':
          session.exec(request.sql);
          return { result: null };
        case 'commit':
          session.commit(exactlyOnce ? ledger : undefined, request.key);
          return { result: null, position: readPosition() };
        case 'rollback':
          session.rollback();
          return { result: null };
      }
    });
  }

  async #isRecorded(key: string, signal: AbortSignal): Promise<boolean> {
    const lease = await this.#deps.queue.acquire(signal);
    try {
      return this.#deps.ledger.lookup(lease.connection, key) !== undefined;
    } finally {
      lease.release();
    }
  }
}

function answer<T>(committed: Committed<T>, result: Exclude<Response, { ok: false }>['result']): Response {
  return { ok: true, result, ...positionFields(committed) };
}

/** The commit's position in the answer: the TXID to wait for, and the checksum that says which transaction it is. */
function positionFields(position: { txid?: string | undefined; checksum?: string | undefined } | undefined): { txid?: string; checksum?: string } {
  if (position?.txid === undefined) return {};
  return position.checksum === undefined ? { txid: position.txid } : { txid: position.txid, checksum: position.checksum };
}
