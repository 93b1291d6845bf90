// Issues 9 and 14 on real LiteFS: a replica's hostile calls are refused by the primary without changing its
// writer, a binding error keeps its class across the wire, litefs-js's functions answer from the real cluster,
// and one process serves two databases (as Epic Stack's sqlite.db and cache.db) through one port.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { createLiteFSJs } from '../../src/compat/litefs-js/index.js';
import type { LiteFSDatabase } from '../../src/index.js';
import { expressConsistency } from '../../src/middleware/index.js';
import { Cluster, type ClusterNode, freePort } from '../harness/cluster.js';
import { waitFor } from '../harness/util.js';
import { appSpec, openOnNode, query } from './support/app.js';

describe('hardening on a real LiteFS replica', { timeout: 300_000 }, () => {
  let cluster: Cluster;
  let node1: ClusterNode;
  let node2: ClusterNode;
  let replica: LiteFSDatabase;

  before(async () => {
    cluster = await Cluster.start({ nodes: 2, lease: 'consul', dbName: 'app.db', app: (node) => appSpec(node) });
    [node1, node2] = cluster.nodes as [ClusterNode, ClusterNode];
    replica = await openOnNode(node2);
    await waitFor(async () => replica.role === 'replica' && (await replica.status()).primary?.hostname === 'node1', { timeoutMs: 30_000, description: 'node2 sees node1 as primary' });
  });
  after(async () => {
    await replica?.close();
    await cluster?.close();
  });

  const count = (name: string): number => query<{ n: number }>(node1, 'SELECT count(*) AS n FROM items WHERE name = ?', name)[0]?.n ?? -1;

  test('scripts that would change the writer are refused, nothing of them is applied, and the primary keeps serving', async () => {
    const hostile = [
      "BEGIN; INSERT INTO items (name, node, created_at) VALUES ('h-begin', 'node2', 0)",
      "INSERT INTO items (name, node, created_at) VALUES ('h-commit', 'node2', 0); COMMIT",
      'CREATE TEMP TABLE items (name TEXT, node TEXT, created_at INTEGER)',
      'PRAGMA query_only = ON',
      'PRAGMA busy_timeout = 8000',
      "ATTACH '/tmp/litefs-forward-e2e-attached.db' AS side",
      "VACUUM INTO '/tmp/litefs-forward-e2e-vacuum.db'",
    ];
    for (const script of hostile) await assert.rejects(replica.exec(script), { code: 'STATEMENT_REFUSED' }, script);
    await replica.run('INSERT INTO items (name, node, created_at) VALUES (?, ?, ?)', ['h-after', 'node2', Date.now()]);
    await waitFor(() => count('h-after') === 1, { timeoutMs: 10_000, description: 'the write after the refusals is on node1' });
    assert.equal(count('h-begin'), 0);
    assert.equal(count('h-commit'), 0);
    assert.equal((await node1.info()).isPrimary, true, 'node1 is still primary');
  });

  test('a binding error fails forwarded exactly as it fails locally', async () => {
    const sql = 'INSERT INTO items (name, node, created_at) VALUES (?, ?, ?)';
    const local = (() => {
      try {
        query(node2, 'SELECT ?', 1, 2);
      } catch (error) {
        return error as Error;
      }
      return undefined;
    })();
    assert.ok(local instanceof RangeError);
    await assert.rejects(replica.run(sql, ['a', 'b', 1, 2]), (error: Error) => {
      assert.ok(error instanceof RangeError, `got ${error.constructor.name}`);
      assert.equal(error.message, local.message);
      return true;
    });
  });

  test("litefs-js's functions answer from the cluster, and ensurePrimary() lets a replica's write through", async () => {
    const litefs = createLiteFSJs(replica);
    assert.deepEqual(await litefs.getInstanceInfo(), { primaryInstance: 'node1', currentInstance: 'node2', currentIsPrimary: false });
    assert.equal(await litefs.ensurePrimary(), true);
    await replica.run('INSERT INTO items (name, node, created_at) VALUES (?, ?, ?)', ['h-ensured', 'node2', Date.now()]);
    await waitFor(() => count('h-ensured') === 1, { timeoutMs: 10_000, description: 'the guarded write is on node1' });
  });

  test('two databases in one process on each node: writes forwarded through one port land in their own file, and the token carries both TXIDs', async (t) => {
    const names = (node: ClusterNode, file: string): string[] => {
      const db = new Database(join(node.mountDir, file), { readonly: true, fileMustExist: true, timeout: 2_000 });
      try {
        return (db.prepare('SELECT name FROM notes ORDER BY id').all() as { name: string }[]).map((row) => row.name);
      } finally {
        db.close();
      }
    };
    const opened: LiteFSDatabase[] = [];
    const servers: Server[] = [];
    t.after(async () => {
      for (const server of servers) {
        server.closeAllConnections();
        server.close();
      }
      for (const db of opened.reverse()) await db.close();
    });
    const open = async (node: ClusterNode, file: string, extra: Parameters<typeof openOnNode>[1] = {}): Promise<LiteFSDatabase> => {
      const db = await openOnNode(node, { path: join(node.mountDir, file), ...extra });
      opened.push(db);
      return db;
    };
    const serve = (server: Server, port = 0): Promise<string> => {
      servers.push(server);
      return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as { port: number }).port}`)));
    };
    // node1 (primary): both databases' endpoints in one server, one port, one advertiseUrl.
    const port = await freePort();
    const advertised = { advertiseUrl: `http://127.0.0.1:${port}`, listen: false } as const;
    const primarySqlite = await open(node1, 'sqlite.db', advertised);
    const primaryCache = await open(node1, 'cache.db', advertised);
    await serve(createServer((req, res) => primarySqlite.rpcHandler(req, res, () => primaryCache.rpcHandler(req, res))), port);
    await primarySqlite.exec('CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, name TEXT)');
    await primaryCache.exec('CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, name TEXT)');
    // node2 (replica): the same two files, replicated by LiteFS; every write forwarded.
    const sqlite = await open(node2, 'sqlite.db');
    const cache = await open(node2, 'cache.db');
    await waitFor(async () => (await sqlite.status()).primary?.hostname === 'node1' && (await cache.status()).primary?.hostname === 'node1', { timeoutMs: 30_000, description: 'both databases see node1 as primary' });
    const app = createServer((req, res) =>
      expressConsistency([sqlite, cache])(req, res, () => {
        const done = (): void => void res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
        if (req.method !== 'POST') return done();
        void Promise.all([sqlite.run("INSERT INTO notes (name) VALUES ('to-sqlite')"), cache.run("INSERT INTO notes (name) VALUES ('to-cache')")]).then(done);
      }),
    );
    const url = await serve(app);
    const posted = await fetch(`${url}/write`, { method: 'POST' });
    assert.equal(posted.status, 200);
    const token = posted.headers.get('x-litefs-txid') ?? '';
    assert.match(token, /^sqlite\.db=[0-9a-f]{16}\.[0-9a-f]{16}&cache\.db=[0-9a-f]{16}\.[0-9a-f]{16}$/);
    await waitFor(() => names(node1, 'sqlite.db').includes('to-sqlite') && names(node1, 'cache.db').includes('to-cache'), { timeoutMs: 10_000, description: 'both writes are on node1' });
    assert.deepEqual(names(node1, 'sqlite.db'), ['to-sqlite']);
    assert.deepEqual(names(node1, 'cache.db'), ['to-cache']);
    // The replica has both TXIDs: a read carrying the token is served, and sees both rows.
    const read = await fetch(`${url}/read`, { headers: { 'x-litefs-txid': token } });
    assert.equal(read.status, 200);
    assert.deepEqual(await sqlite.all('SELECT name FROM notes'), [{ name: 'to-sqlite' }]);
    assert.deepEqual(await cache.all('SELECT name FROM notes'), [{ name: 'to-cache' }]);
  });
});
