import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { ExactlyOnceLedger } from '../../src/primary/ledger.js';
import { statementUnit } from '../../src/primary/units.js';
import { WriteQueue } from '../../src/primary/write-queue.js';
import { silentLogger } from '../../src/logger.js';
import { StatementCache } from '../../src/sqlite/statements.js';
import { countCommits } from '../support/commits.js';

const SCHEMA = `
  PRAGMA foreign_keys = ON;
  CREATE TABLE parents (id INTEGER PRIMARY KEY);
  CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL, qty INTEGER CHECK (qty >= 0));
  CREATE TABLE children (id INTEGER PRIMARY KEY, parent INTEGER REFERENCES parents (id) DEFERRABLE INITIALLY DEFERRED);
  INSERT INTO parents (id) VALUES (1);
`;

/** Fails only at COMMIT (a deferred foreign key): it fails the whole group, whose members then commit one by one. */
const DEFERRED_FAILURE: [string, unknown[]] = ['INSERT INTO children (parent) VALUES (?)', [99]];

/** Writes that succeed, fail at once, fail only at COMMIT, and depend on one another's effects. */
const WORKLOAD: [string, unknown[]][] = [
  ['INSERT INTO items (name, qty) VALUES (?, ?)', ['a', 1]],
  ['INSERT INTO items (name, qty) VALUES (?, ?)', ['a', 2]],
  ['INSERT INTO items (name, qty) VALUES (?, ?) RETURNING id, name', ['b', 3]],
  ['INSERT INTO items (name, qty) VALUES (?, ?)', ['c', -1]],
  ['UPDATE items SET qty = qty + 10 WHERE name IN (?, ?) RETURNING name, qty', ['a', 'b']],
  ['INSERT INTO children (parent) VALUES (?)', [1]],
  DEFERRED_FAILURE,
  ['INSERT INTO items (name, qty) VALUES (?, ?)', ['d', 4]],
  ['DELETE FROM items WHERE name = ?', ['zzz']],
  ['INSERT INTO nowhere VALUES (?)', [1]],
  ['INSERT INTO items (name, qty) VALUES (?, ?)', ['e', 5n]],
];

function openQueue(dir: string, name: string, maxGroupSize: number) {
  const connection = new BetterSqlite3(join(dir, name), { timeout: 0 });
  connection.defaultSafeIntegers(true);
  connection.exec('PRAGMA journal_mode = WAL');
  connection.exec(SCHEMA);
  const tables = new ExactlyOnceLedger('_litefs_forward_primary');
  tables.ensureSchema(connection);
  const commits = countCommits(connection);
  const queue = new WriteQueue({ connection, maxGroupSize, maxGroupWaitMs: 0, ledger: tables, readPosition: () => undefined, onLeaseLost: () => {}, logger: silentLogger });
  return { connection, queue, cache: new StatementCache(connection), tables, commits };
}

type Outcome = { ok: true; value: unknown } | { ok: false; code: string | undefined; message: string };

const settle = (promise: Promise<{ value: unknown }>): Promise<Outcome> =>
  promise.then(
    (committed) => ({ ok: true as const, value: committed.value }),
    (error: Error & { code?: string }) => ({ ok: false as const, code: error.code, message: error.message }),
  );

const dump = (connection: BetterSqlite3.Database) => ({
  items: connection.prepare('SELECT * FROM items ORDER BY id').all(),
  children: connection.prepare('SELECT * FROM children ORDER BY id').all(),
});

/** Runs `workload` one call at a time on one queue, and all in one turn on a queue that groups. */
async function aloneAndGrouped(dir: string, label: string, workload: [string, unknown[]][]) {
  const alone = openQueue(dir, `${label}-alone.db`, 1);
  const grouped = openQueue(dir, `${label}-grouped.db`, 64);
  try {
    const expected: Outcome[] = [];
    for (const [sql, params] of workload) expected.push(await settle(alone.queue.submit(statementUnit(alone.cache, sql, params as never, 'query'))));
    const actual = await Promise.all(workload.map(([sql, params]) => settle(grouped.queue.submit(statementUnit(grouped.cache, sql, params as never, 'query')))));
    return { expected, actual, alone: { commits: alone.commits(), data: dump(alone.connection) }, grouped: { commits: grouped.commits(), data: dump(grouped.connection) } };
  } finally {
    alone.connection.close();
    grouped.connection.close();
  }
}

test('group commit gives every call exactly the result or error it gets alone', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'litefs-forward-gc-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));

  // Without the member that fails at COMMIT: the whole workload shares one commit.
  const shared = await aloneAndGrouped(
    dir,
    'shared',
    WORKLOAD.filter((call) => call !== DEFERRED_FAILURE),
  );
  assert.deepEqual(shared.actual, shared.expected);
  assert.deepEqual(shared.grouped.data, shared.alone.data);
  assert.equal(shared.alone.commits, WORKLOAD.length - 1, 'alone, every call has its own commit');
  assert.equal(shared.grouped.commits, 1, `${WORKLOAD.length - 1} calls submitted in one turn took ${shared.grouped.commits} commits`);
  assert.ok(shared.expected.some((outcome) => !outcome.ok && outcome.code === 'SQLITE_CONSTRAINT_UNIQUE'));

  // With it: the group fails at COMMIT, its members are run again one by one, and each is still applied once.
  const isolated = await aloneAndGrouped(dir, 'isolated', WORKLOAD);
  assert.deepEqual(isolated.actual, isolated.expected);
  assert.deepEqual(isolated.grouped.data, isolated.alone.data);
  assert.equal(isolated.grouped.data.children.length, 1, 'the child of parent 1 is inserted once, the orphan never');
  assert.ok(isolated.grouped.commits <= isolated.alone.commits, `the fallback took ${isolated.grouped.commits} commits, alone ${isolated.alone.commits}`);
  assert.ok(isolated.expected.some((outcome) => !outcome.ok && outcome.code === 'SQLITE_CONSTRAINT_FOREIGNKEY'));
  assert.ok(isolated.expected.some((outcome) => !outcome.ok && outcome.code === 'SQLITE_CONSTRAINT_UNIQUE'));
});

test('a group of concurrent writes shares one commit', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'litefs-forward-gc-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const { connection, queue, cache, commits } = openQueue(dir, 'app.db', 64);
  t.after(() => connection.close());
  const results = await Promise.all(Array.from({ length: 200 }, (_, i) => queue.submit(statementUnit(cache, 'INSERT INTO items (name, qty) VALUES (?, ?)', [`n${i}`, i], 'run'))));
  assert.deepEqual(
    results.map((result) => result.value.lastInsertRowid),
    Array.from({ length: 200 }, (_, i) => BigInt(i + 1)),
  );
  assert.ok(commits() <= 4, `200 writes took ${commits()} commits`);
});

test('idempotency keys: a replayed key returns the first result and writes nothing', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'litefs-forward-gc-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const { connection, queue, cache, tables } = openQueue(dir, 'app.db', 64);
  t.after(() => connection.close());
  const first = await queue.submit(statementUnit(cache, 'INSERT INTO items (name, qty) VALUES (?, ?) RETURNING id', ['once', 1], 'query', 'key-1'));
  const again = await Promise.all([1, 2, 3].map(() => queue.submit(statementUnit(cache, 'INSERT INTO items (name, qty) VALUES (?, ?) RETURNING id', ['once', 1], 'query', 'key-1'))));
  assert.equal(first.replayed, false);
  for (const replay of again) {
    assert.equal(replay.replayed, true);
    assert.deepEqual(replay.value, first.value);
  }
  assert.deepEqual(connection.prepare("SELECT count(*) AS n FROM items WHERE name = 'once'").get(), { n: 1n });
  // Expired keys are collected; the write itself stays.
  assert.equal(tables.purge(connection, Date.now() + 1), 1);
  assert.equal(tables.lookup(connection, 'key-1'), undefined);
});
