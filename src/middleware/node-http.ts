import type { IncomingMessage, ServerResponse } from 'node:http';
import type { LiteFSDatabase } from '../database.js';
import { type ConsistencyOptions, ConsistencyGate, STALE_HEADERS, STALE_STATUS } from './consistency-gate.js';

export type ConnectMiddleware = (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void;

/**
 * Read-your-writes across requests for Express, Connect, or a plain `node:http` server (call it with a `next`).
 * A request carrying the TXID of an earlier write waits until this node has it; a request that writes gets the
 * TXID back as a cookie and a header.
 */
export function expressConsistency(database: LiteFSDatabase, options: ConsistencyOptions = {}): ConnectMiddleware {
  const gate = new ConsistencyGate(database, options);
  return (req, res, next) => {
    const header = req.headers[gate.headerName];
    const txid = gate.requestedTxid(req.headers.cookie, Array.isArray(header) ? header[0] : header);
    gate.wait(txid).then(
      (outcome) => {
        if (!outcome.ok) {
          res.writeHead(STALE_STATUS, STALE_HEADERS).end(outcome.body);
          return;
        }
        const scope = gate.newScope();
        decorateHeaders(res, () => {
          if (scope.txid === undefined) return;
          res.setHeader(gate.headerName, scope.txid);
          const cookie = gate.setCookie(scope);
          if (cookie !== undefined) res.appendHeader('set-cookie', cookie);
        });
        database.runInWriteScope(scope, () => next());
      },
      (error: unknown) => next(error),
    );
  };
}

/** Runs `beforeHeaders` once, right before the response's headers are sent (explicitly or implicitly). */
function decorateHeaders(res: ServerResponse, beforeHeaders: () => void): void {
  const writeHead = res.writeHead;
  let done = false;
  res.writeHead = function (this: ServerResponse, ...args: unknown[]) {
    if (!done) {
      done = true;
      beforeHeaders();
    }
    return (writeHead as (...a: unknown[]) => ServerResponse).apply(this, args);
  } as ServerResponse['writeHead'];
}
