import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { sql } from 'drizzle-orm';
import { drizzle as betterSqliteDrizzle } from 'drizzle-orm/better-sqlite3';
import { integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { drizzle } from '../../../src/adapters/drizzle/index.js';
import { openDatabase, SqliteError } from '../../../src/index.js';
import { TEST_DRIVER } from '../../support/drivers.js';

// The same schema and the same failing queries through drizzle-orm's own better-sqlite3 driver and through this
// adapter: an app that swaps the construction line must see the same error (class, code, message).
const items = sqliteTable('items', { id: integer('id').primaryKey(), name: text('name').notNull().unique() });
const DDL = 'CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)';

const root = mkdtempSync(join(tmpdir(), 'litefs-forward-drizzle-errors-'));
after(() => rmSync(root, { recursive: true, force: true }));

interface Seen {
  name: string;
  code: unknown;
  message: string;
  isSqliteError: boolean;
  cause?: { name: string; code: unknown; message: string };
}

function seen(error: unknown): Seen {
  const e = error as Error & { code?: unknown };
  const cause = e.cause as (Error & { code?: unknown }) | undefined;
  return {
    name: e.constructor.name,
    code: e.code,
    message: e.message,
    // The driver's own class: better-sqlite3's, or litefs-forward's with node:sqlite.
    isSqliteError: e instanceof BetterSqlite3.SqliteError || e instanceof SqliteError,
    ...(cause instanceof Error ? { cause: { name: cause.constructor.name, code: cause.code, message: cause.message } } : {}),
  };
}

async function failure(fn: () => Promise<unknown>): Promise<Seen> {
  try {
    await fn();
  } catch (error) {
    return seen(error);
  }
  assert.fail('the query did not fail');
}

test("a failed query throws what drizzle-orm's better-sqlite3 driver throws: the SqliteError with its code", async (t) => {
  const reference = new BetterSqlite3(join(root, 'reference.db'));
  reference.exec(DDL);
  const expected = betterSqliteDrizzle(reference);
  const database = await openDatabase({ driver: TEST_DRIVER, path: join(root, 'adapter.db'), mode: 'local' });
  await database.exec(DDL);
  const actual = drizzle(database);
  t.after(async () => {
    reference.close();
    await database.close();
  });
  expected.insert(items).values({ name: 'taken' }).run();
  await actual.insert(items).values({ name: 'taken' });

  // drizzle's better-sqlite3 driver is synchronous: its transactions take a synchronous callback.
  type Sync = typeof expected;
  const cases: [string, (db: Sync) => unknown, (db: typeof actual) => Promise<unknown>][] = [
    ['unique constraint (insert builder)', (db) => db.insert(items).values({ name: 'taken' }).run(), (db) => db.insert(items).values({ name: 'taken' })],
    ['not-null constraint', (db) => db.insert(items).values({ name: null as never }).run(), (db) => db.insert(items).values({ name: null as never })],
    ['select builder on a missing column', (db) => db.select().from(items).where(sql`nope = 1`).all(), (db) => db.select().from(items).where(sql`nope = 1`)],
    ['raw run', (db) => db.run(sql`INSERT INTO items (name) VALUES ('taken')`), (db) => db.run(sql`INSERT INTO items (name) VALUES ('taken')`)],
    ['raw all on a missing table', (db) => db.all(sql`SELECT * FROM missing`), (db) => db.all(sql`SELECT * FROM missing`)],
    ['inside a transaction', (db) => db.transaction((tx) => tx.insert(items).values({ name: 'taken' }).run()), (db) => db.transaction(async (tx) => tx.insert(items).values({ name: 'taken' }))],
    [
      'inside a nested transaction',
      (db) => db.transaction((tx) => tx.transaction((inner) => inner.insert(items).values({ name: 'taken' }).run())),
      (db) => db.transaction(async (tx) => tx.transaction(async (inner) => inner.insert(items).values({ name: 'taken' }))),
    ],
  ];
  for (const [name, reference, adapter] of cases) {
    const want = await failure(async () => reference(expected));
    const got = await failure(() => adapter(actual));
    assert.deepEqual(got, want, name);
    // The code is at the top, except for db.run(), where drizzle's better-sqlite3 driver puts it in `cause`.
    if (name === 'raw run') assert.match(String(got.cause?.code), /^SQLITE_CONSTRAINT/, name);
    else {
      assert.equal(got.isSqliteError, true, `${name}: ${got.name}`);
      assert.match(String(got.code), /^SQLITE_/, name);
    }
  }
});
