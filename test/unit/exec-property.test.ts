import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import fc from 'fast-check';
import { openDatabase } from '../../src/index.js';
import { silentLogger } from '../../src/logger.js';
import { ExactlyOnceLedger } from '../../src/primary/ledger.js';
import { scriptUnit, statementUnit } from '../../src/primary/units.js';
import { WriteQueue, type WriteUnit } from '../../src/primary/write-queue.js';
import { StatementCache } from '../../src/sqlite/statements.js';
import { countCommits } from '../support/commits.js';
import { TEST_DRIVER } from '../support/drivers.js';

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'litefs-forward-exec-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A fragment of a random script: its SQL, whether the writer runs it, and the log row it inserts if any. */
type Fragment = { sql: string; ok: boolean; inserts?: string };

const HOSTILE = [
  'BEGIN',
  'BEGIN IMMEDIATE',
  'COMMIT',
  'END',
  'ROLLBACK',
  'SAVEPOINT a',
  'RELEASE a',
  'RELEASE litefs_forward_unit',
  'CREATE TEMP TABLE items (name TEXT)',
  'CREATE TEMP TABLE log (v TEXT)',
  'CREATE TABLE temp.items (name TEXT)',
  'PRAGMA query_only = ON',
  'PRAGMA busy_timeout = 5000',
  'PRAGMA journal_mode = DELETE',
  "ATTACH ':memory:' AS x",
  'DETACH x',
  'VACUUM',
  'INSERT INTO nowhere VALUES (1)',
  "INSERT INTO items (name) VALUES ('taken')",
  'SELECT * FROM', // syntax error
];
const HARMLESS = ['PRAGMA user_version = 1', 'PRAGMA foreign_keys = OFF', 'PRAGMA defer_foreign_keys = ON', 'SELECT 1', 'PRAGMA table_info(items)', '-- a comment'];

const fragment = (tag: () => string): fc.Arbitrary<Fragment> =>
  fc.oneof(
    { weight: 3, arbitrary: fc.constant(null).map(() => {
      const v = tag();
      return { sql: `INSERT INTO log (v) VALUES ('${v}')`, ok: true, inserts: v };
    }) },
    { weight: 2, arbitrary: fc.constantFrom(...HARMLESS).map((sql) => ({ sql, ok: true })) },
    { weight: 2, arbitrary: fc.constantFrom(...HOSTILE).map((sql) => ({ sql, ok: false })) },
  );

type Op = { kind: 'exec'; fragments: Fragment[] } | { kind: 'write'; keyed: boolean; retries: number };

test('random exec() scripts interleaved with keyed and unkeyed writes: every acknowledged write is present exactly once', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'app.db');
  await using db = await openDatabase({ driver: TEST_DRIVER, path, mode: 'local' });
  await db.exec('CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL); CREATE TABLE log (v TEXT NOT NULL)');
  await db.run("INSERT INTO items (name) VALUES ('taken')");
  const file = new BetterSqlite3(path, { readonly: true });
  t.after(() => file.close());
  const countIn = (table: string, column: string, value: string): number =>
    (file.prepare(`SELECT count(*) AS n FROM main.${table} WHERE ${column} = ?`).get(value) as { n: number }).n;

  let serial = 0;
  const tag = (): string => `v${++serial}`;
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.array(fragment(tag), { minLength: 1, maxLength: 5 }).map((fragments) => ({ kind: 'exec' as const, fragments })),
    fc.record({ kind: fc.constant('write' as const), keyed: fc.boolean(), retries: fc.integer({ min: 0, max: 2 }) }),
  );

  await fc.assert(
    fc.asyncProperty(fc.array(op, { minLength: 2, maxLength: 12 }), async (ops) => {
      const checks = await Promise.all(
        ops.map(async (each): Promise<() => void> => {
          if (each.kind === 'exec') {
            const sql = each.fragments.map((f) => f.sql).join(';\n');
            const expectOk = each.fragments.every((f) => f.ok);
            const outcome = await db.exec(sql).then(
              () => undefined,
              (error: Error & { code?: string }) => error,
            );
            return () => {
              assert.equal(outcome === undefined, expectOk, `${sql}\n→ ${outcome?.message}`);
              if (outcome !== undefined && each.fragments.some((f) => !f.ok && (/^(BEGIN|COMMIT|END|ROLLBACK$|SAVEPOINT|RELEASE|ATTACH|DETACH|VACUUM|PRAGMA|CREATE)/.test(f.sql)))) {
                // The first failing fragment decides the error; a hostile one is refused with the library's code.
                const first = each.fragments.find((f) => !f.ok)!;
                if (!/^(INSERT|SELECT)/.test(first.sql)) assert.equal(outcome.code, 'STATEMENT_REFUSED', `${sql}\n→ ${outcome.message}`);
              }
              // Atomic: all of the script's rows, or none of them.
              for (const f of each.fragments) if (f.inserts !== undefined) assert.equal(countIn('log', 'v', f.inserts), expectOk ? 1 : 0, `${f.inserts} of ${sql}`);
            };
          }
          const name = tag();
          const key = each.keyed ? `key-${name}` : undefined;
          const attempts = Array.from({ length: each.keyed ? 1 + each.retries : 1 }, () =>
            db.run('INSERT INTO items (name) VALUES (?)', [name], key === undefined ? {} : { idempotencyKey: key }),
          );
          const results = await Promise.all(attempts);
          return () => {
            for (const result of results) assert.equal(result.changes, 1, name);
            assert.equal(countIn('items', 'name', name), 1, `${name} acknowledged, present once in main.items`);
          };
        }),
      );
      for (const check of checks) check();
      // The writer is still clean: a plain write lands in main.items, once.
      const probe = tag();
      await db.run('INSERT INTO items (name) VALUES (?)', [probe]);
      assert.equal(countIn('items', 'name', probe), 1);
    }),
    { numRuns: 40, interruptAfterTimeLimit: 15_000 },
  );
});

const SCHEMA = `
  CREATE TABLE log (v TEXT NOT NULL);
  CREATE TABLE parents (id INTEGER PRIMARY KEY);
  CREATE TABLE children (id INTEGER PRIMARY KEY, parent INTEGER REFERENCES parents (id) DEFERRABLE INITIALLY DEFERRED);
`;

function openQueue(t: { after(fn: () => void): void }) {
  const dir = tempDir(t);
  const connection = new BetterSqlite3(join(dir, 'app.db'), { timeout: 0 });
  connection.defaultSafeIntegers(true);
  connection.exec('PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON');
  connection.exec(SCHEMA);
  const tables = new ExactlyOnceLedger('_litefs_forward_primary');
  tables.ensureSchema(connection);
  const commits = countCommits(connection);
  const queue = new WriteQueue({ connection, maxGroupSize: 64, maxGroupWaitMs: 0, ledger: tables, readPosition: () => undefined, onLeaseLost: () => {}, logger: silentLogger });
  t.after(() => connection.close());
  return { connection, queue, cache: new StatementCache(connection), commits };
}

/** Counts how often each unit's body runs, so a re-run shows. */
function counted<T>(unit: WriteUnit<T>, runs: Map<string, number>, name: string): WriteUnit<T> {
  return {
    ...unit,
    execute: (connection) => {
      runs.set(name, (runs.get(name) ?? 0) + 1);
      return unit.execute(connection);
    },
  };
}

const logged = (connection: BetterSqlite3.Database, v: string): bigint => (connection.prepare('SELECT count(*) AS n FROM log WHERE v = ?').get(v) as { n: bigint }).n;

test('group commit groups, with and without a failing member, and runs no unit twice', async (t) => {
  // Failing members: a statement that fails in its savepoint, and scripts that would end the group's transaction.
  for (const failing of [undefined, 'INSERT INTO nowhere VALUES (1)', 'INSERT INTO log (v) VALUES (NULL)', 'script:COMMIT', 'script:END', 'script:ROLLBACK']) {
    const { connection, queue, cache, commits } = openQueue(t);
    const runs = new Map<string, number>();
    const names = Array.from({ length: 20 }, (_, i) => `g${i}`);
    const write = (name: string, i: number) =>
      queue.submit(counted(statementUnit(cache, 'INSERT INTO log (v) VALUES (?)', [name], 'run', i % 2 === 0 ? `key-${name}` : undefined), runs, name));
    // The failing member sits in the middle of the group.
    const writes = names.slice(0, 10).map(write);
    const bad =
      failing === undefined
        ? undefined
        : queue.submit(counted(failing.startsWith('script:') ? scriptUnit(failing.slice(7)) : statementUnit(cache, failing, undefined, 'run'), runs, 'bad'));
    writes.push(...names.slice(10).map((name, i) => write(name, i + 10)));
    await Promise.all(writes);
    if (bad !== undefined) await assert.rejects(bad, /no such table|NOT NULL|Refused/);
    for (const name of names) {
      assert.equal(logged(connection, name), 1n, `${name} (failing member: ${failing})`);
      assert.equal(runs.get(name), 1, `${name} ran once`);
    }
    assert.ok(commits() < names.length / 2, `${names.length} writes took ${commits()} commits (failing member: ${failing})`);
  }
});

test('a member that ends the group transaction fails alone; no unit that may have committed runs again', async (t) => {
  for (const end of ['COMMIT', 'ROLLBACK']) {
    const { connection, queue, cache } = openQueue(t);
    const runs = new Map<string, number>();
    const unit = (name: string, key?: string) => queue.submit(counted(statementUnit(cache, 'INSERT INTO log (v) VALUES (?)', [name], 'run', key), runs, name));
    const before = [unit(`${end}-a`, `key-${end}-a`), unit(`${end}-b`)];
    // Not reachable through the library's statements (they refuse transaction control): a unit written against
    // the connection itself, the defence in depth.
    const offender = queue.submit(
      counted(
        {
          execute: (c) => {
            c.exec(`INSERT INTO log (v) VALUES ('${end}-offender'); ${end}`);
            return null;
          },
        },
        runs,
        'offender',
      ),
    );
    const afterwards = [unit(`${end}-c`), unit(`${end}-d`, `key-${end}-d`)];
    await assert.rejects(offender, { code: 'STATEMENT_REFUSED' });
    const [keyed, unkeyed] = (await Promise.allSettled(before)) as [PromiseSettledResult<unknown>, PromiseSettledResult<unknown>];
    // The keyed member is settled from the ledger: committed with COMMIT, run again (once, it was rolled back) with ROLLBACK.
    assert.equal(keyed.status, 'fulfilled');
    if (end === 'COMMIT') assert.equal(unkeyed.status, 'rejected', 'an unkeyed member whose fate is unknown is told so, not re-run');
    await Promise.all(afterwards);
    for (const name of [`${end}-a`, `${end}-c`, `${end}-d`]) assert.equal(logged(connection, name), 1n, name);
    assert.equal(logged(connection, `${end}-b`), end === 'COMMIT' ? 1n : unkeyed.status === 'fulfilled' ? 1n : 0n);
    assert.equal(runs.get(`${end}-b`), 1, 'the unkeyed member never runs twice');
    assert.equal(runs.get('offender'), 1);
    assert.equal(connection.inTransaction, false);
    // The queue keeps committing.
    await unit(`${end}-later`);
    assert.equal(logged(connection, `${end}-later`), 1n);
  }
});

test('a member after which SQLite rolled the transaction back fails with its own error; every other write commits once', async (t) => {
  const { connection, queue, cache } = openQueue(t);
  const runs = new Map<string, number>();
  const names = Array.from({ length: 20 }, (_, i) => `r${i}`);
  const write = (name: string, i: number) =>
    queue.submit(counted(statementUnit(cache, 'INSERT INTO log (v) VALUES (?)', [name], 'run', i % 2 === 0 ? `key-${name}` : undefined), runs, name));
  const writes = names.slice(0, 10).map(write);
  // ON CONFLICT ROLLBACK: the constraint failure rolls back the whole transaction, not just the member's savepoint.
  const offender = queue.submit(statementUnit(cache, 'INSERT OR ROLLBACK INTO log (v) VALUES (NULL)', undefined, 'run'));
  writes.push(...names.slice(10).map((name, i) => write(name, i + 10)));
  await assert.rejects(offender, { code: 'SQLITE_CONSTRAINT_NOTNULL' });
  await Promise.all(writes);
  for (const name of names) assert.equal(logged(connection, name), 1n, name);
  assert.equal(connection.inTransaction, false);
});

test('a script runs atomically in its unit, and a refused statement applies nothing', async (t) => {
  const { connection, queue } = openQueue(t);
  await assert.rejects(queue.submit(scriptUnit("INSERT INTO log (v) VALUES ('s1'); PRAGMA query_only = ON")), { code: 'STATEMENT_REFUSED' });
  await assert.rejects(queue.submit(scriptUnit("INSERT INTO log (v) VALUES ('s2'); INSERT INTO nowhere VALUES (1)")), { code: 'SQLITE_ERROR' });
  assert.equal(logged(connection, 's1') + logged(connection, 's2'), 0n);
  assert.equal(connection.pragma('query_only', { simple: true }), 0n);
});

test('a queued write whose signal aborts (its deadline) while it waits leaves the queue without running', async (t) => {
  const { connection, queue, cache } = openQueue(t);
  const lease = await queue.acquire();
  // AbortSignal.timeout's timer does not keep the process alive on its own.
  const keepAlive = setTimeout(() => {}, 5_000);
  t.after(() => clearTimeout(keepAlive));
  const runs = new Map<string, number>();
  const started = performance.now();
  const timedOut = queue.submit(counted(statementUnit(cache, "INSERT INTO log (v) VALUES ('late')", undefined, 'run'), runs, 'late'), AbortSignal.timeout(50));
  const controller = new AbortController();
  const aborted = queue.submit(counted(statementUnit(cache, "INSERT INTO log (v) VALUES ('aborted')", undefined, 'run'), runs, 'aborted'), controller.signal);
  setTimeout(() => controller.abort(), 20);
  await Promise.all([assert.rejects(timedOut, { code: 'ABORTED' }), assert.rejects(aborted, { code: 'ABORTED' })]);
  assert.ok(performance.now() - started < 1_000, 'rejected at its deadline, not when the lease was released');
  assert.equal(queue.pending, 0, 'removed from the queue');
  lease.release();
  await queue.submit(statementUnit(cache, "INSERT INTO log (v) VALUES ('next')", undefined, 'run'));
  await queue.drain();
  assert.equal(runs.size, 0, 'neither ran');
  assert.equal(logged(connection, 'late') + logged(connection, 'aborted'), 0n);
  assert.equal(logged(connection, 'next'), 1n);
});
