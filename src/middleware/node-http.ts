import type { IncomingMessage, ServerResponse } from 'node:http';
import { type ConsistencyDatabases, type ConsistencyOptions, ConsistencyGate, STALE_HEADERS, STALE_STATUS } from './consistency-gate.js';

export type ConnectMiddleware = (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void;

/**
 * Read-your-writes across requests for Express, Connect, or a plain `node:http` server (call it with a `next`).
 * A request carrying the TXID of an earlier write waits until this node has it; a request that writes gets the
 * TXID back as a cookie and a header. Pass an array for several databases: the token then carries one TXID each.
 */
export function expressConsistency(databases: ConsistencyDatabases, options: ConsistencyOptions = {}): ConnectMiddleware {
  const gate = new ConsistencyGate(databases, options);
  return (req, res, next) => {
    const header = req.headers[gate.headerName];
    const requested = gate.requested(req.headers.cookie, Array.isArray(header) ? header[0] : header);
    gate.wait(requested).then(
      (outcome) => {
        if (!outcome.ok) {
          res.writeHead(outcome.status ?? STALE_STATUS, STALE_HEADERS).end(outcome.body);
          return;
        }
        const scope = gate.begin(requested);
        decorateHeaders(res, () => {
          const token = gate.token(scope);
          if (token === undefined) return;
          res.setHeader(gate.headerName, token);
          const cookie = gate.setCookie(scope);
          if (cookie !== undefined) res.appendHeader('set-cookie', cookie);
        });
        gate.run(scope, () => next());
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
