import { type ConsistencyDatabases, type ConsistencyOptions, ConsistencyGate, type RequestScope, STALE_HEADERS, STALE_STATUS } from './consistency-gate.js';

/** The parts of Fastify the plugin uses, declared structurally so that Fastify stays an optional peer. */
interface FastifyRequestLike {
  headers: Record<string, string | string[] | undefined>;
}
interface FastifyReplyLike {
  code(status: number): FastifyReplyLike;
  headers(values: Record<string, string>): FastifyReplyLike;
  header(name: string, value: string): FastifyReplyLike;
  send(payload?: unknown): FastifyReplyLike;
}
interface FastifyLike {
  addHook(name: 'onRequest', hook: (request: FastifyRequestLike, reply: FastifyReplyLike, done: (error?: Error) => void) => void): unknown;
  addHook(name: 'onSend', hook: (request: FastifyRequestLike, reply: FastifyReplyLike, payload: unknown, done: (error: Error | null, payload?: unknown) => void) => void): unknown;
}

export interface FastifyConsistencyOptions extends ConsistencyOptions {
  /** One database, or an array of them: the token then carries one TXID each. */
  database: ConsistencyDatabases;
}

const scopes = new WeakMap<object, RequestScope>();

/**
 * Read-your-writes across requests, as a Fastify plugin: `app.register(fastifyConsistency, { database })`.
 * It applies to the whole server (it is not encapsulated).
 */
export function fastifyConsistency(fastify: FastifyLike, options: FastifyConsistencyOptions, done: (error?: Error) => void): void {
  const gate = new ConsistencyGate(options.database, options);
  fastify.addHook('onRequest', (request, reply, next) => {
    const header = request.headers[gate.headerName];
    const cookie = request.headers.cookie;
    const requested = gate.requested(Array.isArray(cookie) ? cookie.join(';') : cookie, Array.isArray(header) ? header[0] : header);
    gate.wait(requested).then(
      (outcome) => {
        if (!outcome.ok) {
          reply.code(outcome.status ?? STALE_STATUS).headers({ ...STALE_HEADERS }).send(outcome.body);
          return;
        }
        const scope = gate.begin(requested);
        scopes.set(request, scope);
        // Continuing inside the scope makes the route handler, and everything it awaits, report into it.
        gate.run(scope, () => next());
      },
      (error: unknown) => next(error as Error),
    );
  });
  fastify.addHook('onSend', (request, reply, payload, next) => {
    const scope = scopes.get(request);
    const token = scope === undefined ? undefined : gate.token(scope);
    if (scope !== undefined && token !== undefined) {
      reply.header(gate.headerName, token);
      const cookie = gate.setCookie(scope);
      if (cookie !== undefined) reply.header('set-cookie', cookie);
    }
    next(null, payload);
  });
  done();
}

// Tells Fastify not to encapsulate the plugin, as fastify-plugin would, without depending on it.
Object.assign(fastifyConsistency, { [Symbol.for('skip-override')]: true, [Symbol.for('fastify.display-name')]: 'litefs-forward-consistency' });
