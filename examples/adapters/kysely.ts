// Kysely on litefs-forward: the same code runs on every node. Reads use the local copy; writes and
// transactions run on the primary, forwarded when this node is a replica.
import { type Generated, Kysely } from 'kysely';
import { LiteFSDialect } from '../../src/adapters/kysely/index.js';
import { openDatabase } from '../../src/index.js';

interface Database {
  todos: { id: Generated<number>; title: string; done: Generated<number> };
}

const database = await openDatabase({
  path: process.env.DATABASE_PATH ?? '/litefs/app.db',
  secret: process.env.LITEFS_FORWARD_SECRET,
  advertiseUrl: process.env.ADVERTISE_URL, // how other nodes reach this one, e.g. http://10.0.0.5:20203
});
const db = new Kysely<Database>({ dialect: new LiteFSDialect({ database }) });

await db.schema
  .createTable('todos')
  .ifNotExists()
  .addColumn('id', 'integer', (col) => col.primaryKey().autoIncrement())
  .addColumn('title', 'text', (col) => col.notNull())
  .addColumn('done', 'integer', (col) => col.notNull().defaultTo(0))
  .execute();

const todo = await db.transaction().execute(async (trx) => {
  const created = await trx.insertInto('todos').values({ title: 'Ship it' }).returning(['id', 'title']).executeTakeFirstOrThrow();
  await trx.updateTable('todos').set({ done: 1 }).where('id', '<', created.id).execute();
  return created;
});
const open = await db.selectFrom('todos').selectAll().where('done', '=', 0).execute();
console.log(todo, open);

await db.destroy(); // closes the database too
