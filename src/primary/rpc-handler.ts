import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isLiteFSForwardError } from '../errors.js';
import type { Logger } from '../logger.js';
import { sqliteCode } from '../sqlite/errors.js';
import { HEADER_DIGEST, HEADER_NONCE, HEADER_SIGNATURE, RequestVerifier, signResponse } from '../wire/auth.js';
import { wireValueProblem } from '../wire/codec.js';
import { RequestShapeError, rpcPath, type Request, type Response, validateRequest, type WireError } from '../wire/protocol.js';
import type { PrimaryService } from './primary-service.js';

export type RpcHandler = (req: IncomingMessage, res: ServerResponse, next?: (error?: unknown) => void) => void;

export interface RpcHandlerOptions {
  service: PrimaryService;
  /** The database this endpoint serves: it answers only that database's path, and passes any other to `next`. */
  databaseName: string;
  secret: Buffer;
  maxRequestBytes: number;
  maxClockSkewMs: number;
  /** How many authenticated-header bodies may be read at once; beyond it, a request is refused (OVERLOADED). */
  maxPendingBodies?: number;
  logger: Logger;
  /** Counts refused requests, for status and metrics. */
  onRefused?(reason: string): void;
  /** How often refusal warnings are summarised (one log line per interval, however many refusals). */
  refusalLogIntervalMs?: number;
}

/** A refused request's small body is drained so its sender can read the 401; a larger one is cut off. */
const DRAIN_LIMIT_BYTES = 64 * 1024;

/**
 * The forwarding endpoint. It is closed by default: the signed headers (including the body's length and SHA-256)
 * are verified before any body byte is read, the body is then read up to its signed length and checked against its
 * digest, and the decoded request is checked against its schema before anything runs. Every nonce is accepted once.
 * Mount it in any Node HTTP server, or let the database listen on its own port. Other paths go to `next` (or 404),
 * so the endpoints of several databases can be chained in one server.
 */
export function createRpcHandler(options: RpcHandlerOptions): RpcHandler {
  const ownPath = rpcPath(options.databaseName);
  const verifier = new RequestVerifier(options.secret, options.maxClockSkewMs);
  const refusals = new RefusalLog(options.logger, options.refusalLogIntervalMs ?? 10_000);
  const maxPendingBodies = options.maxPendingBodies ?? 64;
  let pendingBodies = 0;

  const refuseUnauthenticated = (req: IncomingMessage, res: ServerResponse, reason: string): void => {
    options.onRefused?.(reason);
    refusals.note(reason, req.socket.remoteAddress);
    closeAfter(req, res, 401, { ok: false, error: { code: 'UNAUTHORIZED', message: reason } });
  };

  const handle: RpcHandler = (req, res, next) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== ownPath) {
      if (next) return next();
      return closeAfter(req, res, 404, { ok: false, error: { code: 'PROTOCOL_ERROR', message: `Unknown path; this endpoint serves ${ownPath}.` } });
    }
    if (req.method !== 'POST') return closeAfter(req, res, 405, { ok: false, error: { code: 'PROTOCOL_ERROR', message: 'Use POST.' } });
    const verdict = verifier.verifyHeaders(req.headers, 'POST', ownPath);
    if (!verdict.ok) return refuseUnauthenticated(req, res, verdict.reason);
    const { nonce, length, digest } = verdict;
    const sign = (status: number, response: Response): void => signedReply(res, options.secret, nonce, status, response);
    if (length > options.maxRequestBytes) {
      return closeAfter(req, res, 413, { ok: false, error: { code: 'REQUEST_TOO_LARGE', message: `The request body exceeds ${options.maxRequestBytes} bytes.`, notRun: true } }, options.secret, nonce);
    }
    if (pendingBodies >= maxPendingBodies) {
      return closeAfter(req, res, 503, { ok: false, error: { code: 'OVERLOADED', message: `The primary is reading ${maxPendingBodies} request bodies already; nothing was run. Retry shortly.`, notRun: true } }, options.secret, nonce);
    }

    // The signed length is a hard cap: the buffer is allocated once and never grows.
    pendingBodies++;
    let released = false;
    const release = (): void => {
      if (!released) {
        released = true;
        pendingBodies--;
      }
    };
    const body = Buffer.allocUnsafe(length);
    const hash = createHash('sha256');
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      if (size + chunk.length > length) {
        release();
        req.destroy();
        return;
      }
      chunk.copy(body, size);
      hash.update(chunk);
      size += chunk.length;
    });
    req.once('close', release);
    req.once('error', release);
    req.once('end', () => {
      release();
      guard(options.logger, res, () => {
        if (size !== length || hash.digest('base64url') !== digest) {
          options.onRefused?.('the body does not match its signed digest');
          refusals.note('the body does not match its signed digest', req.socket.remoteAddress);
          return sign(401, { ok: false, error: { code: 'UNAUTHORIZED', message: 'the body does not match its signed length and digest', notRun: true } });
        }
        let request: Request;
        try {
          request = validateRequest(JSON.parse(body.toString('utf8')), wireValueProblem);
        } catch (error) {
          const message = error instanceof RequestShapeError ? error.message : 'The request body is not valid JSON.';
          return sign(400, { ok: false, error: { code: 'PROTOCOL_ERROR', message, notRun: true } });
        }
        run(request, res, sign);
      });
    });
  };

  const run = (request: Request, res: ServerResponse, sign: (status: number, response: Response) => void): void => {
    // A replica that hangs up, or whose deadline passes, stops waiting for the queue; work already running
    // completes and is recorded. One controller and one timer: this is on every call's path.
    const stop = new AbortController();
    const timer = setTimeout(() => stop.abort(), request.timeoutMs);
    res.once('close', () => {
      clearTimeout(timer);
      if (!res.writableFinished) stop.abort();
    });
    let pending: Promise<Response>;
    try {
      pending = options.service.handle(request, stop.signal);
    } catch (error) {
      pending = Promise.reject(error);
    }
    pending
      .then(
        (response) => sign(200, response),
        (error: unknown) => sign(200, { ok: false, error: toWireError(error, options.logger) }),
      )
      .catch((error: unknown) => {
        options.logger.error({ err: error }, 'the forwarding endpoint failed to answer');
        res.destroy();
      });
  };

  return (req, res, next) => guard(options.logger, res, () => handle(req, res, next));
}

/** A throw inside a request's handling is answered (or the socket dropped); it never reaches the process. */
function guard(logger: Logger, res: ServerResponse, fn: () => void): void {
  try {
    fn();
  } catch (error) {
    logger.error({ err: error }, 'the forwarding endpoint failed on a request');
    res.destroy();
  }
}

/** The messages better-sqlite3 gives when binding fails; they pass unchanged, as a local call would show them. */
const BINDING_MESSAGES =
  /^(Too many parameter values were provided|Too few parameter values were provided|Missing named parameter "[^"\n]{0,200}"|SQLite3 can only bind numbers, strings, bigints, buffers, and null|You cannot specify named parameters in their own object|Named parameters can only be passed within plain objects|This statement does not return data\. Use run\(\) instead|The supplied SQL string contains (no statements|more than one statement)|Value of ".{0,200}" is a bigint that was too big|BigInt value is too large to bind|Array overflow \(too many rows returned\))$/;

/**
 * The allow-list of what crosses the wire: SqliteError (with its code), the binding RangeError/TypeError of
 * better-sqlite3, and the library's own coded errors. Anything else is an internal failure; it is logged here
 * and the replica sees only a generic FORWARD_FAILED.
 */
export function toWireError(error: unknown, logger?: Logger): WireError {
  const code = sqliteCode(error);
  const message = error instanceof Error ? error.message : '';
  if (code !== undefined) return { kind: 'SqliteError', code, message };
  if (isLiteFSForwardError(error)) {
    const primary = (error as { knownPrimary?: unknown }).knownPrimary;
    return typeof primary === 'string' ? { kind: 'LiteFSForwardError', code: error.code, message, primary } : { kind: 'LiteFSForwardError', code: error.code, message };
  }
  if ((error instanceof RangeError || error instanceof TypeError) && BINDING_MESSAGES.test(message)) {
    return { kind: error instanceof RangeError ? 'RangeError' : 'TypeError', code: 'FORWARD_FAILED', message };
  }
  logger?.error({ err: error }, 'a forwarded call failed with an internal error');
  return { code: 'FORWARD_FAILED', message: 'The primary failed to run the call (an internal error, logged on the primary).' };
}

/** One warning per interval with the count and the reasons, however many refusals: a flood is not a log flood. */
class RefusalLog {
  readonly #logger: Logger;
  readonly #intervalMs: number;
  #count = 0;
  #reasons = new Map<string, number>();
  #lastRemote: string | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(logger: Logger, intervalMs: number) {
    this.#logger = logger;
    this.#intervalMs = intervalMs;
  }

  note(reason: string, remote: string | undefined): void {
    if (this.#timer === undefined) {
      // The first refusal of a quiet period is logged at once; the rest are summed up at the end of the interval.
      this.#logger.warn({ reason, remote }, 'refused unauthenticated forwarding request');
      this.#timer = setTimeout(() => this.#flush(), this.#intervalMs);
      this.#timer.unref();
      return;
    }
    this.#count++;
    if (this.#reasons.size < 16 || this.#reasons.has(reason)) this.#reasons.set(reason, (this.#reasons.get(reason) ?? 0) + 1);
    this.#lastRemote = remote;
  }

  #flush(): void {
    this.#timer = undefined;
    if (this.#count === 0) return;
    this.#logger.warn(
      { refused: this.#count, reasons: Object.fromEntries(this.#reasons), lastRemote: this.#lastRemote, intervalMs: this.#intervalMs },
      'refused more unauthenticated forwarding requests',
    );
    this.#count = 0;
    this.#reasons.clear();
    // Keep aggregating while the flood lasts.
    this.#timer = setTimeout(() => this.#flush(), this.#intervalMs);
    this.#timer.unref();
  }
}

/**
 * Answers without reading the body into memory: a small body (or a signed one) is drained, discarded, so that the
 * sender can read the answer; a larger unsigned one is cut off once the answer is out. The connection is not reused.
 */
function closeAfter(req: IncomingMessage, res: ServerResponse, status: number, response: Response, secret?: Buffer, nonce?: string): void {
  // A signed sender is a cluster node: its body is drained however long (discarded, bounded by the request
  // timeout) so that it reads the refusal instead of a reset.
  const drainLimit = secret === undefined ? DRAIN_LIMIT_BYTES : Number.MAX_SAFE_INTEGER;
  const send = (): void => {
    if (secret !== undefined && nonce !== undefined) signedReply(res, secret, nonce, status, response, true);
    else reply(res, status, response);
  };
  const declared = Number.parseInt(single(req.headers['content-length']) ?? '0', 10);
  if (req.complete || (Number.isSafeInteger(declared) && declared <= drainLimit && req.headers['transfer-encoding'] === undefined)) {
    req.resume();
    if (req.complete) send();
    else req.once('end', send);
    return;
  }
  send();
  res.once('finish', () => req.destroy());
}

function reply(res: ServerResponse, status: number, response: Response): void {
  if (res.headersSent || res.destroyed) return;
  const body = Buffer.from(JSON.stringify(response));
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': body.length, connection: 'close' });
  res.end(body);
}

function signedReply(res: ServerResponse, secret: Buffer, nonce: string, status: number, response: Response, close = false): void {
  if (res.headersSent || res.destroyed) return;
  const body = Buffer.from(JSON.stringify(response));
  const { signature, digest } = signResponse(secret, nonce, status, body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': body.length,
    [HEADER_NONCE]: nonce,
    [HEADER_SIGNATURE]: signature,
    [HEADER_DIGEST]: digest,
    ...(close ? { connection: 'close' } : {}),
  });
  res.end(body);
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? undefined : value;
}
