import { ForwardTimeoutError, LiteFSForwardError, NotPrimaryError, PrimaryUnavailableError } from '../errors.js';
import type { PrimaryEndpoint, PrimaryTracker } from '../detection/primary-tracker.js';
import { abortError, backoffDelay, sleep } from '../util/abort.js';
import type { Request } from '../wire/protocol.js';
import { ConnectionFailure, type OkResponse, type RpcClient } from './rpc-client.js';

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
    for (let attempt = 0; ; attempt++) {
      let endpoint: PrimaryEndpoint | undefined = options.endpoint;
      try {
        if (endpoint === undefined) {
          if (this.#tracker.role === 'primary') throw new BecamePrimary();
          endpoint = await this.#tracker.resolvePrimary(signal);
        }
        const remaining = Math.max(1, options.timeoutMs - (Date.now() - startedAt));
        const response = await this.#client.call(endpoint.rpcUrl, build(remaining), signal, endpoint.hostname);
        return { response, endpoint };
      } catch (error) {
        if (error instanceof BecamePrimary) throw error;
        if (signal.aborted) throw this.#deadlineError(options, endpoint, lastError ?? error, maybeApplied, startedAt);
        if (error instanceof ConnectionFailure && error.sent) maybeApplied = true;
        if (!this.#retryable(error, options)) throw unwrap(error);
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
      if (signal.aborted) throw this.#deadlineError(options, endpoint, lastError, maybeApplied, startedAt);
    }
  }

  #retryable(error: unknown, options: ForwardOptions): boolean {
    if (options.endpoint !== undefined) {
      // A transaction step can only go to its own primary; a lost connection before sending is all we retry.
      return error instanceof ConnectionFailure && (!error.sent || options.idempotent);
    }
    if (error instanceof NotPrimaryError || error instanceof PrimaryUnavailableError) return true;
    if (error instanceof ConnectionFailure) return !error.sent || options.idempotent;
    return false;
  }

  #deadlineError(options: ForwardOptions, endpoint: PrimaryEndpoint | undefined, cause: unknown, maybeApplied: boolean, startedAt: number): Error {
    if (options.signal?.aborted) return abortError(options.signal);
    const context = { node: this.#hostname, ...(endpoint ? { primary: endpoint.hostname } : {}), ...(options.sql ? { sql: options.sql } : {}), cause };
    if (!maybeApplied && endpoint === undefined) {
      return new PrimaryUnavailableError(
        `No primary was reachable within ${Date.now() - startedAt} ms (an election, or the primary's app is down). Nothing was applied; retry later.`,
        context,
      );
    }
    return new ForwardTimeoutError(options.timeoutMs, context);
  }
}

function unwrap(error: unknown): unknown {
  if (error instanceof ConnectionFailure) {
    return new LiteFSForwardError('FORWARD_FAILED', `${error.message}. The write may have been applied; retry with the same idempotencyKey.`, { cause: error.cause });
  }
  return error;
}
