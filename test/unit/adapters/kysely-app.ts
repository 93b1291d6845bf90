// Application code written the way a Kysely user writes it. The unit tests run it on a local database; an
// end-to-end test runs the same function on a replica of a real LiteFS cluster.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { type Generated, type Kysely, sql } from 'kysely';
import { executeBatch } from '../../../src/adapters/kysely/index.js';

export interface KyselyAppDatabase {
  kysely_users: { id: Generated<number>; email: string; name: string };
  kysely_accounts: { id: string; owner_id: number; balance: number };
}

// Kysely's migrator is in 'kysely' up to 0.28 and only in 'kysely/migration' from 0.29; both lines are tested, so
// the tests load it from wherever the installed Kysely has it, typed by the part they use.
// biome-ignore lint/suspicious/noExplicitAny: a migration runs on any schema, as Kysely's own Migration type says.
export type Migration = { up(db: Kysely<any>): Promise<void>; down?(db: Kysely<any>): Promise<void> };
export interface KyselyMigrator {
  migrateToLatest(): Promise<{ error?: unknown; results?: readonly { migrationName: string; status: string }[] }>;
}
// biome-ignore lint/suspicious/noExplicitAny: as above.
type MigratorConstructor = new (props: { db: Kysely<any>; provider: { getMigrations(): Promise<Record<string, Migration>> } }) => KyselyMigrator;

export async function loadKyselyMigrator(): Promise<MigratorConstructor> {
  const migration: string = 'kysely/migration';
  const module = (await import(migration).catch(() => import('kysely'))) as { Migrator: MigratorConstructor };
  return module.Migrator;
}

export const kyselyMigrations: Record<string, Migration> = {
  '2024_01_01_users': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('kysely_users')
        .addColumn('id', 'integer', (col) => col.primaryKey().autoIncrement())
        .addColumn('email', 'text', (col) => col.notNull().unique())
        .addColumn('name', 'text', (col) => col.notNull())
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('kysely_users').execute();
    },
  },
  '2024_01_02_accounts': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('kysely_accounts')
        .addColumn('id', 'text', (col) => col.primaryKey())
        .addColumn('owner_id', 'integer', (col) => col.notNull().references('kysely_users.id'))
        .addColumn('balance', 'integer', (col) => col.notNull().check(sql`balance >= 0`))
        .execute();
      await db.schema.createIndex('kysely_accounts_owner').on('kysely_accounts').column('owner_id').execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('kysely_accounts').execute();
    },
  },
};

/** Kysely's Migrator, as an app runs it at start-up; safe to run on every node at once. */
export async function migrateKyselyApp(db: Kysely<KyselyAppDatabase>): Promise<number> {
  const Migrator = await loadKyselyMigrator();
  const migrator = new Migrator({ db, provider: { getMigrations: async () => kyselyMigrations } });
  const { error, results } = await migrator.migrateToLatest();
  if (error !== undefined) throw error;
  for (const result of results ?? []) assert.equal(result.status, 'Success', `migration ${result.migrationName}`);
  return results?.length ?? 0;
}

/** Moves money between accounts: reads the balance, then writes based on it. */
export function transfer(db: Kysely<KyselyAppDatabase>, from: string, to: string, amount: number): Promise<number> {
  return db.transaction().execute(async (trx) => {
    const { balance } = await trx.selectFrom('kysely_accounts').select('balance').where('id', '=', from).executeTakeFirstOrThrow();
    if (balance < amount) throw new Error(`insufficient funds in ${from}`);
    await trx.updateTable('kysely_accounts').set({ balance: balance - amount }).where('id', '=', from).execute();
    await trx
      .updateTable('kysely_accounts')
      .set((eb) => ({ balance: eb('balance', '+', amount) }))
      .where('id', '=', to)
      .execute();
    return balance - amount;
  });
}

const isUniqueViolation = (error: unknown): boolean => (error as { code?: unknown }).code === 'SQLITE_CONSTRAINT_UNIQUE';

/** Every kind of query an application makes, each checked. Safe to run repeatedly on the same database. */
export async function runKyselyScenario(db: Kysely<KyselyAppDatabase>): Promise<void> {
  // Migrations: the first run applies them, any later one finds nothing to do.
  await migrateKyselyApp(db);
  assert.equal(await migrateKyselyApp(db), 0);
  const tables = (await db.introspection.getTables()).map((table) => table.name);
  assert.ok(tables.includes('kysely_users') && tables.includes('kysely_accounts'));

  const tag = randomUUID().slice(0, 8);
  const email = (name: string): string => `${name}-${tag}@example.com`;
  const userByEmail = (address: string) => db.selectFrom('kysely_users').selectAll().where('email', '=', address).executeTakeFirst();

  // Insert with RETURNING, and without: Kysely's insertId and numInsertedOrUpdatedRows, as bigint.
  const ada = await db.insertInto('kysely_users').values({ email: email('ada'), name: 'Ada' }).returning(['id', 'email', 'name']).executeTakeFirstOrThrow();
  assert.equal(typeof ada.id, 'number');
  assert.deepEqual({ email: ada.email, name: ada.name }, { email: email('ada'), name: 'Ada' });
  const inserted = await db.insertInto('kysely_users').values({ email: email('grace'), name: 'Grace' }).executeTakeFirstOrThrow();
  assert.equal(inserted.numInsertedOrUpdatedRows, 1n);
  assert.equal(typeof inserted.insertId, 'bigint');
  const grace = await userByEmail(email('grace'));
  assert.equal(BigInt(grace!.id), inserted.insertId);

  // Update, with and without RETURNING.
  const updated = await db.updateTable('kysely_users').set({ name: 'Ada Lovelace' }).where('id', '=', ada.id).executeTakeFirstOrThrow();
  assert.equal(updated.numUpdatedRows, 1n);
  assert.equal((await userByEmail(email('ada')))?.name, 'Ada Lovelace');
  const renamed = await db.updateTable('kysely_users').set({ name: 'Grace Hopper' }).where('id', '=', grace!.id).returning('name').execute();
  assert.deepEqual(renamed, [{ name: 'Grace Hopper' }]);

  // A unique violation surfaces as SQLite's own error.
  await assert.rejects(db.insertInto('kysely_users').values({ email: email('ada'), name: 'Again' }).execute(), isUniqueViolation);

  // A transaction that reads, then writes based on what it read.
  const adaAccount = `ada-${tag}`;
  const graceAccount = `grace-${tag}`;
  await db
    .insertInto('kysely_accounts')
    .values([
      { id: adaAccount, owner_id: ada.id, balance: 100 },
      { id: graceAccount, owner_id: grace!.id, balance: 0 },
    ])
    .execute();
  assert.equal(await transfer(db, adaAccount, graceAccount, 30), 70);
  const balances = async (): Promise<number[]> => {
    const rows = await db.selectFrom('kysely_accounts').select(['id', 'balance']).where('id', 'in', [adaAccount, graceAccount]).orderBy('id').execute();
    return rows.map((row) => row.balance);
  };
  assert.deepEqual(await balances(), [70, 30]);
  await assert.rejects(transfer(db, graceAccount, adaAccount, 1000), /insufficient funds/);
  assert.deepEqual(await balances(), [70, 30]);

  // A transaction that throws leaves nothing behind.
  await assert.rejects(
    db.transaction().execute(async (trx) => {
      await trx.insertInto('kysely_users').values({ email: email('ghost'), name: 'Ghost' }).execute();
      await trx.updateTable('kysely_accounts').set({ balance: 0 }).where('id', '=', adaAccount).execute();
      throw new Error('boom');
    }),
    /boom/,
  );
  assert.equal(await userByEmail(email('ghost')), undefined);
  assert.deepEqual(await balances(), [70, 30]);

  // A batch: atomic, one round trip, typed results.
  const [alan, moved, count] = await executeBatch(db, [
    db.insertInto('kysely_users').values({ email: email('alan'), name: 'Alan' }).returning(['id', 'name']),
    db.updateTable('kysely_accounts').set({ balance: 75 }).where('id', '=', adaAccount),
    db.selectFrom('kysely_users').select((eb) => eb.fn.countAll<number>().as('n')).where('email', 'like', `%-${tag}@example.com`),
  ]);
  assert.equal(alan.rows[0]?.name, 'Alan');
  assert.equal(moved.numAffectedRows, 1n);
  assert.equal(count.rows[0]?.n, 3);
  await assert.rejects(
    executeBatch(db, [
      db.insertInto('kysely_users').values({ email: email('batch'), name: 'Batch' }),
      db.insertInto('kysely_users').values({ email: email('ada'), name: 'Duplicate' }),
    ]),
    isUniqueViolation,
  );
  assert.equal(await userByEmail(email('batch')), undefined);

  // A controlled transaction with savepoints: the rolled-back part is gone, the rest commits.
  const trx = await db.startTransaction().execute();
  try {
    await trx.insertInto('kysely_users').values({ email: email('kept'), name: 'Kept' }).execute();
    const inner = await trx.savepoint('before_drop').execute();
    await inner.insertInto('kysely_users').values({ email: email('dropped'), name: 'Dropped' }).execute();
    const afterRollback = await inner.rollbackToSavepoint('before_drop').execute();
    const again = await afterRollback.savepoint('second').execute();
    await again.updateTable('kysely_users').set({ name: 'Kept!' }).where('email', '=', email('kept')).execute();
    await again.releaseSavepoint('second').execute();
    await trx.commit().execute();
  } catch (error) {
    await trx.rollback().execute();
    throw error;
  }
  assert.equal((await userByEmail(email('kept')))?.name, 'Kept!');
  assert.equal(await userByEmail(email('dropped')), undefined);

  // A read-only transaction runs locally and cannot write.
  const seen = await db
    .transaction()
    .setAccessMode('read only')
    .execute(async (trx) => {
      const row = await trx.selectFrom('kysely_accounts').select('balance').where('id', '=', adaAccount).executeTakeFirstOrThrow();
      await assert.rejects(trx.updateTable('kysely_accounts').set({ balance: 0 }).where('id', '=', adaAccount).execute());
      return row.balance;
    });
  assert.equal(seen, 75);

  // Raw SQL, a join, and streaming.
  const raw = await sql<{ n: number }>`select count(*) as n from kysely_users where email like ${`%-${tag}@example.com`}`.execute(db);
  assert.deepEqual(raw.rows, [{ n: 4 }]);
  const joined = await db
    .selectFrom('kysely_accounts')
    .innerJoin('kysely_users', 'kysely_users.id', 'kysely_accounts.owner_id')
    .select(['kysely_users.name', 'kysely_accounts.balance'])
    .where('kysely_accounts.id', '=', graceAccount)
    .executeTakeFirstOrThrow();
  assert.deepEqual(joined, { name: 'Grace Hopper', balance: 30 });
  const streamed: string[] = [];
  for await (const row of db.selectFrom('kysely_users').select('name').where('email', 'like', `%-${tag}@example.com`).orderBy('id').stream()) streamed.push(row.name);
  assert.deepEqual(streamed, ['Ada Lovelace', 'Grace Hopper', 'Alan', 'Kept!']);

  // Delete with RETURNING.
  const deleted = await db.deleteFrom('kysely_users').where('email', '=', email('kept')).returning('name').execute();
  assert.deepEqual(deleted, [{ name: 'Kept!' }]);
}
