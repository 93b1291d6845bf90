import { Agent, request } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { ERROR_CODES, type ErrorCode, LiteFSForwardError, NotPrimaryError, UnauthorizedError } from '../errors.js';
import { toSqliteError } from '../sqlite/errors.js';
import { abortError } from '../util/abort.js';
import { HEADER_NONCE, signRequest, verifyResponse } from '../wire/auth.js';
import { RPC_PATH, type Request, type Response } from '../wire/protocol.js';

export type OkResponse = Extract<Response, { ok: true }>;

/** A failure of the connection itself. `sent` tells whether the primary may have received the request. */
export class ConnectionFailure extends Error {
  readonly sent: boolean;
  constructor(message: string, sent: boolean, cause: unknown) {
    super(message, { cause });
    this.sent = sent;
  }
}

const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND']);
/** Responses are small; a bound keeps a confused peer from filling memory. */
const MAX_RESPONSE_BYTES = 256 * 1024 * 1024;

export interface RpcClientOptions {
  secret: Buffer;
  hostname: string;
}

/** Signs requests, verifies responses, and keeps connections to the primary alive between calls. */
export class RpcClient {
  readonly #options: RpcClientOptions;
  readonly #agent = new Agent({ keepAlive: true, maxSockets: 128, maxFreeSockets: 128, scheduling: 'lifo' });
  readonly #httpsAgent = new HttpsAgent({ keepAlive: true, maxSockets: 128, maxFreeSockets: 128, scheduling: 'lifo' });

  constructor(options: RpcClientOptions) {
    this.#options = options;
  }

  call(baseUrl: string, payload: Request, signal: AbortSignal, primaryName?: string): Promise<OkResponse> {
    const body = Buffer.from(JSON.stringify(payload));
    const headers = signRequest(this.#options.secret, this.#options.hostname, RPC_PATH, body);
    const url = new URL(RPC_PATH, baseUrl);
    const secure = url.protocol === 'https:';
    const send = secure ? httpsRequest : request;
    return new Promise<OkResponse>((resolve, reject) => {
      if (signal.aborted) return reject(abortError(signal));
      let sent = false;
      const req = send(url, {
        method: 'POST',
        agent: secure ? this.#httpsAgent : this.#agent,
        signal,
        headers: { ...headers, 'content-type': 'application/json', 'content-length': body.length },
      });
      req.once('socket', (socket) => {
        // On a reused socket the request goes out at once; on a new one, once it connects.
        if (!socket.connecting) sent = true;
        else socket.once('connect', () => (sent = true));
      });
      req.once('error', (error: NodeJS.ErrnoException) => {
        if (signal.aborted) return reject(abortError(signal));
        const code = error.code ?? '';
        reject(new ConnectionFailure(`Forwarding to ${primaryName ?? url.host} failed: ${error.message}`, sent && !NOT_SENT_CODES.has(code), error));
      });
      req.once('response', (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_RESPONSE_BYTES) res.destroy(new Error('response too large'));
          else chunks.push(chunk);
        });
        res.once('error', (error) => reject(new ConnectionFailure(`Forwarding to ${primaryName ?? url.host} failed mid-response: ${error.message}`, true, error)));
        res.once('end', () => {
          const text = Buffer.concat(chunks, size);
          try {
            resolve(this.#interpret(res.statusCode ?? 0, text, headers[HEADER_NONCE], res.headers['x-litefs-forward-signature'], primaryName ?? url.host));
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

  #interpret(status: number, body: Buffer, nonce: string, signature: string | string[] | undefined, primary: string): OkResponse {
    const context = { node: this.#options.hostname, primary };
    if (status === 401) throw new UnauthorizedError(parseError(body)?.message ?? 'the signature was not accepted', context);
    if (status === 413) throw new LiteFSForwardError('REQUEST_TOO_LARGE', `${parseError(body)?.message ?? 'The request is too large.'} Raise \`maxRequestBytes\` on every node, or split the call.`, context);
    if (typeof signature !== 'string' || !verifyResponse(this.#options.secret, nonce, status, body, signature)) {
      throw new LiteFSForwardError('PROTOCOL_ERROR', `The answer from ${primary} (HTTP ${status}) is not signed with this cluster's secret; it was ignored.`, context);
    }
    const response = JSON.parse(body.toString('utf8')) as Response;
    if (response.ok) return response;
    const { code, message } = response.error;
    if (code.startsWith('SQLITE_')) throw toSqliteError(code, message);
    if (code === 'NOT_PRIMARY') {
      throw new NotPrimaryError(message, response.error.primary === undefined ? context : { ...context, knownPrimary: response.error.primary });
    }
    throw new LiteFSForwardError(knownCode(code), message, context);
  }
}

function parseError(body: Buffer): { message: string } | undefined {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as Response;
    return parsed.ok ? undefined : parsed.error;
  } catch {
    return undefined;
  }
}

function knownCode(code: string): ErrorCode {
  return (ERROR_CODES as readonly string[]).includes(code) ? (code as ErrorCode) : 'FORWARD_FAILED';
}
