import { sql } from 'drizzle-orm';
import { integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { openDatabase } from 'litefs-forward';
import { drizzle, type LiteFSDrizzleDatabase, migrate } from 'litefs-forward/drizzle';

const todos = sqliteTable('todos', { id: integer('id').primaryKey(), title: text('title').notNull() });
const database = await openDatabase({ path: ':memory:', mode: 'local' });
const db: LiteFSDrizzleDatabase<{ todos: typeof todos }> = drizzle(database, { schema: { todos } });
await db.run(sql`CREATE TABLE todos (id INTEGER PRIMARY KEY, title TEXT NOT NULL)`);
const titles: string[] = (await db.select().from(todos)).map((row) => row.title);
const later: () => Promise<void> = () => migrate(db, { migrationsFolder: './drizzle' });
void [titles, later];
await database.close();
