import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type FakeNode, startPair } from '../support/fake-cluster.js';

describe('forwarding from a replica to the primary (two processes)', () => {
  let primary: FakeNode;
  let replica: FakeNode;
  let close: () => Promise<void>;

  before(async () => {
    ({ primary, replica, close } = await startPair());
    await replica.process.call('exec', 'CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL, big INTEGER, data BLOB, score REAL)');
  });
  after(() => close());

  test('a forwarded insert lands in the primary file and returns changes and lastInsertRowid', async () => {
    const result = await replica.process.call<{ changes: number; lastInsertRowid: number }>('run', 'INSERT INTO items (name) VALUES (?)', ['first']);
    assert.deepEqual(result, { changes: 1, lastInsertRowid: 1 });
    const row = primary.read((db) => db.prepare('SELECT id, name FROM items WHERE name = ?').get('first'));
    assert.deepEqual(row, { id: 1n, name: 'first' });
    // Nothing was written to the replica's own file: it only changes through replication.
    assert.deepEqual(replica.read((db) => db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'items'").get()), { n: 0n });
  });

  test('RETURNING rows come back', async () => {
    const rows = await replica.process.call<unknown[]>('all', 'INSERT INTO items (name) VALUES (?), (?) RETURNING id, name', ['r1', 'r2']);
    assert.deepEqual(rows, [
      { id: 2, name: 'r1' },
      { id: 3, name: 'r2' },
    ]);
    const result = await replica.process.call<{ changes: number; rows: unknown[][] }>('query', 'UPDATE items SET score = 1.5 WHERE name LIKE ? RETURNING name', ['r%']);
    assert.equal(result.changes, 2);
    assert.deepEqual(result.rows, [['r1'], ['r2']]);
  });

  test('bigint and blob values round-trip exactly, and REAL stays apart from INTEGER', async () => {
    const big = 2n ** 63n - 1n;
    const blob = Buffer.from([0, 1, 2, 253, 254, 255]);
    await replica.process.call('run', 'INSERT INTO items (name, big, data, score) VALUES (?, ?, ?, ?)', ['values', big, blob, 5]);
    const stored = primary.read((db) => db.prepare("SELECT big, data, typeof(score) AS t, score FROM items WHERE name = 'values'").get()) as { big: bigint; data: Buffer; t: string };
    assert.equal(stored.big, big);
    assert.deepEqual(Buffer.from(stored.data), blob);
    assert.equal(stored.t, 'real');
    const back = await replica.process.call<{ big: bigint; data: Uint8Array }>('get', 'UPDATE items SET big = big - 1 WHERE name = ? RETURNING big, data', ['values']);
    // The replica runs with safeIntegers off, as better-sqlite3 would by default: a number, rounded the same way.
    assert.equal(back.big, Number(big - 1n));
    assert.deepEqual(Buffer.from(back.data), blob);
  });

  test('a constraint violation on the primary reaches the replica as SQLITE_CONSTRAINT_UNIQUE', async () => {
    await assert.rejects(replica.process.call('run', 'INSERT INTO items (name) VALUES (?)', ['first']), (error: Error & { code?: string; name: string }) => {
      assert.equal(error.code, 'SQLITE_CONSTRAINT_UNIQUE');
      assert.equal(error.name, 'SqliteError');
      assert.match(error.message, /UNIQUE constraint failed: items.name/);
      return true;
    });
  });

  test('a batch is atomic', async () => {
    await assert.rejects(
      replica.process.call('batch', [
        { sql: 'INSERT INTO items (name) VALUES (?)', params: ['batch-1'] },
        { sql: 'INSERT INTO items (name) VALUES (?)', params: ['first'] },
      ]),
      { code: 'SQLITE_CONSTRAINT_UNIQUE' },
    );
    assert.deepEqual(primary.read((db) => db.prepare("SELECT count(*) AS n FROM items WHERE name = 'batch-1'").get()), { n: 0n });
    const results = await replica.process.call<{ changes: number }[]>('batch', [
      { sql: 'INSERT INTO items (name) VALUES (?)', params: ['batch-2'] },
      { sql: 'INSERT INTO items (name) VALUES (?)', params: ['batch-3'] },
    ]);
    assert.deepEqual(results.map((result) => result.changes), [1, 1]);
  });

  test('an interactive transaction that reads then writes commits atomically', async () => {
    const tx = await replica.process.begin();
    const before = await replica.process.txCall<{ n: number }>(tx, 'get', 'SELECT count(*) AS n FROM items');
    await replica.process.txCall(tx, 'run', 'INSERT INTO items (name, score) VALUES (?, ?)', [`count-${before.n}`, before.n]);
    // Not visible on the primary's file before commit.
    assert.deepEqual(primary.read((db) => db.prepare('SELECT count(*) AS n FROM items WHERE name = ?').get(`count-${before.n}`)), { n: 0n });
    await replica.process.txCall(tx, 'commit');
    assert.deepEqual(primary.read((db) => db.prepare('SELECT count(*) AS n FROM items WHERE name = ?').get(`count-${before.n}`)), { n: 1n });
  });

  test('a transaction that throws is rolled back', async () => {
    const tx = await replica.process.begin();
    await replica.process.txCall(tx, 'run', 'INSERT INTO items (name) VALUES (?)', ['doomed']);
    await replica.process.txCall(tx, 'rollback');
    assert.deepEqual(primary.read((db) => db.prepare("SELECT count(*) AS n FROM items WHERE name = 'doomed'").get()), { n: 0n });
    // The write queue is free again: a plain write goes through at once.
    await replica.process.call('run', 'INSERT INTO items (name) VALUES (?)', ['after-rollback']);
  });

  test('a statement that fails inside a remote transaction leaves the transaction usable', async () => {
    const tx = await replica.process.begin();
    await replica.process.txCall(tx, 'run', 'INSERT INTO items (name) VALUES (?)', ['in-tx-1']);
    await assert.rejects(replica.process.txCall(tx, 'run', 'INSERT INTO items (name) VALUES (?)', ['first']), { code: 'SQLITE_CONSTRAINT_UNIQUE' });
    await replica.process.txCall(tx, 'run', 'INSERT INTO items (name) VALUES (?)', ['in-tx-2']);
    await replica.process.txCall(tx, 'commit');
    assert.deepEqual(primary.read((db) => db.prepare("SELECT name FROM items WHERE name LIKE 'in-tx-%' ORDER BY name").all()), [{ name: 'in-tx-1' }, { name: 'in-tx-2' }]);
    assert.equal(((await primary.process.status()) as { forwarding: { sessions: number } }).forwarding.sessions, 0);
  });
});
