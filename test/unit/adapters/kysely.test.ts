import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, test } from 'node:test';
import { CamelCasePlugin, CompiledQuery, type Generated, Kysely, sql } from 'kysely';
import { executeBatch, LiteFSDialect } from '../../../src/adapters/kysely/index.js';
import { type LiteFSDatabase, openDatabase } from '../../../src/index.js';
import { type KyselyAppDatabase, loadKyselyMigrator, migrateKyselyApp, runKyselyScenario, transfer } from './kysely-app.js';
import { TEST_DRIVER } from '../../support/drivers.js';

const root = mkdtempSync(join(tmpdir(), 'litefs-forward-kysely-'));
after(() => rmSync(root, { recursive: true, force: true }));
let counter = 0;

async function open(): Promise<{ database: LiteFSDatabase; db: Kysely<KyselyAppDatabase>; path: string }> {
  const path = join(root, `app-${++counter}.db`);
  const database = await openDatabase({ driver: TEST_DRIVER, path, mode: 'local' });
  return { database, db: new Kysely<KyselyAppDatabase>({ dialect: new LiteFSDialect({ database }) }), path };
}

test('the application scenario passes, and again on the same database', async () => {
  const { db } = await open();
  try {
    await runKyselyScenario(db);
    await runKyselyScenario(db);
  } finally {
    await db.destroy();
  }
});

test('two concurrent read-then-write transactions do not interleave', async () => {
  const { db } = await open();
  try {
    await migrateKyselyApp(db);
    const { id } = await db.insertInto('kysely_users').values({ email: 'a@example.com', name: 'A' }).returning('id').executeTakeFirstOrThrow();
    await db
      .insertInto('kysely_accounts')
      .values([
        { id: 'from', owner_id: id, balance: 100 },
        { id: 'to', owner_id: id, balance: 0 },
      ])
      .execute();
    // Each reads 100 and, after a pause, spends 60: run together without isolation, both would succeed.
    const slowSpend = (): Promise<number> =>
      db.transaction().execute(async (trx) => {
        const { balance } = await trx.selectFrom('kysely_accounts').select('balance').where('id', '=', 'from').executeTakeFirstOrThrow();
        await sleep(30);
        if (balance < 60) throw new Error('insufficient funds');
        await trx.updateTable('kysely_accounts').set({ balance: balance - 60 }).where('id', '=', 'from').execute();
        return balance - 60;
      });
    const outcomes = await Promise.allSettled([slowSpend(), slowSpend()]);
    assert.deepEqual(outcomes.map((outcome) => outcome.status).sort(), ['fulfilled', 'rejected']);
    const { balance } = await db.selectFrom('kysely_accounts').select('balance').where('id', '=', 'from').executeTakeFirstOrThrow();
    assert.equal(balance, 40);

    // Many concurrent transfers: every one applies exactly once.
    await Promise.all(Array.from({ length: 20 }, () => transfer(db, 'from', 'to', 1)));
    const rows = await db.selectFrom('kysely_accounts').select(['id', 'balance']).orderBy('id').execute();
    assert.deepEqual(rows, [
      { id: 'from', balance: 20 },
      { id: 'to', balance: 20 },
    ]);
  } finally {
    await db.destroy();
  }
});

test("queries outside a transaction never join it, even while it is open", async () => {
  const { db } = await open();
  try {
    await migrateKyselyApp(db);
    const trx = await db.startTransaction().execute();
    await trx.insertInto('kysely_users').values({ email: 'inside@example.com', name: 'Inside' }).execute();
    // Not visible outside before commit.
    assert.equal(await db.selectFrom('kysely_users').select('id').where('email', '=', 'inside@example.com').executeTakeFirst(), undefined);
    // A write from elsewhere waits for the transaction instead of running inside it.
    let outsideDone = false;
    const outside = db
      .insertInto('kysely_users')
      .values({ email: 'outside@example.com', name: 'Outside' })
      .execute()
      .then(() => {
        outsideDone = true;
      });
    await sleep(30);
    assert.equal(outsideDone, false);
    await trx.rollback().execute();
    await outside;
    const emails = (await db.selectFrom('kysely_users').select('email').execute()).map((row) => row.email);
    assert.deepEqual(emails, ['outside@example.com']);
  } finally {
    await db.destroy();
  }
});

test('migrations started at once by two Kysely instances (two nodes) run exactly once', async () => {
  const { db, path } = await open();
  const other = await openDatabase({ driver: TEST_DRIVER, path, mode: 'local' });
  const db2 = new Kysely<KyselyAppDatabase>({ dialect: new LiteFSDialect({ database: other }) });
  try {
    const applied = await Promise.all([migrateKyselyApp(db), migrateKyselyApp(db2), migrateKyselyApp(db)]);
    assert.equal(
      applied.reduce((sum, n) => sum + n, 0),
      2,
    );
    const rows = await db.selectFrom('kysely_migration' as never).select(sql<string>`name`.as('name')).execute();
    assert.equal(rows.length, 2);
  } finally {
    await db.destroy();
    await db2.destroy();
  }
});

test('a failed migration leaves nothing behind', async () => {
  const { db } = await open();
  try {
    const Migrator = await loadKyselyMigrator();
    const migrator = new Migrator({
      db,
      provider: {
        getMigrations: async () => ({
          '001_ok': { up: async (trx) => void (await trx.schema.createTable('t1').addColumn('id', 'integer').execute()) },
          '002_bad': { up: async (trx) => void (await sql`insert into nowhere values (1)`.execute(trx)) },
        }),
      },
    });
    const { error } = await migrator.migrateToLatest();
    assert.match(String(error), /no such table: nowhere/);
    const tables = (await db.introspection.getTables()).map((table) => table.name);
    assert.equal(tables.includes('t1'), false);
  } finally {
    await db.destroy();
  }
});

test("Kysely's result conventions: insertId, numAffectedRows, raw statements", async () => {
  const { db } = await open();
  try {
    await sql`create table t (id integer primary key, v text)`.execute(db);
    const raw = await sql`insert into t (v) values (${'a'})`.execute(db);
    assert.equal(raw.numAffectedRows, 1n);
    assert.equal(raw.insertId, 1n);
    const untyped = db as unknown as Kysely<{ t: { id: Generated<number>; v: string } }>;
    const insert = await untyped.insertInto('t').values([{ v: 'b' }, { v: 'c' }]).executeTakeFirstOrThrow();
    assert.equal(insert.insertId, 3n);
    assert.equal(insert.numInsertedOrUpdatedRows, 2n);
    const ignored = await untyped.insertInto('t').orIgnore().values({ id: 1, v: 'dup' }).executeTakeFirstOrThrow();
    assert.equal(ignored.numInsertedOrUpdatedRows, 0n);
    assert.equal(ignored.insertId, undefined);
    const deleted = await untyped.deleteFrom('t').where('v', 'in', ['a', 'b']).executeTakeFirstOrThrow();
    assert.equal(deleted.numDeletedRows, 2n);
    const select = await db.executeQuery(CompiledQuery.raw('select id, v from t'));
    assert.deepEqual(select.rows, [{ id: 3, v: 'c' }]);
    assert.equal(select.numAffectedRows, undefined);
    // Transaction control belongs to db.transaction(): a bare SAVEPOINT is refused.
    await assert.rejects(sql`savepoint x`.execute(db), { code: 'STATEMENT_REFUSED' });
  } finally {
    await db.destroy();
  }
});

test('executeBatch runs inside a transaction when given one, and applies plugins', async () => {
  const { db, database } = await open();
  try {
    await database.exec('create table people (person_id integer primary key, full_name text not null)');
    const camel = new Kysely<{ people: { personId: Generated<number>; fullName: string } }>({ dialect: new LiteFSDialect({ database }), plugins: [new CamelCasePlugin()] });
    const [first, all] = await executeBatch(camel, [
      camel.insertInto('people').values({ fullName: 'Ada' }).returning(['personId', 'fullName']),
      camel.selectFrom('people').select('fullName'),
    ]);
    assert.deepEqual(first.rows, [{ personId: 1, fullName: 'Ada' }]);
    assert.deepEqual(all.rows, [{ fullName: 'Ada' }]);
    await assert.rejects(
      camel.transaction().execute(async (trx) => {
        const [inserted] = await executeBatch(trx, [trx.insertInto('people').values({ fullName: 'Grace' })]);
        assert.equal(inserted.numAffectedRows, 1n);
        // The batch ran in the transaction: the transaction sees it, and its rollback undoes it.
        assert.equal((await trx.selectFrom('people').selectAll().execute()).length, 2);
        throw new Error('undo');
      }),
      /undo/,
    );
    assert.equal((await camel.selectFrom('people').selectAll().execute()).length, 1);
    assert.deepEqual(await executeBatch(camel, []), []);
  } finally {
    await db.destroy();
  }
});

test('a lazy database is opened on first use and closed by destroy()', async () => {
  const path = join(root, 'lazy.db');
  const state: { opened?: LiteFSDatabase } = {};
  const db = new Kysely<{ t: { id: number } }>({
    dialect: new LiteFSDialect({
      database: async () => {
        state.opened = await openDatabase({ driver: TEST_DRIVER, path, mode: 'local' });
        return state.opened;
      },
    }),
  });
  assert.equal(state.opened, undefined);
  await sql`create table t (id integer)`.execute(db);
  const opened = state.opened as LiteFSDatabase | undefined;
  assert.ok(opened);
  await db.destroy();
  await assert.rejects(opened.query('select 1'), { code: 'CLOSED' });
});

test('destroy() rolls back a transaction left open', async () => {
  const { db, path } = await open();
  await migrateKyselyApp(db);
  const trx = await db.startTransaction().execute();
  await trx.insertInto('kysely_users').values({ email: 'left@example.com', name: 'Left' }).execute();
  await db.destroy();
  const check = await openDatabase({ driver: TEST_DRIVER, path, mode: 'local' });
  try {
    assert.deepEqual(await check.all('select email from kysely_users'), []);
  } finally {
    await check.close();
  }
});

test('the dialect checks its configuration', () => {
  assert.throws(() => new LiteFSDialect({ database: 'app.db' as never }), { code: 'CONFIG_INVALID', message: /`database`/ });
  assert.throws(() => new LiteFSDialect(undefined as never), { code: 'CONFIG_INVALID' });
});
