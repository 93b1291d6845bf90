// The reference app: a small HTTP API that runs unchanged on every node of a LiteFS cluster. Reads are served
// from the local file; writes and transactions are forwarded to the primary by litefs-forward, over the same
// HTTP server (the forwarding endpoint is mounted next to the API).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { type DriverName, isLiteFSForwardError, openDatabase } from '../../src/index.js';
import { expressConsistency } from '../../src/middleware/index.js';

const mountDir = process.env.LITEFS_MOUNT_DIR ?? '/litefs';
const port = Number(process.env.APP_PORT ?? 8080);
const litefsUrl = process.env.LITEFS_HTTP_URL ?? 'http://localhost:20202';
// `node:sqlite` on Node 24+ runs the app with no native module; validated by openDatabase like any option.
const driver = process.env.LITEFS_FORWARD_DRIVER as DriverName | undefined;

const db = await openDatabase({
  path: join(mountDir, 'app.db'),
  primaryFile: join(mountDir, '.primary'),
  eventStreamUrl: `${litefsUrl}/events`,
  hostname: process.env.NODE_NAME,
  advertiseUrl: process.env.ADVERTISE_URL ?? `http://127.0.0.1:${port}`,
  listen: false,
  secret: process.env.LITEFS_FORWARD_SECRET,
  startTimeout: 60_000,
  journalMode: 'wal',
  ...(driver === undefined ? {} : { driver }),
});

if (db.role === 'primary' || db.role === 'standalone') {
  await db.exec(`
    CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, node TEXT NOT NULL, created_at INTEGER NOT NULL);
    CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
  `);
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  let body = '';
  for await (const chunk of req) body += chunk;
  return body === '' ? {} : (JSON.parse(body) as Record<string, unknown>);
}

function send(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value, (_key, v) => (typeof v === 'bigint' ? v.toString() : v));
  res.writeHead(status, { 'content-type': 'application/json' }).end(body);
}

async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://app');
  const key = req.headers['idempotency-key'];
  const callOptions = typeof key === 'string' ? { idempotencyKey: key } : {};
  if (req.method === 'GET' && url.pathname === '/health') return send(res, 200, { ok: true, role: db.role });
  if (req.method === 'GET' && url.pathname === '/status') return send(res, 200, await db.status());
  if (req.method === 'GET' && url.pathname === '/items') {
    return send(res, 200, await db.all('SELECT id, name, node FROM items ORDER BY id'));
  }
  const itemId = /^\/items\/(\d+)$/.exec(url.pathname)?.[1];
  if (req.method === 'GET' && itemId !== undefined) {
    const item = await db.get('SELECT id, name, node FROM items WHERE id = ?', [Number(itemId)]);
    return item === undefined ? send(res, 404, { error: 'no such item' }) : send(res, 200, item);
  }
  if (req.method === 'POST' && url.pathname === '/items') {
    const { name } = await readJson(req);
    if (typeof name !== 'string') return send(res, 400, { error: 'name must be a string' });
    const item = await db.get('INSERT INTO items (name, node, created_at) VALUES (?, ?, ?) RETURNING id, name, node', [name, db.hostname, Date.now()], callOptions);
    return send(res, 201, item);
  }
  if (req.method === 'POST' && url.pathname === '/counters/increment') {
    // A read followed by a dependent write, in one transaction on the primary.
    const { name } = await readJson(req);
    if (typeof name !== 'string') return send(res, 400, { error: 'name must be a string' });
    const value = await db.transaction(async (tx) => {
      const row = await tx.get<{ value: number }>('SELECT value FROM counters WHERE name = ?', [name]);
      const next = (row?.value ?? 0) + 1;
      await tx.run('INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value', [name, next]);
      await tx.run('INSERT INTO items (name, node, created_at) VALUES (?, ?, ?)', [`${name}#${next}`, db.hostname, Date.now()]);
      return next;
    }, callOptions);
    return send(res, 200, { name, value });
  }
  return send(res, 404, { error: 'not found' });
}

// Read-your-writes across requests and nodes: a client's next request waits for its last write (cookie __txid).
const consistency = expressConsistency(db);

const server = createServer((req, res) => {
  // The forwarding endpoint answers its own path and hands everything else to the app.
  const handler = db.role === 'standalone' ? undefined : db.rpcHandler;
  const app = (): void =>
    consistency(req, res, (error) => {
      if (error) return send(res, 500, { error: (error as Error).message });
      route(req, res).catch((failure: unknown) => {
        const code = isLiteFSForwardError(failure) || (failure as { code?: string }).code ? (failure as { code: string }).code : 'INTERNAL';
        if (!res.headersSent) send(res, code === 'PRIMARY_UNAVAILABLE' || code === 'FORWARD_TIMEOUT' ? 503 : 500, { error: (failure as Error).message, code });
      });
    });
  if (handler) handler(req, res, app);
  else app();
});
server.keepAliveTimeout = 65_000;
// HOST: the node's own address when other hosts must reach it (the forwarding endpoint is on this server).
server.listen(port, process.env.HOST ?? '127.0.0.1');

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    server.close();
    server.closeAllConnections();
    void db.close().then(() => process.exit(0));
  });
}
