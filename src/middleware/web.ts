import { type ConsistencyDatabases, type ConsistencyOptions, ConsistencyGate, STALE_HEADERS, STALE_STATUS } from './consistency-gate.js';

export type WebHandler = (request: Request) => Response | Promise<Response>;

/**
 * Read-your-writes across requests for any Web-standard handler (`Request` in, `Response` out): Hono's
 * `app.fetch`, Bun, Deno, itty-router and the like.
 */
export function withConsistency(databases: ConsistencyDatabases, handler: WebHandler, options: ConsistencyOptions = {}): (request: Request) => Promise<Response> {
  const gate = new ConsistencyGate(databases, options);
  return async (request) => {
    const requested = gate.requested(request.headers.get('cookie'), request.headers.get(gate.headerName));
    const outcome = await gate.wait(requested, request.signal);
    if (!outcome.ok) return new Response(outcome.body ?? null, { status: outcome.status ?? STALE_STATUS, headers: STALE_HEADERS });
    const scope = gate.begin(requested);
    const response = await gate.run(scope, () => handler(request));
    const token = gate.token(scope);
    if (token === undefined) return response;
    // Responses from fetch() have immutable headers: answer with a copy.
    const decorated = new Response(response.body, response);
    decorated.headers.set(gate.headerName, token);
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
export function honoConsistency(databases: ConsistencyDatabases, options: ConsistencyOptions = {}): (c: HonoContextLike, next: () => Promise<void>) => Promise<Response | undefined> {
  const gate = new ConsistencyGate(databases, options);
  return async (c, next) => {
    const request = c.req.raw;
    const requested = gate.requested(request.headers.get('cookie'), request.headers.get(gate.headerName));
    const outcome = await gate.wait(requested, request.signal);
    if (!outcome.ok) return c.body(outcome.body ?? null, outcome.status ?? STALE_STATUS, { ...STALE_HEADERS });
    const scope = gate.begin(requested);
    await gate.run(scope, () => next());
    const token = gate.token(scope);
    if (token !== undefined) {
      c.header(gate.headerName, token);
      const cookie = gate.setCookie(scope);
      if (cookie !== undefined) c.header('set-cookie', cookie, { append: true });
    }
    return undefined;
  };
}
