import { relations, sql } from 'drizzle-orm';
import type { BatchItem } from 'drizzle-orm/batch';
import type { LibSQLDatabase } from 'drizzle-orm/libsql/driver-core';
import { integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { drizzle, type LiteFSDrizzleDatabase, type LiteFSResultSet, migrate } from '../../src/adapters/drizzle/index.js';
import type { LiteFSDatabase } from '../../src/index.js';
import { type Equal, expectType } from './expect.js';

const users = sqliteTable('users', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  name: text('name').notNull(),
  bio: text('bio'),
  active: integer('active', { mode: 'boolean' }).notNull(),
});
const posts = sqliteTable('posts', {
  id: integer('id').primaryKey(),
  authorId: integer('author_id').notNull(),
  title: text('title').notNull(),
});
const usersRelations = relations(users, ({ many }) => ({ posts: many(posts) }));
const postsRelations = relations(posts, ({ one }) => ({ author: one(users, { fields: [posts.authorId], references: [users.id] }) }));
const schema = { users, posts, usersRelations, postsRelations };

export async function drizzleTypes(database: LiteFSDatabase): Promise<void> {
  const db = drizzle(database, { schema });
  expectType<Equal<typeof db, LiteFSDrizzleDatabase<typeof schema>>>();
  // It is a libsql Drizzle database: code typed for drizzle-orm/libsql accepts it.
  const asLibSQL: LibSQLDatabase<typeof schema> = db;
  void asLibSQL;
  // @ts-expect-error a path is not a database
  drizzle('/litefs/app.db');

  const rows = await db.select({ id: users.id, name: users.name, active: users.active }).from(users);
  expectType<Equal<typeof rows, { id: number; name: string; active: boolean }[]>>();
  const [created] = await db.insert(users).values({ name: 'Ada', active: true }).returning();
  expectType<Equal<typeof created, { id: number; name: string; bio: string | null; active: boolean } | undefined>>();
  // @ts-expect-error `active` is required
  await db.insert(users).values({ name: 'Ada' });
  const run = await db.update(users).set({ bio: null });
  expectType<Equal<typeof run, LiteFSResultSet>>();
  expectType<Equal<typeof run.lastInsertRowid, bigint | undefined>>();

  const withPosts = await db.query.users.findMany({ with: { posts: { columns: { title: true } } } });
  expectType<Equal<(typeof withPosts)[number]['posts'], { title: string }[]>>();
  const post = await db.query.posts.findFirst({ with: { author: true } });
  expectType<Equal<NonNullable<typeof post>['author']['name'], string>>();
  // @ts-expect-error no such table in the schema
  db.query.comments;

  const count = await db.transaction(async (tx) => {
    const nested = await tx.transaction(async (inner) => inner.select({ id: posts.id }).from(posts));
    expectType<Equal<typeof nested, { id: number }[]>>();
    return nested.length;
  });
  expectType<Equal<typeof count, number>>();

  const [inserted, updated, found] = await db.batch([
    db.insert(posts).values({ authorId: 1, title: 'Hello' }).returning({ id: posts.id }),
    db.update(posts).set({ title: 'Hi' }),
    db.query.users.findFirst({ columns: { name: true } }),
  ]);
  expectType<Equal<typeof inserted, { id: number }[]>>();
  expectType<Equal<typeof updated, LiteFSResultSet>>();
  expectType<Equal<typeof found, { name: string } | undefined>>();
  const items: BatchItem<'sqlite'>[] = [db.run(sql`select 1`)];
  void items;

  await migrate(db, { migrationsFolder: './drizzle' });
  // @ts-expect-error the migrations folder is required
  await migrate(db, {});

  const plain = drizzle(database);
  expectType<Equal<typeof plain, LiteFSDrizzleDatabase<Record<string, never>>>>();
  await plain.select().from(users);
}
