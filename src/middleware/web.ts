import type { LiteFSDatabase } from '../database.js';
import { type ConsistencyOptions, ConsistencyGate, STALE_HEADERS, STALE_STATUS } from './consistency-gate.js';

export type WebHandler = (request: Request) => Response | Promise<Response>;

/**
 * Read-your-writes across requests for any Web-standard handler (`Request` in, `Response` out): Hono's
 * `app.fetch`, Bun, Deno, itty-router and the like.
 */
export function withConsistency(database: LiteFSDatabase, handler: WebHandler, options: ConsistencyOptions = {}): (request: Request) => Promise<Response> {
  const gate = new ConsistencyGate(database, options);
  return async (request) => {
    const outcome = await gate.wait(gate.requestedTxid(request.headers.get('cookie'), request.headers.get(gate.headerName)), request.signal);
    if (!outcome.ok) return new Response(outcome.body ?? null, { status: STALE_STATUS, headers: STALE_HEADERS });
    const scope = gate.newScope();
    const response = await database.runInWriteScope(scope, () => handler(request));
    if (scope.txid === undefined) return response;
    // Responses from fetch() have immutable headers: answer with a copy.
    const decorated = new Response(response.body, response);
    decorated.headers.set(gate.headerName, scope.txid);
    const cookie = gate.setCookie(scope);
    if (cookie !== undefined) decorated.headers.append('set-cookie', cookie);
    return decorated;
  };
}

/** The parts of Hono's context the middleware uses. */
interface HonoContextLike {
  req: { raw: Request };
  res: Response;
  header(name: string, value: string, options?: { append?: boolean }): void;
  body(data: string | null, status?: number, headers?: Record<string, string>): Response;
}

/** The same as Hono middleware: `app.use(honoConsistency(database))`. */
export function honoConsistency(database: LiteFSDatabase, options: ConsistencyOptions = {}): (c: HonoContextLike, next: () => Promise<void>) => Promise<Response | undefined> {
  const gate = new ConsistencyGate(database, options);
  return async (c, next) => {
    const request = c.req.raw;
    const outcome = await gate.wait(gate.requestedTxid(request.headers.get('cookie'), request.headers.get(gate.headerName)), request.signal);
    if (!outcome.ok) return c.body(outcome.body ?? null, STALE_STATUS, { ...STALE_HEADERS });
    const scope = gate.newScope();
    await database.runInWriteScope(scope, () => next());
    if (scope.txid !== undefined) {
      c.header(gate.headerName, scope.txid);
      const cookie = gate.setCookie(scope);
      if (cookie !== undefined) c.header('set-cookie', cookie, { append: true });
    }
    return undefined;
  };
}
