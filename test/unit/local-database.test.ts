import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { openDatabase } from '../../src/index.js';
import { TEST_DRIVER } from '../support/drivers.js';

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'litefs-forward-local-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('without LiteFS everything runs locally, and two databases live side by side in one process', async (t) => {
  const dir = tempDir(t);
  await using first = await openDatabase({ driver: TEST_DRIVER, path: join(dir, 'one.db') });
  await using second = await openDatabase({ driver: TEST_DRIVER, path: join(dir, 'two.db') });
  assert.equal(first.role, 'standalone');
  await first.exec('CREATE TABLE t (v TEXT)');
  await second.exec('CREATE TABLE t (v TEXT)');
  await first.run('INSERT INTO t VALUES (:v)', { v: 'one' });
  await second.run('INSERT INTO t VALUES (?)', ['two']);
  assert.deepEqual(await first.all('SELECT v FROM t'), [{ v: 'one' }]);
  assert.deepEqual(await second.all('SELECT v FROM t'), [{ v: 'two' }]);
});

test('a TEMP table is refused on the shared connections, so it cannot swallow later writes; a read-only transaction may use one', async (t) => {
  const dir = tempDir(t);
  await using db = await openDatabase({ driver: TEST_DRIVER, path: join(dir, 'app.db'), mode: 'local' });
  await db.exec('CREATE TABLE items (v INTEGER)');
  // Were it allowed, `INSERT INTO items` would resolve to temp.items and report `changes: 1` for a row never stored.
  await assert.rejects(db.run('CREATE TEMP TABLE items (v INTEGER)'), { code: 'STATEMENT_REFUSED', reason: 'temp-object' });
  assert.equal((await db.run('INSERT INTO items VALUES (?)', [1n])).changes, 1);
  assert.deepEqual(await db.all('SELECT v FROM main.items'), [{ v: 1 }]);
  await db.transaction(
    async (tx) => {
      await tx.exec('CREATE TEMP TABLE scratch (v INTEGER); INSERT INTO scratch VALUES (2)');
      assert.deepEqual(await tx.all('SELECT v FROM scratch'), [{ v: 2 }]);
    },
    { readOnly: true },
  );
  assert.deepEqual(await db.all("SELECT name FROM sqlite_master WHERE name = 'scratch'"), []);
});

test('transaction control is refused as a single call; transactions commit or roll back as units', async (t) => {
  const dir = tempDir(t);
  await using db = await openDatabase({ driver: TEST_DRIVER, path: join(dir, 'app.db'), mode: 'local' });
  await db.exec('CREATE TABLE t (v INTEGER)');
  await assert.rejects(db.run('BEGIN'), { code: 'STATEMENT_REFUSED' });
  await assert.rejects(db.run('SAVEPOINT x'), { code: 'STATEMENT_REFUSED' });
  await assert.rejects(
    db.transaction(async (tx) => {
      await tx.run('INSERT INTO t VALUES (1)');
      throw new Error('boom');
    }),
    /boom/,
  );
  const total = await db.transaction(async (tx) => {
    await tx.run('INSERT INTO t VALUES (2)');
    await tx.exec('SAVEPOINT inner');
    await tx.run('INSERT INTO t VALUES (3)');
    await tx.exec('ROLLBACK TO inner');
    return tx.get<{ n: number }>('SELECT sum(v) AS n FROM t');
  });
  assert.deepEqual(total, { n: 2 });
  assert.deepEqual(await db.all('SELECT v FROM t'), [{ v: 2 }]);
});

test('a closed database refuses calls with CLOSED', async (t) => {
  const dir = tempDir(t);
  const db = await openDatabase({ driver: TEST_DRIVER, path: join(dir, 'app.db'), mode: 'local' });
  await db.close();
  await db.close();
  await assert.rejects(db.run('SELECT 1'), { code: 'CLOSED' });
});

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

test('a forgotten begin() does not hold the write queue: it is rolled back after transactionIdleTimeout', async (t) => {
  const dir = tempDir(t);
  const db = await openDatabase({ driver: TEST_DRIVER, path: join(dir, 'app.db'), mode: 'local', transactionIdleTimeout: 200 });
  t.after(() => db.close());
  await db.exec('CREATE TABLE t (x INTEGER)');
  const forgotten = await db.begin();
  await forgotten.run('INSERT INTO t VALUES (1)');
  // Another caller's write waits for the queue, and gets it once the forgotten transaction has idled out.
  await within(db.run('INSERT INTO t VALUES (2)'), 3_000, 'a write queued behind a forgotten transaction');
  await assert.rejects(forgotten.run('INSERT INTO t VALUES (3)'), { code: 'TRANSACTION_EXPIRED' });
  await assert.rejects(forgotten.commit(), { code: 'TRANSACTION_EXPIRED' });
  assert.deepEqual(await db.all('SELECT x FROM t ORDER BY x'), [{ x: 2 }]);
  // A transaction in use is not expired: each call restarts the idle clock.
  const busy = await db.begin();
  for (let i = 0; i < 4; i++) {
    await busy.run('INSERT INTO t VALUES (10)');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await busy.commit();
  assert.equal((await db.get<{ n: number }>('SELECT count(*) AS n FROM t WHERE x = 10'))?.n, 4);
});

test('a transaction is AsyncDisposable: disposed uncommitted it rolls back, after commit it does nothing', async (t) => {
  const dir = tempDir(t);
  const db = await openDatabase({ driver: TEST_DRIVER, path: join(dir, 'app.db'), mode: 'local' });
  t.after(() => db.close());
  await db.exec('CREATE TABLE t (x INTEGER)');
  const abandoned = await db.begin();
  await abandoned.run('INSERT INTO t VALUES (1)');
  await abandoned[Symbol.asyncDispose]();
  await within(db.run('INSERT INTO t VALUES (2)'), 1_000, 'a write after disposing a transaction');
  const committed = await db.begin();
  await committed.run('INSERT INTO t VALUES (3)');
  await committed.commit();
  await committed[Symbol.asyncDispose]();
  assert.deepEqual(await db.all('SELECT x FROM t ORDER BY x'), [{ x: 2 }, { x: 3 }]);
});

test('close() rolls back a forgotten local transaction and returns at once', async (t) => {
  const dir = tempDir(t);
  const db = await openDatabase({ driver: TEST_DRIVER, path: join(dir, 'app.db'), mode: 'local' });
  await db.exec('CREATE TABLE t (x INTEGER)');
  const forgotten = await db.begin();
  await forgotten.run('INSERT INTO t VALUES (1)');
  const queued = db.run('INSERT INTO t VALUES (2)').catch((error: unknown) => error);
  const startedAt = Date.now();
  await within(db.close(), 3_000, 'close() with a forgotten transaction');
  assert.ok(Date.now() - startedAt < 3_000);
  await queued;
  await assert.rejects(forgotten.run('SELECT 1'), { code: 'TRANSACTION_EXPIRED' });
});

test('a read that cannot reach the file (mount gone, as while LiteFS restarts) fails with DATABASE_UNAVAILABLE, retryable', async (t) => {
  const dir = tempDir(t);
  const mount = join(dir, 'mount');
  const { mkdirSync, renameSync } = await import('node:fs');
  mkdirSync(mount);
  const db = await openDatabase({ driver: TEST_DRIVER, path: join(mount, 'app.db'), mode: 'local' });
  t.after(() => db.close());
  await db.exec('CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1)');
  // What the app sees while LiteFS restarts: the mount point is there, but not the files LiteFS serves.
  renameSync(mount, join(dir, 'gone'));
  mkdirSync(mount);
  await assert.rejects(db.begin({ readOnly: true }), (error: Error & { code?: string; retryable?: boolean; cause?: { code?: string } }) => {
    assert.equal(error.code, 'DATABASE_UNAVAILABLE');
    assert.equal(error.retryable, true);
    assert.equal(error.cause?.code, 'SQLITE_CANTOPEN');
    assert.match(error.message, /LiteFS is restarting or its mount is unreachable/);
    return true;
  });
  rmSync(mount, { recursive: true });
  renameSync(join(dir, 'gone'), mount);
  const tx = await db.begin({ readOnly: true });
  assert.deepEqual(await tx.all('SELECT x FROM t'), [{ x: 1 }]);
  await tx.commit();
});

test('journalMode is set by the library on its writer, while PRAGMA journal_mode in a call is refused', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'wal.db');
  {
    await using db = await openDatabase({ driver: TEST_DRIVER, path, mode: 'local', journalMode: 'wal' });
    await db.exec('CREATE TABLE t (v INTEGER)');
    await assert.rejects(db.exec('PRAGMA journal_mode = DELETE'), { code: 'STATEMENT_REFUSED' });
    assert.deepEqual(await db.all('PRAGMA journal_mode'), [{ journal_mode: 'wal' }]);
  }
  await assert.rejects(openDatabase({ driver: TEST_DRIVER, path, mode: 'local', journalMode: 'WAL' as 'wal' }), (error: Error & { code?: string }) => {
    assert.equal(error.code, 'CONFIG_INVALID');
    assert.match(error.message, /journalMode/);
    return true;
  });
});

test("a caller's malformed argument is INVALID_ARGUMENT, not the wire's PROTOCOL_ERROR", async (t) => {
  const dir = tempDir(t);
  await using db = await openDatabase({ driver: TEST_DRIVER, path: join(dir, 'app.db'), mode: 'local' });
  for (const txid of ['', 'not-a-txid', 'FFFFFFFFFFFFFFFF', '0'.repeat(17)]) {
    await assert.rejects(async () => db.waitForTxid(txid), { code: 'INVALID_ARGUMENT', message: /^Not a TXID/ }, txid);
  }
});
