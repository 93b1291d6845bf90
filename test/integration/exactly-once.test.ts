import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type FakeNode, startPair } from '../support/fake-cluster.js';

// A write that takes the primary about a second (4M rows; 0.7 s for 2M here): the caller's deadline passes after
// the primary has started it. The deadline leaves time for the request to arrive and start on a loaded machine,
// since the primary skips a queued write whose deadline has passed.
const SLOW_INSERT = `INSERT INTO payments (ref, work) VALUES (?, (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 4000000) SELECT count(*) FROM c))`;
const SHORT_DEADLINE_MS = 250;

describe('exactly-once forwarding', () => {
  let primary: FakeNode;
  let replica: FakeNode;
  let close: () => Promise<void>;
  const count = (ref: string): bigint => (primary.read((db) => db.prepare('SELECT count(*) AS n FROM payments WHERE ref = ?').get(ref)) as { n: bigint }).n;

  before(async () => {
    ({ primary, replica, close } = await startPair({ idempotencyWindow: 60_000 }));
    await primary.process.call('exec', 'CREATE TABLE payments (id INTEGER PRIMARY KEY, ref TEXT, work INTEGER)');
  });
  after(() => close());

  test('a forced timeout after the primary committed, then a retry with the same key, leaves exactly one row', async () => {
    const key = 'payment-timeout-1';
    await assert.rejects(replica.process.call('run', SLOW_INSERT, ['timeout-1'], { idempotencyKey: key, timeout: SHORT_DEADLINE_MS }), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'FORWARD_TIMEOUT');
      assert.match(error.message, /may have been applied/);
      return true;
    });
    // The primary finishes and commits the write the caller gave up on.
    const deadline = Date.now() + 10_000;
    while (count('timeout-1') === 0n && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(count('timeout-1'), 1n);
    const retried = await replica.process.call<{ changes: number; lastInsertRowid: number }>('run', SLOW_INSERT, ['timeout-1'], { idempotencyKey: key });
    assert.equal(retried.changes, 1);
    assert.equal(count('timeout-1'), 1n);
  });

  test('a retry that arrives while the first attempt is still running waits for it instead of running again', async () => {
    const key = 'payment-concurrent-1';
    const first = replica.process.call('run', SLOW_INSERT, ['concurrent-1'], { idempotencyKey: key, timeout: SHORT_DEADLINE_MS }).catch((error: Error) => error);
    await new Promise((resolve) => setTimeout(resolve, SHORT_DEADLINE_MS + 50));
    const second = await replica.process.call<{ lastInsertRowid: number }>('run', SLOW_INSERT, ['concurrent-1'], { idempotencyKey: key });
    assert.equal(((await first) as Error & { code?: string }).code, 'FORWARD_TIMEOUT');
    assert.equal(count('concurrent-1'), 1n);
    assert.ok(second.lastInsertRowid > 0);
  });

  test('a replay of the same key returns the first result', async () => {
    const key = 'payment-replay-1';
    const first = await replica.process.call<unknown[]>('all', 'INSERT INTO payments (ref) VALUES (?), (?) RETURNING id, ref', ['replay-a', 'replay-b'], { idempotencyKey: key });
    const replay = await replica.process.call<unknown[]>('all', 'INSERT INTO payments (ref) VALUES (?), (?) RETURNING id, ref', ['replay-a', 'replay-b'], { idempotencyKey: key });
    assert.deepEqual(replay, first);
    assert.equal(count('replay-a'), 1n);
    // Batches and scripts are keyed the same way.
    const batch = [{ sql: 'INSERT INTO payments (ref) VALUES (?)', params: ['replay-batch'] }];
    await replica.process.call('batch', batch, { idempotencyKey: 'batch-key' });
    await replica.process.call('batch', batch, { idempotencyKey: 'batch-key' });
    await replica.process.call('exec', "INSERT INTO payments (ref) VALUES ('replay-script')", { idempotencyKey: 'script-key' });
    await replica.process.call('exec', "INSERT INTO payments (ref) VALUES ('replay-script')", { idempotencyKey: 'script-key' });
    assert.equal(count('replay-batch'), 1n);
    assert.equal(count('replay-script'), 1n);
  });

  test('a forwarded transaction commit is keyed too', async () => {
    const tx = await replica.process.begin();
    await replica.process.txCall(tx, 'run', 'INSERT INTO payments (ref) VALUES (?)', ['tx-1']);
    await replica.process.txCall(tx, 'commit', { idempotencyKey: 'tx-key-1' });
    assert.deepEqual(primary.read((db) => db.prepare('SELECT count(*) AS n FROM _litefs_forward_primary_requests WHERE key = ?').get('tx-key-1')), { n: 1n });
  });

  test('expired keys are collected, and only those', async () => {
    const ledger = (): bigint => (primary.read((db) => db.prepare('SELECT count(*) AS n FROM _litefs_forward_primary_requests').get()) as { n: bigint }).n;
    const before = ledger();
    assert.ok(before >= 5n);
    assert.equal(await primary.process.call('purgeExpiredKeys', Date.now()), 0);
    assert.equal(ledger(), before);
    // Past the window (60 s), every key recorded so far has expired.
    assert.equal(await primary.process.call('purgeExpiredKeys', Date.now() + 61_000), Number(before));
    assert.equal(ledger(), 0n);
    // The writes themselves stay.
    assert.equal(count('replay-a'), 1n);
  });
});
