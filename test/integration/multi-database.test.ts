// Issue 14: one app, several databases (as Epic Stack runs sqlite.db and cache.db). Each database keeps its own
// tracking and its own endpoint path, the endpoints share one port, a request signed for one database never runs
// against another, and the middleware carries one TXID per database.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { type LiteFSDatabase, openDatabase } from '../../src/index.js';
import { expressConsistency } from '../../src/middleware/index.js';
import { signRequest } from '../../src/wire/auth.js';
import { rpcPath } from '../../src/wire/protocol.js';
import { freePort, nodeOptions, TEST_SECRET } from '../support/fake-cluster.js';
import { FakeLiteFS } from '../support/fake-litefs.js';

const txid = (n: number): string => n.toString(16).padStart(16, '0');
const ZERO = '0000000000000000';

function rowsIn(path: string): string[] {
  const db = new BetterSqlite3(path, { readonly: true });
  try {
    return (db.prepare('SELECT name FROM notes ORDER BY id').all() as { name: string }[]).map((row) => row.name);
  } finally {
    db.close();
  }
}

function listen(server: Server, port = 0): Promise<string> {
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
}

function closeServer(server: Server | undefined): Promise<void> {
  if (server === undefined) return Promise.resolve();
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

describe('several databases in one app', () => {
  let primaryLiteFS: FakeLiteFS;
  let replicaLiteFS: FakeLiteFS;
  let endpoint: Server;
  let endpointUrl: string;
  let appPath: string;
  let cachePath: string;
  const opened: LiteFSDatabase[] = [];
  let replicaApp: LiteFSDatabase;
  let replicaCache: LiteFSDatabase;

  before(async () => {
    primaryLiteFS = await FakeLiteFS.start({ isPrimary: true });
    replicaLiteFS = await FakeLiteFS.start({ isPrimary: false, primaryHostname: 'node-a' });
    appPath = primaryLiteFS.databasePath;
    cachePath = join(primaryLiteFS.dir, 'cache.db');
    const port = await freePort();
    endpointUrl = `http://127.0.0.1:${port}`;
    // The primary's process: both databases' endpoints mounted in one server, on one port.
    const primaryApp = await openDatabase(nodeOptions('node-a', primaryLiteFS, { path: appPath, listen: false, advertiseUrl: endpointUrl }));
    opened.push(primaryApp);
    const primaryCache = await openDatabase(nodeOptions('node-a', primaryLiteFS, { path: cachePath, listen: false, advertiseUrl: endpointUrl }));
    opened.push(primaryCache);
    endpoint = createServer((req, res) => primaryApp.rpcHandler(req, res, () => primaryCache.rpcHandler(req, res)));
    await listen(endpoint, port);
    await primaryApp.exec('CREATE TABLE notes (id INTEGER PRIMARY KEY, name TEXT)');
    await primaryCache.exec('CREATE TABLE notes (id INTEGER PRIMARY KEY, name TEXT)');
    // The replica's process opens both too; it reads the primary's files, standing in for replication.
    replicaApp = await openDatabase(nodeOptions('node-b', replicaLiteFS, { path: appPath, listen: false }));
    opened.push(replicaApp);
    replicaCache = await openDatabase(nodeOptions('node-b', replicaLiteFS, { path: cachePath, listen: false }));
    opened.push(replicaCache);
  });
  after(async () => {
    await closeServer(endpoint);
    for (const db of opened.reverse()) await db.close();
    await Promise.all([primaryLiteFS?.close(), replicaLiteFS?.close()]);
  });

  test('each database forwards to its own endpoint path on the shared port, and its writes land in its own file', async () => {
    assert.equal(replicaApp.role, 'replica');
    assert.equal(replicaCache.role, 'replica');
    await replicaApp.run('INSERT INTO notes (name) VALUES (?)', ['to-app']);
    await replicaCache.run('INSERT INTO notes (name) VALUES (?)', ['to-cache']);
    await replicaCache.transaction(async (tx) => {
      await tx.run('INSERT INTO notes (name) VALUES (?)', ['to-cache-in-tx']);
    });
    assert.deepEqual(rowsIn(appPath), ['to-app']);
    assert.deepEqual(rowsIn(cachePath), ['to-cache', 'to-cache-in-tx']);
  });

  test('a request signed for one database is refused at the other database path, and nothing runs', async () => {
    const body = Buffer.from(JSON.stringify({ op: 'query', mode: 'run', sql: "INSERT INTO notes (name) VALUES ('misrouted')", timeoutMs: 5_000 }));
    const headers = signRequest(Buffer.from(TEST_SECRET), 'node-b', rpcPath('app.db'), body);
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(new URL(rpcPath('cache.db'), endpointUrl), { method: 'POST', headers: { ...headers, 'content-type': 'application/json', 'content-length': body.length } }, (res) => {
        res.resume().on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end(body);
    });
    assert.equal(status, 401);
    assert.ok(!rowsIn(appPath).includes('misrouted'));
    assert.ok(!rowsIn(cachePath).includes('misrouted'));
  });

  test('the middleware carries one TXID per database, keeps the ones a request did not write, and waits for each', async (t) => {
    const app = createServer((req, res) =>
      expressConsistency([replicaApp, replicaCache], { maxWait: 300 })(req, res, (error) => {
        if (error) return res.writeHead(500).end(String(error));
        const url = req.url ?? '/';
        const done = (): void => void res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
        if (url === '/both') return void Promise.all([replicaApp.run("INSERT INTO notes (name) VALUES ('both')"), replicaCache.run("INSERT INTO notes (name) VALUES ('both')")]).then(done);
        if (url === '/cache') return void replicaCache.run("INSERT INTO notes (name) VALUES ('cache-only')").then(done);
        done();
      }),
    );
    const url = await listen(app);
    t.after(() => closeServer(app));
    // The primary's LiteFS positions after the next commits (LiteFS writes them; the stand-in does it by hand).
    writeFileSync(`${appPath}-pos`, `${txid(0x210)}/0000000000000000\n`);
    writeFileSync(`${cachePath}-pos`, `${txid(0x320)}/0000000000000000\n`);
    const both = await fetch(`${url}/both`, { method: 'POST' });
    // Each position names its commit: TXID, then the checksum.
    const token = `app.db=${txid(0x210)}.${ZERO}&cache.db=${txid(0x320)}.${ZERO}`;
    assert.equal(both.headers.get('x-litefs-txid'), token);
    assert.match(both.headers.get('set-cookie') ?? '', new RegExp(`^__txid=${token.replaceAll('.', '\\.')}; Path=/`));

    writeFileSync(`${cachePath}-pos`, `${txid(0x321)}/0000000000000000\n`);
    const cacheOnly = await fetch(`${url}/cache`, { method: 'POST', headers: { cookie: `__txid=${token}` } });
    assert.equal(cacheOnly.headers.get('x-litefs-txid'), `app.db=${txid(0x210)}.${ZERO}&cache.db=${txid(0x321)}.${ZERO}`, "app.db's position is kept");

    // This replica has both positions: a read carrying the token is served at once; a read that did not write gets no cookie.
    const read = await fetch(`${url}/read`, { headers: { cookie: `__txid=${token}` } });
    assert.equal(read.status, 200);
    assert.equal(read.headers.get('set-cookie'), null);
    // One database this replica has not reached: the whole request waits, then answers 503 naming it.
    const stale = await fetch(`${url}/read`, { headers: { 'x-litefs-txid': `app.db=${txid(0x210)}&cache.db=ffffffffffffff00` } });
    assert.equal(stale.status, 503);
    assert.match(((await stale.json()) as { error: { message: string } }).error.message, /in cache\.db \(TXID ffffffffffffff00\)/);
    // A bare TXID, as a single-database deployment's cookie holds, refers to the first database.
    const bare = await fetch(`${url}/read`, { headers: { 'x-litefs-txid': 'ffffffffffffff00' } });
    assert.equal(bare.status, 503);
    assert.match(((await bare.json()) as { error: { message: string } }).error.message, /in app\.db/);
  });

  test('two databases with the same file name cannot share a middleware', () => {
    assert.throws(() => expressConsistency([replicaApp, replicaApp]), { code: 'CONFIG_INVALID', message: /two databases named "app\.db"/ });
    assert.throws(() => expressConsistency([]), { code: 'CONFIG_INVALID' });
  });
});
