import { ForwardTimeoutError, LiteFSForwardError, NotPrimaryError, PrimaryUnavailableError } from '../errors.js';
import type { PrimaryEndpoint, PrimaryTracker } from '../detection/primary-tracker.js';
import { abortError, backoffDelay, sleep } from '../util/abort.js';
import type { Request } from '../wire/protocol.js';
import { AttemptAborted, ConnectionFailure, type OkResponse, type RpcClient } from './rpc-client.js';

/** Thrown when this node itself became primary while a call was being forwarded: run it locally instead. */
export class BecamePrimary extends Error {}

export interface ForwardOptions {
  signal?: AbortSignal | undefined;
  timeoutMs: number;
  /** True when the primary deduplicates the request (idempotency key, session sequence number). */
  idempotent: boolean;
  /** Pins the call to one primary: transaction steps live on the primary that began them. */
  endpoint?: PrimaryEndpoint;
  sql?: string | undefined;
}

export interface Forwarded {
  response: OkResponse;
  endpoint: PrimaryEndpoint;
}

const BACKOFF_BASE_MS = 10;
const BACKOFF_CAP_MS = 500;

/**
 * Sends a request to the primary and retries within the caller's deadline: through elections (no primary known),
 * NOT_PRIMARY answers and refused connections always, and through reset connections when the request is
 * idempotent, since only then can a second delivery not apply a write twice.
 */
export class Forwarder {
  readonly #tracker: PrimaryTracker;
  readonly #client: RpcClient;
  readonly #hostname: string;

  constructor(tracker: PrimaryTracker, client: RpcClient, hostname: string) {
    this.#tracker = tracker;
    this.#client = client;
    this.#hostname = hostname;
  }

  async send(build: (remainingMs: number) => Request, options: ForwardOptions): Promise<Forwarded> {
    const deadline = AbortSignal.timeout(options.timeoutMs);
    const signal = options.signal ? AbortSignal.any([options.signal, deadline]) : deadline;
    const startedAt = Date.now();
    let lastError: unknown;
    let maybeApplied = false;
    // The request's idempotency key, carried by every error whose outcome is unknown so the caller can retry with it.
    let key: string | undefined;
    for (let attempt = 0; ; attempt++) {
      let endpoint: PrimaryEndpoint | undefined = options.endpoint;
      try {
        if (endpoint === undefined) {
          if (this.#tracker.role === 'primary') throw new BecamePrimary();
          endpoint = await this.#tracker.resolvePrimary(signal);
        }
        const remaining = Math.max(1, options.timeoutMs - (Date.now() - startedAt));
        const request = build(remaining);
        key = 'key' in request && typeof request.key === 'string' ? request.key : undefined;
        const response = await this.#client.call(endpoint.rpcUrl, request, signal, endpoint.hostname);
        return { response, endpoint };
      } catch (error) {
        if (error instanceof BecamePrimary) throw error;
        // A deadline that passes while the request is out means it may have reached the primary.
        if (signal.aborted) {
          const outstanding = error instanceof AttemptAborted ? error.sent : endpoint !== undefined;
          throw this.#deadlineError(options, endpoint, lastError ?? error, maybeApplied || outstanding, startedAt, key);
        }
        if (error instanceof ConnectionFailure && error.sent) maybeApplied = true;
        const decision = retryDecision(error, { pinned: options.endpoint !== undefined, idempotent: options.idempotent, key });
        if (!decision.retry) throw decision.error;
        lastError = error;
        if (error instanceof NotPrimaryError || error instanceof ConnectionFailure) {
          this.#tracker.invalidate();
          void this.#tracker.refresh();
        }
      }
      // A change of primary ends the backoff early: the new one is worth trying at once.
      const pause = new AbortController();
      const pauseSignal = AbortSignal.any([signal, pause.signal]);
      await Promise.race([
        sleep(backoffDelay(attempt, BACKOFF_BASE_MS, BACKOFF_CAP_MS) + 1, pauseSignal).catch(() => {}),
        this.#tracker.waitForChange(pauseSignal).catch(() => {}),
      ]);
      pause.abort();
      if (signal.aborted) throw this.#deadlineError(options, endpoint, lastError, maybeApplied, startedAt, key);
    }
  }

  #deadlineError(options: ForwardOptions, endpoint: PrimaryEndpoint | undefined, cause: unknown, maybeApplied: boolean, startedAt: number, key: string | undefined): Error {
    return deadlineError(options, { node: this.#hostname, endpoint, cause, maybeApplied, elapsedMs: Date.now() - startedAt, key });
  }
}

/** Where the call stood when its deadline passed or its caller aborted it. */
export interface DeadlineState {
  node: string;
  /** The primary the last attempt went to, if one was known. */
  endpoint: PrimaryEndpoint | undefined;
  cause: unknown;
  /** True once any attempt may have reached a primary. */
  maybeApplied: boolean;
  elapsedMs: number;
  key: string | undefined;
}

/** The error for a call that ran out of time: nothing applied (no primary was ever reached) or maybe applied. */
export function deadlineError(options: Pick<ForwardOptions, 'signal' | 'timeoutMs' | 'sql'>, state: DeadlineState): Error {
  if (options.signal?.aborted) return abortError(options.signal);
  const { endpoint, key } = state;
  const context = {
    node: state.node,
    ...(endpoint ? { primary: endpoint.hostname } : {}),
    ...(options.sql ? { sql: options.sql } : {}),
    ...(key === undefined ? {} : { idempotencyKey: key }),
    cause: state.cause,
  };
  // No attempt left this node: whatever the deadline cut short, nothing can have been applied.
  if (!state.maybeApplied) {
    const what = endpoint === undefined ? 'No primary was reachable' : `The primary ${endpoint.hostname} accepted no connection`;
    return new PrimaryUnavailableError(`${what} within ${state.elapsedMs} ms (an election, or the primary's app is down). Nothing was applied; retry later.`, context);
  }
  return new ForwardTimeoutError(options.timeoutMs, { ...context, mayHaveBeenApplied: true });
}

/** What the retry decision needs to know of the call. */
export interface RetryContext {
  /** Pinned to one primary: a transaction step. */
  pinned: boolean;
  /** The primary deduplicates the request (idempotency key, session sequence number). */
  idempotent: boolean;
  /** The request's idempotency key, put on an error whose outcome is unknown. */
  key: string | undefined;
}

/**
 * Whether a failed attempt (before the deadline) is tried again, and if not, the error the caller gets. Pure, so
 * that a table of cases can test it; `Forwarder.send` owns the deadline, the backoff and the tracker.
 */
export function retryDecision(error: unknown, call: RetryContext): { retry: true } | { retry: false; error: unknown } {
  return retryable(error, call) ? { retry: true } : { retry: false, error: unwrap(error, call.key) };
}

function retryable(error: unknown, call: RetryContext): boolean {
  // Refused before it ran (a cap on the primary): waiting and trying again is always safe.
  if (error instanceof LiteFSForwardError && error.code === 'OVERLOADED') return true;
  if (call.pinned) {
    // A transaction step can only go to its own primary; a lost connection before sending is all we retry.
    return error instanceof ConnectionFailure && (!error.sent || call.idempotent);
  }
  if (error instanceof NotPrimaryError || error instanceof PrimaryUnavailableError) return true;
  if (error instanceof ConnectionFailure) return !error.sent || call.idempotent;
  return false;
}

function unwrap(error: unknown, key: string | undefined): unknown {
  if (error instanceof ConnectionFailure) {
    const retry = key === undefined ? 'retry with an idempotencyKey' : `retry with the same idempotencyKey (${key}, in \`error.idempotencyKey\`)`;
    const outcome = error.sent ? `The request may have reached the primary and been applied; ${retry} to apply it at most once.` : 'The request was not sent; nothing was applied.';
    return new LiteFSForwardError('FORWARD_FAILED', `${error.message}. ${outcome}`, {
      cause: error.cause,
      mayHaveBeenApplied: error.sent,
      ...(key === undefined ? {} : { idempotencyKey: key }),
    });
  }
  return error;
}
