import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { openDatabase } from 'litefs-forward';
import { drizzle } from 'litefs-forward/drizzle';

const todos = sqliteTable('todos', { id: integer('id').primaryKey(), title: text('title').notNull() });
const database = await openDatabase({ path: join(mkdtempSync(join(tmpdir(), 'consumer-')), 'app.db'), mode: 'local' });
const db = drizzle(database, { schema: { todos } });
await db.run(sql`CREATE TABLE todos (id INTEGER PRIMARY KEY, title TEXT NOT NULL)`);
await db.transaction(async (tx) => {
  await tx.insert(todos).values({ title: 'a' });
});
assert.deepEqual(await db.select({ title: todos.title }).from(todos), [{ title: 'a' }]);
await database.close();
console.log('drizzle: ok');
