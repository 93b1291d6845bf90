// Drizzle on litefs-forward: the same code runs on every node. Reads use the local copy; writes, batches and
// transactions run on the primary, forwarded when this node is a replica.
import { eq, sql } from 'drizzle-orm';
import { integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { drizzle } from '../../src/adapters/drizzle/index.js';
import { openDatabase } from '../../src/index.js';

const todos = sqliteTable('todos', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  title: text('title').notNull(),
  done: integer('done', { mode: 'boolean' }).notNull().default(false),
});

const database = await openDatabase({
  path: process.env.DATABASE_PATH ?? '/litefs/app.db',
  secret: process.env.LITEFS_FORWARD_SECRET,
  advertiseUrl: process.env.ADVERTISE_URL, // how other nodes reach this one, e.g. http://10.0.0.5:20203
});
const db = drizzle(database, { schema: { todos } });

// With drizzle-kit migrations, on every node at start-up: await migrate(db, { migrationsFolder: './drizzle' })
await db.run(sql`CREATE TABLE IF NOT EXISTS todos (id INTEGER PRIMARY KEY AUTOINCREMENT, title TEXT NOT NULL, done INTEGER NOT NULL DEFAULT false)`);

const todo = await db.transaction(async (tx) => {
  const [created] = await tx.insert(todos).values({ title: 'Ship it' }).returning();
  await tx.update(todos).set({ done: true }).where(eq(todos.title, 'Write docs'));
  return created;
});
const open = await db.query.todos.findMany({ where: eq(todos.done, false) });
console.log(todo, open);

await database.close();
