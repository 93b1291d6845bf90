import { createHash } from 'node:crypto';
import { Agent, type IncomingMessage, request } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { ERROR_CODES, type ErrorCode, type ErrorContext, LiteFSForwardError, NotPrimaryError, UnauthorizedError } from '../errors.js';
import type { SqliteErrorConstructor } from '../sqlite/driver-types.js';
import { SqliteError, toSqliteError } from '../sqlite/errors.js';
import { abortError } from '../util/abort.js';
import { isTxid } from '../util/txid.js';
import { HEADER_NONCE, signRequest, verifyResponseHeaders } from '../wire/auth.js';
import { rpcPath, type Request, type Response } from '../wire/protocol.js';

export type OkResponse = Extract<Response, { ok: true }>;

/** A failure of the connection itself. `sent` tells whether the primary may have received the request. */
export class ConnectionFailure extends Error {
  readonly sent: boolean;
  constructor(message: string, sent: boolean, cause: unknown) {
    super(message, { cause });
    this.sent = sent;
  }
}

/** The caller's signal ended an attempt. `sent` tells whether the request may have reached the primary by then. */
export class AttemptAborted extends Error {
  readonly sent: boolean;
  constructor(reason: Error, sent: boolean) {
    super(reason.message, { cause: reason });
    this.name = 'AbortError';
    this.sent = sent;
  }
}

const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND']);
/**
 * The largest answer read. Answers carry query results, so they can be large: the bound only keeps a peer from
 * making this process allocate without limit (the body's buffer is allocated at its signed length up front).
 * A longer answer is refused like an unverified one.
 */
const MAX_RESPONSE_BYTES = 256 * 1024 * 1024;

export interface RpcClientOptions {
  secret: Buffer;
  hostname: string;
  /** The database the calls are for: its name is in the signed path, so only that database's endpoint runs them. */
  databaseName: string;
  /** The class SQLite's errors from the primary are rebuilt as: the local driver's, so they match a local call's. Default: litefs-forward's SqliteError. */
  sqliteError?: SqliteErrorConstructor;
}

/**
 * Signs requests, verifies responses, and keeps connections to the primary alive between calls. Only a signed
 * answer is believed, whatever its status: its headers are verified before its body is read, the body is read up
 * to its signed length, and its digest is checked. An answer that fails any of this becomes a coded error that
 * says the call may have run, and never shows the peer's text.
 */
export class RpcClient {
  readonly #options: RpcClientOptions;
  readonly #agent = new Agent({ keepAlive: true, maxSockets: 128, maxFreeSockets: 128, scheduling: 'lifo' });
  readonly #httpsAgent = new HttpsAgent({ keepAlive: true, maxSockets: 128, maxFreeSockets: 128, scheduling: 'lifo' });

  constructor(options: RpcClientOptions) {
    this.#options = options;
  }

  call(baseUrl: string, payload: Request, signal: AbortSignal, primaryName?: string): Promise<OkResponse> {
    const body = Buffer.from(JSON.stringify(payload));
    const path = rpcPath(this.#options.databaseName);
    const headers = signRequest(this.#options.secret, this.#options.hostname, path, body);
    const url = new URL(path, baseUrl);
    const secure = url.protocol === 'https:';
    const send = secure ? httpsRequest : request;
    const primary = primaryName ?? url.host;
    const key = 'key' in payload && typeof payload.key === 'string' ? payload.key : undefined;
    const context: ErrorContext = { node: this.#options.hostname, primary, ...(key === undefined ? {} : { idempotencyKey: key }) };
    return new Promise<OkResponse>((resolve, reject) => {
      if (signal.aborted) return reject(new AttemptAborted(abortError(signal), false));
      let sent = false;
      const req = send(url, {
        method: 'POST',
        agent: secure ? this.#httpsAgent : this.#agent,
        signal,
        headers: { ...headers, 'content-type': 'application/json' },
      });
      req.once('socket', (socket) => {
        // On a reused socket the request goes out at once; on a new one, once it connects.
        if (!socket.connecting) sent = true;
        else socket.once('connect', () => (sent = true));
      });
      req.once('error', (error: NodeJS.ErrnoException) => {
        if (signal.aborted) return reject(new AttemptAborted(abortError(signal), sent));
        const code = error.code ?? '';
        reject(new ConnectionFailure(`Forwarding to ${primary} failed: ${error.message}`, sent && !NOT_SENT_CODES.has(code), error));
      });
      req.once('response', (res) => {
        const status = res.statusCode ?? 0;
        const verified = verifyResponseHeaders(this.#options.secret, headers[HEADER_NONCE], status, res.headers);
        if (verified === undefined || verified.length > MAX_RESPONSE_BYTES) {
          // Nothing of an unverified answer is read: not its length, not its text.
          res.destroy();
          return reject(unverifiedAnswer(status, primary, context));
        }
        const text = Buffer.allocUnsafe(verified.length);
        const hash = createHash('sha256');
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          if (size + chunk.length > verified.length) {
            res.destroy(new Error('the answer is longer than its signed length'));
            return;
          }
          chunk.copy(text, size);
          hash.update(chunk);
          size += chunk.length;
        });
        res.once('error', (error) => reject(new ConnectionFailure(`Forwarding to ${primary} failed mid-response: ${error.message}`, true, error)));
        res.once('end', () => {
          if (size !== verified.length || hash.digest('base64url') !== verified.digest) return reject(tamperedAnswer(status, primary, context));
          try {
            resolve(this.#interpret(res, text, primary, context));
          } catch (error) {
            reject(error);
          }
        });
      });
      req.end(body);
    });
  }

  close(): void {
    this.#agent.destroy();
    this.#httpsAgent.destroy();
  }

  #interpret(res: IncomingMessage, body: Buffer, primary: string, context: ErrorContext): OkResponse {
    let response: Response;
    try {
      response = JSON.parse(body.toString('utf8')) as Response;
    } catch {
      throw tamperedAnswer(res.statusCode ?? 0, primary, context);
    }
    if (response === null || typeof response !== 'object' || typeof response.ok !== 'boolean') throw tamperedAnswer(res.statusCode ?? 0, primary, context);
    if (response.ok) {
      // Signed, so the primary's own, but a broken one must not make this node wait for a position it cannot parse.
      if ((response.txid !== undefined && !isTxid(response.txid)) || (response.checksum !== undefined && !isTxid(response.checksum))) {
        throw new LiteFSForwardError('PROTOCOL_ERROR', `The primary ${primary} answered with a malformed position; the call may have run.${retryHint(context)}`, {
          ...context,
          mayHaveBeenApplied: true,
        });
      }
      return response;
    }
    const error = response.error ?? { code: 'FORWARD_FAILED', message: '' };
    const code = typeof error.code === 'string' ? error.code : 'FORWARD_FAILED';
    const message = typeof error.message === 'string' ? error.message : '';
    // A coded answer is the primary's own verdict on the call; the idempotency key stays on it for a retry.
    switch (error.kind) {
      case 'SqliteError':
        throw toSqliteError(this.#options.sqliteError ?? SqliteError, code, message);
      case 'RangeError':
        throw new RangeError(message);
      case 'TypeError':
        throw new TypeError(message);
    }
    if (code.startsWith('SQLITE_')) throw toSqliteError(this.#options.sqliteError ?? SqliteError, code, message);
    if (code === 'NOT_PRIMARY') throw new NotPrimaryError(message, typeof error.primary === 'string' ? { ...context, knownPrimary: error.primary } : context);
    if (code === 'UNAUTHORIZED') throw new UnauthorizedError(message, context);
    if (code === 'REQUEST_TOO_LARGE') throw new LiteFSForwardError('REQUEST_TOO_LARGE', `${message} Raise \`maxRequestBytes\` on every node, or split the call.`, context);
    throw new LiteFSForwardError(knownCode(code), message, context);
  }
}

/** What a caller can do about a call that may have run: retry it under its key, which the primary applies once. */
function retryHint(context: ErrorContext): string {
  return context.idempotencyKey === undefined ? '' : ` Retry with the same idempotencyKey (${context.idempotencyKey}, in \`error.idempotencyKey\`) to apply it at most once.`;
}

function unverifiedAnswer(status: number, primary: string, context: ErrorContext): LiteFSForwardError {
  const uncertain = { ...context, mayHaveBeenApplied: true };
  const retry = retryHint(context);
  if (status === 401) {
    return new UnauthorizedError(
      `the signature does not match, or the answer did not come from a node with this cluster's secret (an unsigned HTTP 401 from ${primary}). ` +
        `Unsigned, it cannot prove the call did not run: the call may have been applied.${retry}`,
      uncertain,
    );
  }
  return new LiteFSForwardError(
    'PROTOCOL_ERROR',
    `The answer from ${primary} (HTTP ${status}) is not signed with this cluster's secret; it was ignored. The call may have been applied on the primary.${retry}`,
    uncertain,
  );
}

function tamperedAnswer(status: number, primary: string, context: ErrorContext): LiteFSForwardError {
  const retry = retryHint(context);
  return new LiteFSForwardError(
    'PROTOCOL_ERROR',
    `The answer from ${primary} (HTTP ${status}) does not match its signature (altered in transit); it was ignored. The call may have been applied on the primary.${retry}`,
    { ...context, mayHaveBeenApplied: true },
  );
}

function knownCode(code: string): ErrorCode {
  return (ERROR_CODES as readonly string[]).includes(code) ? (code as ErrorCode) : 'FORWARD_FAILED';
}
