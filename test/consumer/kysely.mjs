import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kysely, sql } from 'kysely';
import { openDatabase } from 'litefs-forward';
import { executeBatch, LiteFSDialect } from 'litefs-forward/kysely';

const database = await openDatabase({ path: join(mkdtempSync(join(tmpdir(), 'consumer-')), 'app.db'), mode: 'local' });
const db = new Kysely({ dialect: new LiteFSDialect({ database }) });
await sql`CREATE TABLE todos (id INTEGER PRIMARY KEY, title TEXT NOT NULL)`.execute(db);
await db.insertInto('todos').values({ title: 'a' }).execute();
const [, rows] = await executeBatch(db, [db.insertInto('todos').values({ title: 'b' }), db.selectFrom('todos').select('title').orderBy('id')]);
assert.deepEqual(rows.rows, [{ title: 'a' }, { title: 'b' }]);
await db.destroy();
console.log('kysely: ok');
