import type { IncomingMessage, ServerResponse } from 'node:http';
import { isLiteFSForwardError } from '../errors.js';
import type { Logger } from '../logger.js';
import { sqliteCode } from '../sqlite/errors.js';
import { HEADER_NONCE, RequestVerifier, signResponse } from '../wire/auth.js';
import { RPC_PATH, type Request, type Response } from '../wire/protocol.js';
import type { PrimaryService } from './primary-service.js';

export type RpcHandler = (req: IncomingMessage, res: ServerResponse, next?: (error?: unknown) => void) => void;

export interface RpcHandlerOptions {
  service: PrimaryService;
  secret: Buffer;
  maxRequestBytes: number;
  maxClockSkewMs: number;
  logger: Logger;
  /** Counts refused requests, for status and metrics. */
  onRefused?(reason: string): void;
}

/** The longest a forwarded call may ask the primary to keep working on it. */
const MAX_REQUEST_TIMEOUT_MS = 10 * 60_000;

/**
 * The forwarding endpoint. It is closed by default: nothing is parsed, let alone run, before the body has been
 * size-checked and its HMAC verified, and every nonce is accepted once. Mount it in any Node HTTP server, or let
 * the database listen on its own port. Requests for other paths are passed to `next` (or answered 404).
 */
export function createRpcHandler(options: RpcHandlerOptions): RpcHandler {
  const verifier = new RequestVerifier(options.secret, options.maxClockSkewMs);
  return (req, res, next) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== RPC_PATH) {
      if (next) return next();
      return reply(res, 404, { ok: false, error: { code: 'PROTOCOL_ERROR', message: `Unknown path; the endpoint is ${RPC_PATH}.` } });
    }
    if (req.method !== 'POST') return reply(res, 405, { ok: false, error: { code: 'PROTOCOL_ERROR', message: 'Use POST.' } });
    const declared = Number(req.headers['content-length'] ?? Number.NaN);
    if (declared > options.maxRequestBytes) return refuse(res, req, 413, 'REQUEST_TOO_LARGE', `The request body exceeds ${options.maxRequestBytes} bytes.`);

    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      if (tooLarge) return;
      size += chunk.length;
      if (size > options.maxRequestBytes) {
        tooLarge = true;
        refuse(res, req, 413, 'REQUEST_TOO_LARGE', `The request body exceeds ${options.maxRequestBytes} bytes.`);
        return;
      }
      chunks.push(chunk);
    });
    req.once('end', () => {
      if (tooLarge) return;
      const body = Buffer.concat(chunks, size);
      const verdict = verifier.verify(req.headers, RPC_PATH, body);
      if (!verdict.ok) {
        options.onRefused?.(verdict.reason);
        options.logger.warn({ reason: verdict.reason, remote: req.socket.remoteAddress }, 'refused unauthenticated forwarding request');
        return reply(res, 401, { ok: false, error: { code: 'UNAUTHORIZED', message: verdict.reason } });
      }
      let request: Request;
      try {
        request = JSON.parse(body.toString('utf8')) as Request;
        if (request === null || typeof request !== 'object' || typeof request.op !== 'string') throw new Error('no op');
      } catch {
        return signedReply(res, options.secret, verdict.nonce, 400, { ok: false, error: { code: 'PROTOCOL_ERROR', message: 'The request body is not a valid litefs-forward request.' } });
      }
      // A replica that hangs up, or whose deadline passes, stops waiting for the queue; work already running
      // completes and is recorded. One controller and one timer: this is on every call's path.
      const stop = new AbortController();
      const timeoutMs = Math.min(Math.max(Number(request.timeoutMs) || 0, 1), MAX_REQUEST_TIMEOUT_MS);
      const timer = setTimeout(() => stop.abort(), timeoutMs);
      res.once('close', () => {
        clearTimeout(timer);
        if (!res.writableFinished) stop.abort();
      });
      options.service.handle(request, stop.signal).then(
        (response) => signedReply(res, options.secret, verdict.nonce, 200, response),
        (error: unknown) => signedReply(res, options.secret, verdict.nonce, 200, { ok: false, error: toWireError(error) }),
      );
    });
  };
}

function toWireError(error: unknown): Extract<Response, { ok: false }>['error'] {
  const message = error instanceof Error ? error.message : String(error);
  const code = sqliteCode(error) ?? (isLiteFSForwardError(error) ? error.code : undefined);
  if (code === undefined) return { code: 'FORWARD_FAILED', message: `The primary failed to run the call: ${message}` };
  const primary = (error as { knownPrimary?: string }).knownPrimary;
  return primary === undefined ? { code, message } : { code, message, primary };
}

function refuse(res: ServerResponse, req: IncomingMessage, status: number, code: string, message: string): void {
  reply(res, status, { ok: false, error: { code, message } });
  // Stop reading what is left of an oversized body.
  req.unpipe();
  req.resume();
  res.once('finish', () => req.destroy());
}

function reply(res: ServerResponse, status: number, response: Response): void {
  if (res.headersSent) return;
  const body = Buffer.from(JSON.stringify(response));
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': body.length });
  res.end(body);
}

function signedReply(res: ServerResponse, secret: Buffer, nonce: string, status: number, response: Response): void {
  if (res.headersSent || res.destroyed) return;
  const body = Buffer.from(JSON.stringify(response));
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': body.length,
    [HEADER_NONCE]: nonce,
    'x-litefs-forward-signature': signResponse(secret, nonce, status, body),
  });
  res.end(body);
}
