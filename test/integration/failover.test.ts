import assert from 'node:assert/strict';
import { test } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { freePort, replicate, seedReplicaFile, startNode, startPair } from '../support/fake-cluster.js';
import { FakeLiteFS } from '../support/fake-litefs.js';

test('a role change through the event stream redirects the next write', async (t) => {
  const litefsA = await FakeLiteFS.start({ isPrimary: true });
  const litefsB = await FakeLiteFS.start({ isPrimary: false, primaryHostname: 'node-a' });
  const litefsC = await FakeLiteFS.start({ isPrimary: false, primaryHostname: 'node-a' });
  const [portA, portB] = [await freePort(), await freePort()];
  const a = await startNode('node-a', litefsA, { listen: { host: '127.0.0.1', port: portA }, advertiseUrl: `http://127.0.0.1:${portA}` });
  t.after(async () => {
    await Promise.all([a.process.stop(), b.process.stop(), c.process.stop()]);
    await Promise.all([litefsA.close(), litefsB.close(), litefsC.close()]);
  });
  await a.process.call('exec', 'CREATE TABLE log (node TEXT)');
  seedReplicaFile(a, litefsB);
  seedReplicaFile(a, litefsC);
  const b = await startNode('node-b', litefsB, { listen: { host: '127.0.0.1', port: portB }, advertiseUrl: `http://127.0.0.1:${portB}` });
  const c = await startNode('node-c', litefsC);

  await c.process.call('run', 'INSERT INTO log VALUES (?)', ['to-a']);
  assert.deepEqual(a.read((db) => db.prepare('SELECT node FROM log').all()), [{ node: 'to-a' }]);

  await replicate(a, b);
  // The lease moves to node-b: LiteFS tells each node through its event stream.
  litefsA.setLease(false, 'node-b');
  litefsC.setLease(false, 'node-b');
  litefsB.setLease(true);
  // node-b publishes itself in the tracking table; LiteFS would replicate that row to node-c.
  await waitFor(async () => (await b.process.status()).role === 'primary');
  await waitFor(() => b.read((db) => (db.prepare('SELECT hostname FROM _litefs_forward_primary').get() as { hostname: string } | undefined)?.hostname === 'node-b'));
  await replicate(b, c);

  await c.process.call('run', 'INSERT INTO log VALUES (?)', ['to-b']);
  assert.deepEqual(b.read((db) => db.prepare('SELECT node FROM log ORDER BY rowid').all()), [{ node: 'to-a' }, { node: 'to-b' }]);
  assert.deepEqual(a.read((db) => db.prepare('SELECT node FROM log').all()), [{ node: 'to-a' }]);
  // The old primary refuses forwarded work now.
  const status = await a.process.status();
  assert.equal(status.role, 'replica');
});

test('a replica that dies mid-transaction releases the primary write queue within the idle timeout', async (t) => {
  const { primary, replica, close } = await startPair({ transactionIdleTimeout: 300 });
  t.after(close);
  await primary.process.call('exec', 'CREATE TABLE t (v TEXT)');
  const tx = await replica.process.begin();
  await replica.process.txCall(tx, 'run', 'INSERT INTO t VALUES (?)', ['uncommitted']);
  replica.process.kill();
  const startedAt = Date.now();
  // The primary's own write waits for the queue, which the dead replica's session holds until it times out.
  await primary.process.call('run', 'INSERT INTO t VALUES (?)', ['after']);
  const waited = Date.now() - startedAt;
  assert.ok(waited < 3_000, `the queue was released after ${waited} ms`);
  assert.deepEqual(primary.read((db) => db.prepare('SELECT v FROM t').all()), [{ v: 'after' }]);
});

test('a missing .primary during an election is not taken as being primary', async (t) => {
  const litefs = await FakeLiteFS.start({ isPrimary: false, primaryHostname: 'node-a' });
  const seed = new BetterSqlite3(litefs.databasePath);
  seed.close();
  // Election: no primary known, so no .primary file and /info says isPrimary false. No event stream.
  litefs.setLease(false, undefined, { notify: false });
  const node = await startNode('node-b', litefs, { eventStreamUrl: `${litefs.baseUrl}/events`, startTimeout: 300, rpcTimeout: 400 });
  t.after(async () => {
    await node.process.stop();
    await litefs.close();
  });
  const status = await node.process.status();
  assert.equal(status.role, 'unknown');
  await assert.rejects(node.process.call('exec', 'CREATE TABLE x (a)'), { code: 'PRIMARY_UNAVAILABLE' });
});

test("a known primary whose app is down: the deadline gives PRIMARY_UNAVAILABLE (nothing sent, so nothing applied), not FORWARD_TIMEOUT", async (t) => {
  const { primary, replica, close } = await startPair({ rpcTimeout: 800 });
  t.after(close);
  await primary.process.call('exec', 'CREATE TABLE t (v TEXT)');
  await replica.process.call('run', 'INSERT INTO t VALUES (?)', ['before']);
  // LiteFS still names node-a as primary; its app is gone, so every attempt is refused before anything is sent.
  primary.process.kill();
  // Long enough for the replica to see its pooled keep-alive sockets close: a write on one of those may have landed.
  await new Promise((resolve) => setTimeout(resolve, 300));
  const error = await replica.process.call('run', 'INSERT INTO t VALUES (?)', ['after']).then(
    () => assert.fail('the write succeeded without a primary'),
    (failure: { code?: string; mayHaveBeenApplied?: boolean; primary?: string }) => failure,
  );
  assert.equal(error.code, 'PRIMARY_UNAVAILABLE', JSON.stringify(error));
  assert.notEqual(error.mayHaveBeenApplied, true);
});

async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
