import { type Generated, type InsertResult, Kysely, type QueryResult, sql } from 'kysely';
import { executeBatch, LiteFSDialect } from '../../src/adapters/kysely/index.js';
import type { LiteFSDatabase } from '../../src/index.js';
import { type Equal, expectType } from './expect.js';

interface Database {
  person: { id: Generated<number>; name: string; email: string | null };
  pet: { id: Generated<number>; owner_id: number; species: 'cat' | 'dog' };
}

export async function kyselyTypes(database: LiteFSDatabase): Promise<void> {
  const db = new Kysely<Database>({ dialect: new LiteFSDialect({ database }) });
  new LiteFSDialect({ database: async () => database });
  // @ts-expect-error a path is not a database
  new LiteFSDialect({ database: '/litefs/app.db' });
  // @ts-expect-error `database` is required
  new LiteFSDialect({});

  const people = await db.selectFrom('person').select(['id', 'name']).execute();
  expectType<Equal<typeof people, { id: number; name: string }[]>>();
  // @ts-expect-error no such column
  await db.selectFrom('person').select('age').execute();
  // @ts-expect-error no such table
  await db.selectFrom('people').selectAll().execute();

  const inserted = await db.insertInto('person').values({ name: 'Ada', email: null }).returning(['id', 'email']).executeTakeFirstOrThrow();
  expectType<Equal<typeof inserted, { id: number; email: string | null }>>();
  const result = await db.insertInto('person').values({ name: 'Ada', email: null }).executeTakeFirstOrThrow();
  expectType<Equal<typeof result, InsertResult>>();
  expectType<Equal<typeof result.insertId, bigint | undefined>>();
  // @ts-expect-error `name` is required
  await db.insertInto('person').values({ email: null }).execute();
  // @ts-expect-error not a species
  await db.insertInto('pet').values({ owner_id: 1, species: 'fish' }).execute();

  const total = await db.transaction().execute(async (trx) => {
    const row = await trx.selectFrom('pet').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return row.n;
  });
  expectType<Equal<typeof total, number>>();
  const trx = await db.startTransaction().setAccessMode('read only').execute();
  const species = await trx.selectFrom('pet').select('species').execute();
  expectType<Equal<typeof species, { species: 'cat' | 'dog' }[]>>();
  await trx.commit().execute();

  const raw = await sql<{ n: number }>`select 1 as n`.execute(db);
  expectType<Equal<typeof raw.rows, { n: number }[]>>();

  const [batchInsert, batchUpdate, batchSelect] = await executeBatch(db, [
    db.insertInto('person').values({ name: 'Ada', email: null }).returning('id'),
    db.updateTable('person').set({ email: 'ada@example.com' }).where('id', '=', 1),
    db.selectFrom('pet').selectAll(),
  ]);
  expectType<Equal<typeof batchInsert, QueryResult<{ id: number }>>>();
  expectType<Equal<typeof batchUpdate, QueryResult<never>>>();
  expectType<Equal<typeof batchSelect, QueryResult<{ id: number; owner_id: number; species: 'cat' | 'dog' }>>>();
  // @ts-expect-error a batch takes queries, not SQL strings
  await executeBatch(db, ['select 1']);
}
