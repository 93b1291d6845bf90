import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import type { SqliteDatabase, SqliteDriver } from '../../src/sqlite/driver-types.js';
import { resultCodeName, resultCodeNumber } from '../../src/sqlite/drivers/result-codes.js';
import { availableDrivers } from '../support/drivers.js';

// The node:sqlite driver must keep better-sqlite3's contract, which the library, the wire and the adapters are
// built on: every test here runs the same calls through both drivers and requires the same outcome, result or
// error (class, code and message).

const { drivers, nodeSqliteMissing } = await availableDrivers();
const skip = nodeSqliteMissing ?? false;
const [better, nodeSqlite] = drivers as [SqliteDriver, SqliteDriver | undefined];
const NODE_MAJOR = Number(process.versions.node.split('.')[0]);

const SCHEMA = `
  CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, qty INTEGER CHECK (qty >= 0), parent INTEGER REFERENCES items (id));
  CREATE TABLE anything (v);
  CREATE TABLE strict_ints (n INTEGER) STRICT;
`;

function openBoth(t: { after(fn: () => void): void }): [SqliteDatabase, SqliteDatabase] {
  const dir = mkdtempSync(join(tmpdir(), 'litefs-forward-drivers-'));
  const connections = [better.open(join(dir, 'a.db')), nodeSqlite!.open(join(dir, 'b.db'))] as [SqliteDatabase, SqliteDatabase];
  for (const connection of connections) connection.exec(SCHEMA);
  t.after(() => {
    for (const connection of connections) connection.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return connections;
}

type Outcome = { value: unknown } | { error: { name: string; constructor: string; code: unknown; message: string } };

function outcome(action: () => unknown): Outcome {
  try {
    return { value: action() };
  } catch (error) {
    const e = error as Error & { code?: unknown };
    return { error: { name: e.name, constructor: e.constructor.name, code: e.code, message: e.message } };
  }
}

test('node:sqlite loads on Node 24 and later', () => {
  if (NODE_MAJOR >= 24) assert.equal(nodeSqliteMissing, undefined);
  else assert.ok(nodeSqliteMissing === undefined || nodeSqliteMissing.includes('Node 24 or later'), nodeSqliteMissing);
});

test('result codes by name and number, as sqlite3.h defines them', () => {
  const known: [string, number][] = [
    ['SQLITE_ERROR', 1],
    ['SQLITE_BUSY', 5],
    ['SQLITE_READONLY', 8],
    ['SQLITE_CONSTRAINT', 19],
    ['SQLITE_RANGE', 25],
    ['SQLITE_ABORT_ROLLBACK', 516],
    ['SQLITE_BUSY_SNAPSHOT', 517],
    ['SQLITE_IOERR_WRITE', 778],
    ['SQLITE_READONLY_DBMOVED', 1032],
    ['SQLITE_CONSTRAINT_NOTNULL', 1299],
    ['SQLITE_CONSTRAINT_PRIMARYKEY', 1555],
    ['SQLITE_CONSTRAINT_UNIQUE', 2067],
    ['SQLITE_CONSTRAINT_DATATYPE', 3091],
    ['SQLITE_IOERR_CODEC', 9226],
  ];
  for (const [name, number] of known) {
    assert.equal(resultCodeName(number), name);
    assert.equal(resultCodeNumber(name), number);
  }
  assert.equal(resultCodeName(12345), 'UNKNOWN_SQLITE_ERROR_12345');
  assert.equal(resultCodeNumber('UNKNOWN_SQLITE_ERROR_12345'), 12345);
  assert.equal(resultCodeNumber('SQLITE_NO_SUCH_CODE'), undefined);
});

const CORPUS = [
  'SELECT * FROM items',
  'SELECT ?',
  'WITH x AS (SELECT 1) SELECT * FROM x',
  'INSERT INTO items (name) VALUES (?)',
  'INSERT INTO items (name) VALUES (:name) RETURNING id',
  'INSERT OR REPLACE INTO anything VALUES (1)',
  "INSERT INTO items (name) VALUES ('x') ON CONFLICT (name) DO UPDATE SET qty = 1",
  'UPDATE items SET name = ? WHERE id = ?',
  'DELETE FROM main.items',
  'WITH d AS (SELECT 1) DELETE FROM items WHERE id IN (SELECT * FROM d)',
  'CREATE TABLE other (v)',
  'CREATE INDEX items_qty ON items (qty)',
  'CREATE VIEW v1 AS SELECT 1',
  'CREATE TRIGGER t AFTER INSERT ON items BEGIN UPDATE items SET qty = 0; END',
  'DROP TABLE IF EXISTS nosuch',
  'ANALYZE',
  'REINDEX',
  'BEGIN',
  'BEGIN IMMEDIATE',
  'COMMIT',
  'ROLLBACK',
  'SAVEPOINT s',
  'RELEASE s',
  "ATTACH ':memory:' AS x",
  'DETACH x',
  'VACUUM',
  'CREATE TEMP TABLE tmp (v)',
  'PRAGMA table_info(items)',
  'PRAGMA user_version',
  'PRAGMA user_version = 3',
  'PRAGMA journal_mode',
  'PRAGMA journal_mode = WAL',
  'PRAGMA wal_checkpoint',
  'PRAGMA foreign_keys = OFF',
  'PRAGMA query_only',
  'EXPLAIN INSERT INTO items (name) VALUES (1)',
  'EXPLAIN QUERY PLAN SELECT * FROM items',
  'SELECT count(*) FROM items WHERE name = :n OR name = @m OR name = $o',
];

test('statements: sqlite3_stmt_readonly and whether they return data, read off node:sqlite as better-sqlite3 reads them', { skip }, (t) => {
  const [a, b] = openBoth(t);
  for (const sql of CORPUS) {
    const expected = outcome(() => {
      const statement = a.prepare(sql);
      return { readonly: statement.readonly, reader: statement.reader, columns: statement.reader ? statement.columns() : [] };
    });
    const actual = outcome(() => {
      const statement = b.prepare(sql);
      return { readonly: statement.readonly, reader: statement.reader, columns: statement.reader ? statement.columns() : [] };
    });
    assert.deepEqual(actual, expected, sql);
  }
});

test('refusals of the SQL text itself, and of a closed connection', { skip }, (t) => {
  const [a, b] = openBoth(t);
  for (const sql of ['SELECT 1; SELECT 2', '', ' -- only a comment', 'SELEC 1', 'SELECT * FROM nosuch', 'INSERT INTO items VALUES (1, 2)']) {
    assert.deepEqual(
      outcome(() => b.prepare(sql).source),
      outcome(() => a.prepare(sql).source),
      sql,
    );
  }
  const nonReaders = [a, b].map((connection) => connection.prepare('DELETE FROM anything'));
  for (const call of [(s: (typeof nonReaders)[0]) => s.get(), (s: (typeof nonReaders)[0]) => s.all(), (s: (typeof nonReaders)[0]) => s.raw(true)]) {
    assert.deepEqual(outcome(() => call(nonReaders[1]!)), outcome(() => call(nonReaders[0]!)));
  }
  const dir = mkdtempSync(join(tmpdir(), 'litefs-forward-closed-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const closed = [better.open(join(dir, 'a.db')), nodeSqlite!.open(join(dir, 'b.db'))].map((connection) => connection.close().close());
  assert.deepEqual(
    closed.map((connection) => connection.open),
    [false, false],
  );
  assert.deepEqual(
    outcome(() => closed[1]!.prepare('SELECT 1')),
    outcome(() => closed[0]!.prepare('SELECT 1')),
  );
});

test("SQLite's errors: the same class name, code and message", { skip }, (t) => {
  const [a, b] = openBoth(t);
  const failing = [
    "INSERT INTO items (name) VALUES ('dup')",
    'INSERT INTO items (name) VALUES (NULL)',
    "INSERT INTO items (name, qty) VALUES ('neg', -1)",
    "INSERT INTO items (name, parent) VALUES ('orphan', 999)",
    "INSERT INTO items (id, name) VALUES (1, 'pk')",
    "INSERT INTO strict_ints VALUES ('text')",
    'SELECT no_such_function()',
    "SELECT json('{')",
  ];
  for (const connection of [a, b]) connection.exec("INSERT INTO items (id, name) VALUES (1, 'dup')");
  for (const sql of failing) {
    const expected = outcome(() => a.prepare(sql).run());
    assert.ok('error' in expected, sql);
    assert.deepEqual(outcome(() => b.prepare(sql).run()), expected, sql);
    assert.deepEqual(outcome(() => b.exec(sql)), outcome(() => a.exec(sql)), sql);
  }
  // node:sqlite's number for the code stays on the error.
  const error = outcome(() => b.prepare(failing[0]!).run());
  assert.ok('error' in error && error.error.code === 'SQLITE_CONSTRAINT_UNIQUE');
});

const sqlValue = fc.oneof(
  fc.constant(null),
  fc.integer(),
  fc.double({ noNaN: true }),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
  fc.string(),
  fc.uint8Array({ maxLength: 8 }).map((bytes) => Buffer.from(bytes)),
);

test('values: what goes in comes out the same, in every shape, with and without safe integers', { skip }, (t) => {
  const [a, b] = openBoth(t);
  fc.assert(
    fc.property(fc.array(sqlValue, { maxLength: 6 }), fc.boolean(), fc.constantFrom('get', 'all', 'raw', 'iterate', 'run'), (values, safe, shape) => {
      const results = [a, b].map((connection) =>
        outcome(() => {
          connection.exec('DELETE FROM anything');
          const insert = connection.prepare('INSERT INTO anything VALUES (?)').safeIntegers(safe);
          const runs = values.map((value) => insert.run(value));
          const select = connection.prepare('SELECT v, typeof(v) AS type FROM anything ORDER BY rowid').safeIntegers(safe);
          switch (shape) {
            case 'get':
              return [runs, select.get()];
            case 'all':
              return [runs, select.all()];
            case 'raw':
              return [runs, select.raw(true).all()];
            case 'iterate':
              return [runs, [...select.iterate()]];
            case 'run':
              return [runs, select.run()];
          }
        }),
      );
      assert.deepStrictEqual(results[1], results[0]);
    }),
    { numRuns: 300 },
  );
});

// A statement with some `?` slots and some named parameters, and the arguments a caller might pass to it.
// The same bare name may come with two prefixes (`:a` and `@a` are two parameters), and a parameter may repeat.
const statementShape = fc.record({
  anonymous: fc.integer({ min: 0, max: 3 }),
  named: fc.uniqueArray(
    fc.tuple(fc.constantFrom(':', '@', '$'), fc.constantFrom('a', 'b', 'c')).map(([prefix, name]) => `${prefix}${name}`),
    { maxLength: 3 },
  ),
  order: fc.func(fc.integer()),
  repeat: fc.boolean(),
});
const argument = fc.oneof(
  sqlValue,
  fc.constantFrom(undefined, true, 1.5, 2n ** 64n, -(2n ** 63n) - 1n, new Date(0), new Uint8Array([1, 2])),
  fc.array(sqlValue, { maxLength: 3 }),
  fc.dictionary(fc.constantFrom('a', 'b', 'c', 'z', ':a', '$b'), fc.oneof(sqlValue, fc.constant(undefined), fc.constant(true)), { maxKeys: 4 }),
);

test('binding: the same results and the same refusals, for any parameters and any arguments', { skip }, (t) => {
  const [a, b] = openBoth(t);
  fc.assert(
    fc.property(statementShape, fc.array(argument, { maxLength: 4 }), fc.boolean(), ({ anonymous, named, order, repeat }, args, raw) => {
      const slots = [...Array.from({ length: anonymous }, () => '?'), ...named].sort((x, y) => order(x, y) - order(y, x));
      if (repeat && named.length > 0) slots.push(named[0]!);
      const sql = slots.length === 0 ? 'SELECT 1 AS one' : `SELECT ${slots.map((slot, i) => `${slot} AS c${i}`).join(', ')}`;
      const results = [a, b].map((connection) =>
        outcome(() => {
          const statement = connection.prepare(sql);
          if (raw) statement.raw(true);
          return [statement.get(...args), statement.all(...args)];
        }),
      );
      assert.deepStrictEqual(results[1], results[0], `${sql} with ${args.length} arguments`);
    }),
    { numRuns: 1_000 },
  );
});

test('binding: parameter names next to strings, comments, quoted names and casts, as better-sqlite3 binds them', { skip }, (t) => {
  const [a, b] = openBoth(t);
  const cases: [string, unknown[]][] = [
    ["SELECT ':a' AS s, :b AS t -- :c", [{ b: 1 }]],
    ["SELECT ':a' AS s, :b AS t -- :c", [{ a: 1, b: 2, c: 3 }]],
    ['SELECT /* @x */ @y AS y, "$z" AS q FROM (SELECT 1 AS "$z")', [{ y: 'v' }]],
    ['SELECT CAST(:n AS INTEGER) AS n, :n AS again, $n AS other', [{ n: '5' }]],
    ['SELECT :a1 AS x, :a AS y', [{ a: 1 }]],
    ['SELECT :a1 AS x, :a AS y', [{ a: 1, a1: 2 }]],
    ['SELECT ?, :k, ? AS z', [1, { k: 2 }, 3]],
    ['SELECT ?, :k, ? AS z', [[1, 3], { k: 2 }]],
    ['SELECT [:not] AS x FROM (SELECT 1 AS [:not])', []],
  ];
  for (const [sql, args] of cases) {
    assert.deepStrictEqual(
      outcome(() => b.prepare(sql).all(...args)),
      outcome(() => a.prepare(sql).all(...args)),
      `${sql} with ${JSON.stringify(args)}`,
    );
  }
});

test('the connection: pragmas, transactions, and what run() returns', { skip }, (t) => {
  const [a, b] = openBoth(t);
  const steps: ((connection: SqliteDatabase) => unknown)[] = [
    (c) => c.pragma('user_version', { simple: true }),
    (c) => c.pragma('user_version = 5'),
    (c) => c.pragma('table_info(items)'),
    (c) => c.pragma('foreign_keys = OFF', { simple: true }),
    (c) => c.pragma('foreign_keys', { simple: true }),
    (c) => c.inTransaction,
    (c) => c.exec('BEGIN; INSERT INTO anything VALUES (1); INSERT INTO anything VALUES (2)').inTransaction,
    (c) => c.prepare('UPDATE anything SET v = v + 1').run(),
    (c) => c.defaultSafeIntegers(true).prepare('INSERT INTO anything VALUES (3)').run(),
    (c) => c.prepare('SELECT sum(v) AS total FROM anything').get(),
    (c) => c.defaultSafeIntegers(false).prepare('SELECT sum(v) AS total FROM anything').get(),
    (c) => c.exec('COMMIT').inTransaction,
    (c) => c.readonly,
  ];
  for (const [index, step] of steps.entries()) {
    assert.deepStrictEqual(
      outcome(() => step(b)),
      outcome(() => step(a)),
      `step ${index}`,
    );
  }
});
