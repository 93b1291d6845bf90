// Issue 13 on real LiteFS: a cluster whose apps run litefs-forward on Node's built-in node:sqlite, with no
// better-sqlite3 in them. Forwarded writes, read-your-writes, a remote transaction, exactly-once retries, and
// errors that cross the wire keep their class, code and message, as they do with better-sqlite3.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type BindParameters, type LiteFSDatabase, SqliteError } from '../../src/index.js';
import { Cluster, type ClusterNode } from '../harness/cluster.js';
import { waitFor } from '../harness/util.js';
import { appSpec, http, openOnNode, query } from './support/app.js';

const NODE_MAJOR = Number(process.versions.node.split('.')[0]);

describe('the node:sqlite driver on a real LiteFS cluster', { timeout: 300_000, skip: NODE_MAJOR < 24 ? `node:sqlite needs Node 24 or later (this is ${process.version})` : false }, () => {
  let cluster: Cluster;
  let node1: ClusterNode;
  let node2: ClusterNode;
  let replica: LiteFSDatabase;
  let primary: LiteFSDatabase;

  before(async () => {
    cluster = await Cluster.start({
      nodes: 2,
      lease: 'consul',
      dbName: 'app.db',
      app: (node) => {
        const spec = appSpec(node);
        return { ...spec, env: { ...spec.env, LITEFS_FORWARD_DRIVER: 'node:sqlite' } };
      },
    });
    [node1, node2] = cluster.nodes as [ClusterNode, ClusterNode];
    replica = await openOnNode(node2, { driver: 'node:sqlite', readYourWrites: true });
    // On the primary, beside its app: it publishes the app's own address, which the app serves.
    primary = await openOnNode(node1, { driver: 'node:sqlite', advertiseUrl: `http://127.0.0.1:${node1.appPort}` });
    await waitFor(async () => replica.role === 'replica' && (await replica.status()).primary?.hostname === 'node1', { timeoutMs: 30_000, description: 'node2 sees node1 as primary' });
  });
  after(async () => {
    await replica?.close();
    await primary?.close();
    await cluster?.close();
  });

  test('the apps run on node:sqlite: a replica forwards a write, reads it back at once, and runs a transaction on the primary', async () => {
    const health = await http(`${node2.appUrl}/health`);
    assert.equal(health.json.role, 'replica');
    const created = await http(`${node2.appUrl}/items`, 'POST', { name: 'ns-app' });
    assert.equal(created.status, 201);
    // The app's own read-your-writes: the replica's next read sees the row.
    const read = await http(`${node2.appUrl}/items/${created.json.id}`);
    assert.deepEqual(read.json, { id: created.json.id, name: 'ns-app', node: 'node2' });
    const first = await http(`${node2.appUrl}/counters/increment`, 'POST', { name: 'ns' });
    const second = await http(`${node1.appUrl}/counters/increment`, 'POST', { name: 'ns' });
    assert.deepEqual([first.json.value, second.json.value], [1, 2]);
  });

  test('in process on the replica: results shaped as locally, a remote transaction, and an exactly-once retry', async () => {
    const inserted = await replica.get<{ id: number; data: Buffer }>('INSERT INTO items (name, node, created_at) VALUES (?, ?, ?) RETURNING id, CAST(? AS BLOB) AS data', [
      'ns-inproc',
      'node2',
      Date.now(),
      Buffer.from([7, 8]),
    ]);
    assert.ok(inserted !== undefined && Buffer.isBuffer(inserted.data) && inserted.data.equals(Buffer.from([7, 8])));
    // Read-your-writes: the forwarded row is in this node's file when the call returns.
    assert.deepEqual(await replica.get('SELECT name FROM items WHERE id = ?', [inserted.id]), { name: 'ns-inproc' });
    const total = await replica.transaction(async (tx) => {
      const row = await tx.get<{ n: number }>('SELECT count(*) AS n FROM items');
      await tx.run('INSERT INTO items (name, node, created_at) VALUES (?, ?, ?)', [`ns-count-${row!.n}`, 'node2', Date.now()]);
      return row!.n;
    });
    assert.equal(typeof total, 'number');
    const key = 'ns-once-0001';
    const options = { idempotencyKey: key };
    const firstRun = await replica.run('INSERT INTO items (name, node, created_at) VALUES (?, ?, ?)', ['ns-once', 'node2', Date.now()], options);
    const retried = await replica.run('INSERT INTO items (name, node, created_at) VALUES (?, ?, ?)', ['ns-once', 'node2', Date.now()], options);
    assert.deepEqual(retried, firstRun);
    await waitFor(() => query<{ n: number }>(node1, "SELECT count(*) AS n FROM items WHERE name = 'ns-once'")[0]?.n === 1, { timeoutMs: 10_000, description: 'one ns-once row' });
  });

  test("errors: a forwarded call fails as the primary's local call fails, class, code and message", async () => {
    await primary.exec('CREATE TABLE IF NOT EXISTS ns_unique (name TEXT PRIMARY KEY NOT NULL)');
    await primary.run("INSERT OR IGNORE INTO ns_unique VALUES ('taken')");
    await waitFor(async () => (await replica.get("SELECT name FROM ns_unique WHERE name = 'taken'")) !== undefined, { timeoutMs: 10_000, description: 'ns_unique on node2' });
    const calls: [string, BindParameters | undefined][] = [
      ["INSERT INTO ns_unique VALUES ('taken')", undefined],
      ['INSERT INTO ns_unique VALUES (NULL)', undefined],
      ['INSERT INTO ns_unique VALUES (?)', []],
      ['INSERT INTO ns_unique VALUES (?)', [true as never]],
      ['INSERT INTO ns_unique VALUES (:name)', { other: 1 }],
    ];
    const failure = async (db: LiteFSDatabase, sql: string, params: BindParameters | undefined) => {
      try {
        await db.run(sql, params);
      } catch (error) {
        const e = error as Error & { code?: unknown };
        return { constructor: e.constructor.name, isSqliteError: e instanceof SqliteError, code: e.code, message: e.message };
      }
      return assert.fail(`${sql} did not fail`);
    };
    for (const [sql, params] of calls) {
      const local = await failure(primary, sql, params);
      const forwarded = await failure(replica, sql, params);
      assert.deepEqual(forwarded, local, sql);
    }
    const unique = await failure(replica, calls[0]![0], undefined);
    assert.deepEqual(unique, { constructor: 'SqliteError', isSqliteError: true, code: 'SQLITE_CONSTRAINT_PRIMARYKEY', message: 'UNIQUE constraint failed: ns_unique.name' });
  });
});
