// An app of the Epic Stack's shape on litefs-forward, run unchanged on every node of a LiteFS cluster:
// - Prisma 7 on `sqlite.db` through litefs-forward/prisma, and a cache in `cache.db` (Epic Stack's two files);
// - Hono for the routes, with the read-your-writes middleware over both databases;
// - code that LiteFS's proxy cannot forward, and litefs-forward does: a GET that writes, a background job that
//   writes, and a websocket whose messages write. No ensurePrimary(), no fly-replay: on a replica, each write goes
//   to the primary and returns as if it ran here;
// - the migration runs before the app, from LiteFS's `exec` (see litefs.yml): `litefs-forward migrate`.
import { createServer } from 'node:http';
import { join } from 'node:path';
import { getRequestListener } from '@hono/node-server';
import { Hono } from 'hono';
import { WebSocketServer } from 'ws';
import { PrismaLiteFS } from '../../src/adapters/prisma/index.js';
import { isLiteFSForwardError, openDatabase } from '../../src/index.js';
import { honoConsistency } from '../../src/middleware/index.js';
// The client `prisma generate` made from the schema whose migrations litefs.yml applies (here, the test fixture's).
import { PrismaClient } from '../../test/fixtures/prisma/generated/client.js';

const mountDir = process.env.LITEFS_MOUNT_DIR ?? '/litefs';
const litefsUrl = process.env.LITEFS_HTTP_URL ?? 'http://localhost:20202';
const port = Number(process.env.APP_PORT ?? 3000);
const node = process.env.NODE_NAME ?? process.env.FLY_MACHINE_ID;
const jobIntervalMs = Number(process.env.JOB_INTERVAL_MS ?? 1_000);

// One option set for both files: the same node, the same secret, one forwarding port (this server's).
const shared = {
  primaryFile: join(mountDir, '.primary'),
  eventStreamUrl: `${litefsUrl}/events`,
  hostname: node,
  advertiseUrl: process.env.ADVERTISE_URL ?? `http://127.0.0.1:${port}`,
  listen: false as const,
  secret: process.env.LITEFS_FORWARD_SECRET,
  startTimeout: 60_000,
};
const sqlite = await openDatabase({ ...shared, path: join(mountDir, 'sqlite.db') });
const cache = await openDatabase({ ...shared, path: join(mountDir, 'cache.db') });
const prisma = new PrismaClient({ adapter: new PrismaLiteFS(sqlite) });

// cache.db is the app's own, outside Prisma: its table is made at start-up, from any node (forwarded on a replica).
await cache.exec('CREATE TABLE IF NOT EXISTS cache_entries (key TEXT PRIMARY KEY, value TEXT NOT NULL, node TEXT NOT NULL, updated_at INTEGER NOT NULL)');
const putCache = (key: string, value: string) =>
  cache.run('INSERT INTO cache_entries (key, value, node, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, node = excluded.node, updated_at = excluded.updated_at', [
    key,
    value,
    sqlite.hostname,
    Date.now(),
  ]);

const app = new Hono();
app.use(honoConsistency([sqlite, cache]));
app.get('/health', (c) => c.json({ ok: true, role: sqlite.role }));
// A GET that writes, as a loader that records a visit: no ensurePrimary() before it.
app.get('/users/:email/visit', async (c) => {
  const email = c.req.param('email');
  const user = await prisma.user.upsert({ where: { email }, create: { email, name: email.split('@')[0] ?? '' }, update: {} });
  await putCache(`visit:${email}`, String(Date.now()));
  return c.json({ id: user.id, email: user.email, servedBy: sqlite.hostname });
});
app.get('/users', async (c) => c.json(await prisma.user.findMany({ orderBy: { id: 'asc' }, select: { id: true, email: true } })));
app.get('/cache', async (c) => c.json(await cache.all('SELECT key, value, node FROM cache_entries ORDER BY key')));
app.onError((error, c) => {
  const { code: raw } = error as { code?: unknown };
  const code = isLiteFSForwardError(error) || typeof raw === 'string' ? String(raw) : 'INTERNAL';
  return c.json({ error: { code, message: error.message } }, code === 'PRIMARY_UNAVAILABLE' || code === 'FORWARD_TIMEOUT' ? 503 : 500);
});

// Both databases' forwarding endpoints first, on the app's own port; each answers only its own path.
const listener = getRequestListener(app.fetch);
const server = createServer((req, res) => sqlite.rpcHandler(req, res, () => cache.rpcHandler(req, res, () => void listener(req, res))));

// A websocket whose messages write: `{"email": ...}` creates the user (forwarded on a replica) and answers its id.
const sockets = new WebSocketServer({ server, path: '/ws' });
sockets.on('connection', (socket) => {
  socket.on('message', async (data) => {
    try {
      const { email } = JSON.parse(String(data)) as { email: string };
      const user = await prisma.user.create({ data: { email, name: 'websocket' } });
      socket.send(JSON.stringify({ id: user.id, email, servedBy: sqlite.hostname }));
    } catch (error) {
      socket.send(JSON.stringify({ error: { code: (error as { code?: string }).code ?? 'INTERNAL', message: (error as Error).message } }));
    }
  });
});

// A background job, on every node: a heartbeat in the cache (on a replica, a forwarded write with no request).
let ticks = 0;
const job = setInterval(() => {
  ticks++;
  putCache(`job:${sqlite.hostname}`, String(ticks)).catch(() => {
    // An election or a failover: the next tick tries again.
  });
}, jobIntervalMs);

server.listen(port, process.env.HOST ?? '127.0.0.1');

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    clearInterval(job);
    sockets.close();
    server.close();
    server.closeAllConnections();
    void Promise.allSettled([prisma.$disconnect(), sqlite.close(), cache.close()]).then(() => process.exit(0));
  });
}
