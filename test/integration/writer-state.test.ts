import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { type FakeNode, startPair, } from '../support/fake-cluster.js';
import { postSigned as post } from '../support/rpc-post.js';

// Issue 9, findings 1-6 and 14: no call, local on the primary or forwarded from a replica, can change the writer
// connection for later callers. Each hostile call is refused with STATEMENT_REFUSED, and the queue keeps working.

describe('the writer connection belongs to the library (two processes)', () => {
  let primary: FakeNode;
  let replica: FakeNode;
  let close: () => Promise<void>;
  let dir: string;
  let serial = 0;
  const via = (): [string, FakeNode][] => [
    ['local on the primary', primary],
    ['forwarded from the replica', replica],
  ];
  const count = (name: string): bigint => (primary.read((db) => db.prepare('SELECT count(*) AS n FROM main.items WHERE name = ?').get(name)) as { n: bigint }).n;

  /** A normal write through `node` succeeds, lands in main.items, and lands there once. */
  async function assertHealthy(node: FakeNode): Promise<void> {
    const name = `healthy-${++serial}`;
    const result = await node.process.call<{ changes: number }>('run', 'INSERT INTO items (name) VALUES (?)', [name]);
    assert.equal(result.changes, 1);
    assert.equal(count(name), 1n, `${name} must be in main.items exactly once`);
  }

  const refused = (error: Error & { code?: string }): boolean => {
    assert.equal(error.code, 'STATEMENT_REFUSED', error.message);
    return true;
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'litefs-forward-writer-state-'));
    ({ primary, replica, close } = await startPair());
    await primary.process.call('exec', 'CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL)');
  });
  after(async () => {
    await close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('finding 1: exec("BEGIN; INSERT ...") is refused and applies nothing; the queue is not wedged', async () => {
    for (const [label, node] of via()) {
      const name = `f1-${label}`;
      await assert.rejects(node.process.call('exec', `BEGIN; INSERT INTO items (name) VALUES ('${name}')`), refused, label);
      assert.equal(count(name), 0n, label);
      await assert.rejects(node.process.call('run', 'BEGIN'), refused, label);
      await assertHealthy(primary);
      await assertHealthy(replica);
    }
  });

  test('finding 2: exec("COMMIT") / exec("END") among concurrent writes never duplicates an acknowledged write', async () => {
    for (const [label, node] of via()) {
      for (const end of ['COMMIT', 'END', 'ROLLBACK', 'SAVEPOINT x', 'RELEASE litefs_forward_unit']) {
        const names = Array.from({ length: 8 }, (_, i) => `f2-${label}-${end}-${i}`);
        const writes = names.map((name, i) => (i % 2 === 0 ? primary : replica).process.call('run', 'INSERT INTO items (name) VALUES (?)', [name]));
        const hostile = node.process.call('exec', end);
        const more = names.map((name) => primary.process.call('run', 'UPDATE items SET name = name WHERE name = ?', [name]));
        await assert.rejects(hostile, refused, `${label}: ${end}`);
        await Promise.all([...writes, ...more]);
        for (const name of names) assert.equal(count(name), 1n, `${name} acknowledged, present once`);
      }
      await assertHealthy(node);
    }
  });

  test('finding 3: CREATE TEMP TABLE on the writer is refused, so later writes land in main.items', async () => {
    for (const [label, node] of via()) {
      await assert.rejects(node.process.call('exec', 'CREATE TEMP TABLE items (id INTEGER PRIMARY KEY, name TEXT)'), refused, label);
      await assert.rejects(node.process.call('exec', 'CREATE TABLE temp.items (id INTEGER PRIMARY KEY, name TEXT)'), refused, label);
      await assert.rejects(node.process.call('exec', "CREATE TEMP TRIGGER f3 AFTER INSERT ON main.items BEGIN DELETE FROM main.items WHERE name = 'x'; END"), refused, label);
      await assertHealthy(primary);
      await assertHealthy(replica);
    }
  });

  test('finding 3, the class: a single call cannot leave a TEMP object on the shared reader either', async () => {
    for (const [label, node] of via()) {
      for (const sql of ['CREATE TEMP TABLE items (id INTEGER PRIMARY KEY, name TEXT)', 'CREATE TEMP VIEW items AS SELECT 1 AS id, 2 AS name']) {
        for (const mode of ['run', 'all', 'get']) await assert.rejects(node.process.call(mode, sql), refused, `${label}: ${mode} ${sql}`);
      }
      // A TEMP items would shadow main.items for every later caller on this node.
      const unqualified = await node.process.call('all', 'SELECT id, name FROM items ORDER BY id');
      const main = await node.process.call('all', 'SELECT id, name FROM main.items ORDER BY id');
      assert.deepEqual(unqualified, main, label);
      const temp = await node.process.call<unknown[]>('all', "SELECT name FROM temp.sqlite_master");
      assert.deepEqual(temp, [], `${label}: nothing in the temp schema`);
    }
  });

  test('finding 4: PRAGMA query_only = ON is refused and the primary stays primary', async () => {
    for (const [label, node] of via()) {
      await assert.rejects(node.process.call('exec', 'PRAGMA query_only = ON'), refused, label);
      await assert.rejects(node.process.call('exec', 'PRAGMA main.query_only=1'), refused, label);
      await assert.rejects(node.process.call('run', 'PRAGMA query_only = ON'), refused, label);
      assert.equal((await primary.process.status()).role, 'primary');
      await assertHealthy(primary);
      await assertHealthy(replica);
    }
  });

  test('finding 5: PRAGMA busy_timeout is refused; a write waiting on a lock does not block the event loop', async () => {
    for (const [label, node] of via()) {
      await assert.rejects(node.process.call('exec', 'PRAGMA busy_timeout = 8000'), refused, label);
      await assert.rejects(node.process.call('run', 'PRAGMA busy_timeout = 8000'), refused, label);
    }
    // Another process holds the write lock: the primary's write waits, and its process keeps answering meanwhile.
    const holder = new BetterSqlite3(primary.litefs.databasePath);
    holder.exec('BEGIN IMMEDIATE');
    let released = false;
    try {
      const name = 'f5-waiting';
      const write = primary.process.call('run', 'INSERT INTO items (name) VALUES (?)', [name]);
      await new Promise((resolve) => setTimeout(resolve, 200));
      const started = performance.now();
      await primary.process.status();
      assert.ok(performance.now() - started < 1_000, 'status() answered while the write waited for the lock');
      holder.exec('COMMIT');
      released = true;
      await write;
      assert.equal(count(name), 1n);
    } finally {
      if (!released) holder.exec('ROLLBACK');
      holder.close();
    }
    await assertHealthy(replica);
  });

  test('finding 6: VACUUM INTO and ATTACH are refused and write no file', async () => {
    for (const [label, node] of via()) {
      const slug = label.replaceAll(' ', '-');
      const vacuumPath = join(dir, `vacuum-${slug}.db`);
      const attachPath = join(dir, `attach-${slug}.db`);
      await assert.rejects(node.process.call('exec', `VACUUM INTO '${vacuumPath}'`), refused, label);
      await assert.rejects(node.process.call('exec', `ATTACH '${attachPath}' AS stolen`), refused, label);
      await assert.rejects(node.process.call('run', `ATTACH '${attachPath}' AS stolen`), refused, label);
      await assert.rejects(node.process.call('exec', 'VACUUM'), refused, label);
      assert.equal(existsSync(vacuumPath), false, label);
      assert.equal(existsSync(attachPath), false, label);
      await assertHealthy(node);
    }
  });

  test('a crafted, signed request cannot bypass the refusal: it happens on the primary', async () => {
    const url = primary.process.listenUrl!;
    const attachPath = join(dir, 'crafted.db');
    for (const body of [
      { op: 'exec', sql: 'PRAGMA query_only = ON', timeoutMs: 5_000 },
      { op: 'exec', sql: 'BEGIN', timeoutMs: 5_000 },
      { op: 'query', mode: 'run', sql: `ATTACH '${attachPath}' AS x`, timeoutMs: 5_000 },
      { op: 'query', mode: 'run', sql: 'CREATE TEMP TABLE items (name TEXT)', timeoutMs: 5_000 },
      { op: 'batch', statements: [{ sql: 'INSERT INTO items (name) VALUES (1)' }, { sql: 'COMMIT' }], timeoutMs: 5_000 },
    ]) {
      const response = await post(url, Buffer.from(JSON.stringify(body)));
      assert.match(response.body, /STATEMENT_REFUSED/, JSON.stringify(body));
    }
    assert.equal(existsSync(attachPath), false);
    assert.equal(count('1'), 0n);
    await assertHealthy(primary);
  });

  test('inside a transaction, the same statements are refused and the transaction stays usable', async () => {
    for (const [label, node] of via()) {
      const tx = await node.process.begin();
      const name = `tx-${label}`;
      await node.process.txCall(tx, 'run', 'INSERT INTO items (name) VALUES (?)', [name]);
      for (const sql of ['COMMIT', 'PRAGMA query_only = ON', 'CREATE TEMP TABLE items (name TEXT)', `ATTACH '${join(dir, 'tx.db')}' AS x`]) {
        await assert.rejects(node.process.txCall(tx, 'exec', sql), refused, `${label}: exec ${sql}`);
        await assert.rejects(node.process.txCall(tx, 'run', sql), refused, `${label}: run ${sql}`);
      }
      await node.process.txCall(tx, 'commit');
      assert.equal(count(name), 1n);
      await assertHealthy(node);
    }
  });

  test('finding 14: a failing exec() script is atomic, locally and forwarded alike', async () => {
    for (const [label, node] of via()) {
      const name = `f14-${label}`;
      await assert.rejects(node.process.call('exec', `INSERT INTO items (name) VALUES ('${name}'); CREATE TABLE f14 (v); INSERT INTO nowhere VALUES (1);`), {
        code: 'SQLITE_ERROR',
      });
      assert.equal(count(name), 0n, `${label}: nothing of the script stays applied`);
      assert.deepEqual(primary.read((db) => db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'f14'").get()), { n: 0n });
      // The same script without its failing statement applies as a whole.
      await node.process.call('exec', `INSERT INTO items (name) VALUES ('${name}'); INSERT INTO items (name) VALUES ('${name}-2')`);
      assert.equal(count(name), 1n);
      assert.equal(count(`${name}-2`), 1n);
      await assertHealthy(node);
    }
  });

  test('harmless pragmas and multi-statement DDL still run through exec', async () => {
    for (const [label, node] of via()) {
      const table = `ddl_${label.split(' ')[0]}`;
      await node.process.call(
        'exec',
        `PRAGMA defer_foreign_keys = ON; PRAGMA foreign_keys = OFF; CREATE TABLE ${table} (id INTEGER PRIMARY KEY, v TEXT);
         CREATE TRIGGER ${table}_t AFTER INSERT ON ${table} BEGIN UPDATE ${table} SET v = 'x;y' WHERE id = new.id; END;
         INSERT INTO ${table} (v) VALUES ('a'); PRAGMA foreign_keys = ON; PRAGMA user_version; -- trailing comment`,
      );
      assert.deepEqual(primary.read((db) => db.prepare(`SELECT v FROM ${table}`).all()), [{ v: 'x;y' }], label);
      await assertHealthy(node);
    }
  });
});
