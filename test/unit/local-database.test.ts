import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { openDatabase } from '../../src/index.js';

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'litefs-forward-local-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('without LiteFS everything runs locally, and two databases live side by side in one process', async (t) => {
  const dir = tempDir(t);
  await using first = await openDatabase({ path: join(dir, 'one.db') });
  await using second = await openDatabase({ path: join(dir, 'two.db') });
  assert.equal(first.role, 'standalone');
  await first.exec('CREATE TABLE t (v TEXT)');
  await second.exec('CREATE TABLE t (v TEXT)');
  await first.run('INSERT INTO t VALUES (:v)', { v: 'one' });
  await second.run('INSERT INTO t VALUES (?)', ['two']);
  assert.deepEqual(await first.all('SELECT v FROM t'), [{ v: 'one' }]);
  assert.deepEqual(await second.all('SELECT v FROM t'), [{ v: 'two' }]);
});

test('TEMP tables are written on the local connection and stay visible to its reads', async (t) => {
  const dir = tempDir(t);
  await using db = await openDatabase({ path: join(dir, 'app.db'), mode: 'local' });
  await db.run('CREATE TEMP TABLE scratch (v INTEGER)');
  await db.run('INSERT INTO scratch VALUES (?)', [1n]);
  assert.deepEqual(await db.all('SELECT v FROM scratch'), [{ v: 1 }]);
  // Nothing reached the main database.
  assert.deepEqual(await db.all("SELECT name FROM sqlite_master WHERE name = 'scratch'"), []);
});

test('transaction control is refused as a single call; transactions commit or roll back as units', async (t) => {
  const dir = tempDir(t);
  await using db = await openDatabase({ path: join(dir, 'app.db'), mode: 'local' });
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
  const db = await openDatabase({ path: join(dir, 'app.db'), mode: 'local' });
  await db.close();
  await db.close();
  await assert.rejects(db.run('SELECT 1'), { code: 'CLOSED' });
});
