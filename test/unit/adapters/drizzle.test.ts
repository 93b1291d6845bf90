import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, test } from 'node:test';
import { eq, sql } from 'drizzle-orm';
import { migrate as libsqlMigrate } from 'drizzle-orm/libsql/migrator';
import { drizzle, migrate } from '../../../src/adapters/drizzle/index.js';
import { type LiteFSDatabase, openDatabase } from '../../../src/index.js';
import { accounts, type DrizzleAppDatabase, migrateDrizzleApp, runDrizzleScenario, schema, transfer, users, writeDrizzleMigrations } from './drizzle-app.js';
import { TEST_DRIVER } from '../../support/drivers.js';

const root = mkdtempSync(join(tmpdir(), 'litefs-forward-drizzle-'));
after(() => rmSync(root, { recursive: true, force: true }));
let counter = 0;

async function open(): Promise<{ database: LiteFSDatabase; db: DrizzleAppDatabase; path: string }> {
  const path = join(root, `app-${++counter}.db`);
  const database = await openDatabase({ driver: TEST_DRIVER, path, mode: 'local' });
  return { database, db: drizzle(database, { schema }), path };
}

test('the application scenario passes, and again on the same database', async () => {
  const { database, db } = await open();
  try {
    await runDrizzleScenario(db);
    await runDrizzleScenario(db);
  } finally {
    await database.close();
  }
});

test('two concurrent read-then-write transactions do not interleave', async () => {
  const { database, db } = await open();
  try {
    await migrateDrizzleApp(db);
    const [owner] = await db.insert(users).values({ email: 'a@example.com', name: 'A' }).returning();
    await db.insert(accounts).values([
      { id: 'from', ownerId: owner!.id, balance: 100 },
      { id: 'to', ownerId: owner!.id, balance: 0 },
    ]);
    // Each reads 100 and, after a pause, spends 60: run together without isolation, both would succeed.
    const slowSpend = (): Promise<number> =>
      db.transaction(async (tx) => {
        const [source] = await tx.select().from(accounts).where(eq(accounts.id, 'from'));
        await sleep(30);
        if (source!.balance < 60) throw new Error('insufficient funds');
        await tx
          .update(accounts)
          .set({ balance: source!.balance - 60 })
          .where(eq(accounts.id, 'from'));
        return source!.balance - 60;
      });
    const outcomes = await Promise.allSettled([slowSpend(), slowSpend()]);
    assert.deepEqual(outcomes.map((outcome) => outcome.status).sort(), ['fulfilled', 'rejected']);

    // Many concurrent transfers, some with nested savepoints: every one applies exactly once.
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        i % 2 === 0
          ? transfer(db, 'from', 'to', 1)
          : db.transaction((tx) => tx.transaction(async (inner) => void (await inner.update(accounts).set({ balance: sql`${accounts.balance} - 1` }).where(eq(accounts.id, 'from'))))),
      ),
    );
    const rows = await db.select().from(accounts).orderBy(accounts.id);
    assert.deepEqual(
      rows.map((row) => [row.id, row.balance]),
      [
        ['from', 20],
        ['to', 10],
      ],
    );
  } finally {
    await database.close();
  }
});

test('queries outside a transaction never join it, even while it is open', async () => {
  const { database, db } = await open();
  try {
    await migrateDrizzleApp(db);
    let outside: Promise<unknown> | undefined;
    let outsideDone = false;
    await assert.rejects(
      db.transaction(async (tx) => {
        await tx.insert(users).values({ email: 'inside@example.com', name: 'Inside' });
        assert.equal((await tx.select().from(users)).length, 1);
        // The database, used while the transaction is open: a read does not see it, a write waits for it.
        assert.deepEqual(await db.select().from(users), []);
        outside = db
          .insert(users)
          .values({ email: 'outside@example.com', name: 'Outside' })
          .then(() => {
            outsideDone = true;
          });
        await sleep(30);
        assert.equal(outsideDone, false);
        throw new Error('roll back');
      }),
      /roll back/,
    );
    await outside;
    const emails = (await db.select({ email: users.email }).from(users)).map((row) => row.email);
    assert.deepEqual(emails, ['outside@example.com']);
  } finally {
    await database.close();
  }
});

test('migrations started at once on two nodes run exactly once', async () => {
  const { database, db, path } = await open();
  const other = await openDatabase({ driver: TEST_DRIVER, path, mode: 'local' });
  try {
    const db2 = drizzle(other, { schema });
    await Promise.all([migrateDrizzleApp(db), migrateDrizzleApp(db2), migrateDrizzleApp(db)]);
    const applied = await db.all<{ hash: string }>(sql`select hash from __drizzle_migrations`);
    assert.equal(applied.length, 2);
  } finally {
    await database.close();
    await other.close();
  }
});

test('a failed migration leaves nothing behind, and a later fix applies', async () => {
  const { database, db } = await open();
  const folder = writeDrizzleMigrations(mkdtempSync(join(root, 'migrations-')));
  try {
    writeFileSync(join(folder, '0001_accounts.sql'), 'CREATE TABLE t (id integer);\n--> statement-breakpoint\nINSERT INTO nowhere VALUES (1);');
    await assert.rejects(migrate(db, { migrationsFolder: folder }), /no such table: nowhere/);
    const tables = await db.all<{ name: string }>(sql`select name from sqlite_master where type = 'table' and name not like 'sqlite_%' and name not like '_litefs_forward%' order by name`);
    assert.deepEqual(tables, []);
    // A migration file without breakpoints holds several statements in one chunk.
    writeFileSync(join(folder, 'meta', '_journal.json'), JSON.stringify({ version: '7', dialect: 'sqlite', entries: [{ idx: 0, version: '6', when: 1, tag: 'plain', breakpoints: false }] }));
    writeFileSync(join(folder, 'plain.sql'), 'CREATE TABLE a (id integer);\nCREATE TABLE b (id integer);');
    await migrate(db, { migrationsFolder: folder, migrationsTable: 'my_migrations' });
    const names = (await db.all<{ name: string }>(sql`select name from sqlite_master where type = 'table' and name not like '_litefs_forward%' order by name`)).map((row) => row.name);
    assert.deepEqual(names, ['a', 'b', 'my_migrations']);
  } finally {
    await database.close();
  }
});

test("drizzle-orm/libsql/migrator's migrate() works too, through the client's migrate()", async () => {
  const { database, db } = await open();
  const folder = writeDrizzleMigrations(mkdtempSync(join(root, 'migrations-')));
  try {
    await libsqlMigrate(db, { migrationsFolder: folder });
    await libsqlMigrate(db, { migrationsFolder: folder });
    const applied = await db.all(sql`select hash from __drizzle_migrations`);
    assert.equal(applied.length, 2);
    await db.insert(users).values({ email: 'x@example.com', name: 'X' });
  } finally {
    await database.close();
  }
});

test('the libsql client: arguments, results, read-only modes', async () => {
  const { database, db } = await open();
  const client = db.$client;
  try {
    assert.equal(client.database, database);
    await client.executeMultiple('create table t (id integer primary key, flag, at, data blob, n)');
    const insert = await client.execute({ sql: 'insert into t (flag, at, data, n) values (?, ?, ?, ?)', args: [true, new Date(5), new Uint8Array([1, 2]).buffer, 1.5] });
    assert.equal(insert.rowsAffected, 1);
    assert.equal(insert.lastInsertRowid, 1n);
    // @libsql/client's named-argument prefixes are accepted.
    const result = await client.execute('select id, typeof(flag) as ft, flag, at, data, n from t where id = :id and n = @n and at = $at', { ':id': 1, '@n': 1.5, $at: 5 });
    assert.deepEqual(result.columns, ['id', 'ft', 'flag', 'at', 'data', 'n']);
    const row = result.rows[0]!;
    assert.deepEqual([row.id, row.ft, row.flag, row.at, row.n], [1, 'integer', 1, 5, 1.5]);
    assert.deepEqual([...(row.data as Uint8Array)], [1, 2]);
    assert.equal(row[1], 'integer');
    assert.equal(row.length, 6);
    assert.deepEqual(Object.keys(row), ['id', 'ft', 'flag', 'at', 'data', 'n']);
    assert.equal(result.lastInsertRowid, undefined);
    assert.deepEqual((result.toJSON() as { rows: unknown[] }).rows, [[1, 'integer', 1, 5, 'AQI=', 1.5]]);

    const [count] = await client.batch([['select count(*) as n from t'], 'select 1'], 'read');
    assert.equal(count!.rows[0]!.n, 1);
    await assert.rejects(client.batch(['insert into t (n) values (2)'], 'read'), { code: 'SQLITE_READONLY' });
    const readOnly = await client.transaction('read');
    assert.equal((await readOnly.execute('select count(*) as n from t')).rows[0]!.n, 1);
    await readOnly.commit();
    assert.equal(readOnly.closed, true);

    const tx = await client.transaction();
    await tx.batch(['insert into t (n) values (10)', { sql: 'insert into t (n) values (?)', args: [11] }]);
    await tx.executeMultiple('insert into t (n) values (12); insert into t (n) values (13);');
    await tx.rollback();
    await tx.rollback();
    assert.equal((await client.execute('select count(*) as n from t')).rows[0]!.n, 1);
    assert.deepEqual(await client.sync(), undefined);
  } finally {
    client.close();
    assert.equal(client.closed, true);
    await database.close();
  }
});

test('the drizzle logger and casing options are passed through', async () => {
  const path = join(root, 'logger.db');
  const database = await openDatabase({ driver: TEST_DRIVER, path, mode: 'local' });
  const logged: string[] = [];
  try {
    const db = drizzle(database, { logger: { logQuery: (query) => logged.push(query) } });
    await db.run(sql`create table t (id integer)`);
    assert.deepEqual(logged, ['create table t (id integer)']);
    assert.throws(() => drizzle('app.db' as never), { code: 'CONFIG_INVALID' });
  } finally {
    await database.close();
  }
});

test('named arguments in writes', async () => {
  const { database, db } = await open();
  try {
    await db.$client.execute('create table t (a, b)');
    await db.$client.execute({ sql: 'insert into t values (:a, @b)', args: { ':a': 1, '@b': 2 } });
    assert.deepEqual((await db.$client.execute('select a, b from t')).rows.map((row) => [row.a, row.b]), [[1, 2]]);
  } finally {
    await database.close();
  }
});
