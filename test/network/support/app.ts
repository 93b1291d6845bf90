// The app the network scenarios run on each node, inside the node's network namespace. It relies on the library's
// settings for a real host: `advertiseUrl` is the node's own address on the subnet (or the proxy in front of it),
// and the forwarding endpoint listens on the node's own address, separately from this API.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { openDatabase } from '../../../src/index.js';

const mountDir = process.env['LITEFS_MOUNT_DIR'] ?? '/litefs';
const address = process.env['NODE_ADDRESS'] ?? '127.0.0.1';
const port = Number(process.env['APP_PORT'] ?? 8080);
const forwardPort = Number(process.env['FORWARD_PORT'] ?? 20203);
const litefsUrl = process.env['LITEFS_HTTP_URL'] ?? 'http://127.0.0.1:20202';
// Where other nodes reach this node's forwarding endpoint; a proxy's address when the link is shaped.
const advertiseUrl = process.env['ADVERTISE_URL'] ?? `http://${address}:${forwardPort}`;
const rpcTimeout = Number(process.env['RPC_TIMEOUT'] ?? 15_000);

const db = await openDatabase({
  path: join(mountDir, 'net.db'),
  mode: 'litefs',
  primaryFile: join(mountDir, '.primary'),
  eventStreamUrl: `${litefsUrl}/events`,
  infoUrl: `${litefsUrl}/info`,
  hostname: process.env['NODE_NAME'],
  advertiseUrl,
  // The node's own address: when advertiseUrl names a proxy in front of it, the default (advertiseUrl's host) is not local.
  listen: { host: address, port: forwardPort },
  secret: process.env['LITEFS_FORWARD_SECRET'],
  rpcTimeout,
  startTimeout: 60_000,
  journalMode: 'wal',
});

if (db.role === 'primary') {
  await db.exec(`
    CREATE TABLE IF NOT EXISTS rows (id INTEGER PRIMARY KEY, key TEXT NOT NULL, via TEXT NOT NULL, at INTEGER NOT NULL);
  `);
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  let body = '';
  for await (const chunk of req) body += chunk;
  return body === '' ? {} : (JSON.parse(body) as Record<string, unknown>);
}

function send(res: ServerResponse, status: number, value: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)));
}

async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://app');
  if (req.method === 'GET' && url.pathname === '/health') return send(res, 200, { ok: true, role: db.role });
  if (req.method === 'GET' && url.pathname === '/role') return send(res, 200, { role: db.role });
  if (req.method === 'POST' && url.pathname === '/write') {
    const { key } = await readJson(req);
    if (typeof key !== 'string') return send(res, 400, { error: 'key must be a string' });
    const started = performance.now();
    await db.run('INSERT INTO rows (key, via, at) VALUES (?, ?, ?)', [key, db.hostname, Date.now()], { idempotencyKey: key });
    // Read-your-writes: the row must be readable here as soon as the write is acknowledged.
    const seen = await db.get<{ n: number }>('SELECT count(*) AS n FROM rows WHERE key = ?', [key]);
    return send(res, 201, { key, role: db.role, ms: performance.now() - started, seen: seen?.n ?? 0 });
  }
  if (req.method === 'POST' && url.pathname === '/tx') {
    // A read, a pause (the client holds the transaction open), then a dependent write.
    const { key, holdMs } = await readJson(req);
    if (typeof key !== 'string') return send(res, 400, { error: 'key must be a string' });
    const started = performance.now();
    const count = await db.transaction(
      async (tx) => {
        const row = await tx.get<{ n: number }>('SELECT count(*) AS n FROM rows');
        await sleep(typeof holdMs === 'number' ? holdMs : 0);
        await tx.run('INSERT INTO rows (key, via, at) VALUES (?, ?, ?)', [key, db.hostname, Date.now()]);
        return row?.n ?? 0;
      },
      { idempotencyKey: key },
    );
    return send(res, 201, { key, count, ms: performance.now() - started });
  }
  return send(res, 404, { error: 'not found' });
}

const server = createServer((req, res) => {
  const started = performance.now();
  route(req, res).catch((failure: unknown) => {
    const code = (failure as { code?: string }).code ?? 'INTERNAL';
    if (!res.headersSent) send(res, 503, { error: (failure as Error).message, code, ms: performance.now() - started });
  });
});
server.listen(port, address);

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    server.close();
    server.closeAllConnections();
    void db.close().then(() => process.exit(0));
  });
}
