// A project with no better-sqlite3 at all, on Node 24 or later: litefs-forward on node:sqlite, with Kysely.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kysely, sql } from 'kysely';
import { openDatabase, SqliteError } from 'litefs-forward';
import { LiteFSDialect } from 'litefs-forward/kysely';

assert.equal(existsSync('node_modules/better-sqlite3'), false, 'better-sqlite3 got installed');
const dir = mkdtempSync(join(tmpdir(), 'consumer-'));

// The default driver names what is missing and the way out.
await assert.rejects(openDatabase({ path: join(dir, 'default.db'), mode: 'local' }), (error) => {
  assert.equal(error.code, 'ERR_MODULE_NOT_FOUND');
  assert.equal(error.packageName, 'better-sqlite3');
  assert.match(error.message, /npm install better-sqlite3/);
  assert.match(error.message, /driver: 'node:sqlite'/);
  return true;
});

const database = await openDatabase({ path: join(dir, 'app.db'), mode: 'local', driver: 'node:sqlite' });
await database.exec('CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, data BLOB)');
await database.run('INSERT INTO items (name, data) VALUES (?, ?)', ['a', Buffer.from([1, 2])]);
assert.deepEqual(await database.all('SELECT id, name, data FROM items'), [{ id: 1, name: 'a', data: Buffer.from([1, 2]) }]);
await assert.rejects(database.run('INSERT INTO items (name) VALUES (?)', ['a']), (error) => {
  assert.ok(error instanceof SqliteError);
  assert.equal(error.code, 'SQLITE_CONSTRAINT_UNIQUE');
  assert.equal(error.errcode, 2067);
  return true;
});
await assert.rejects(database.run('INSERT INTO items (name) VALUES (?)', []), { name: 'RangeError', message: 'Too few parameter values were provided' });

const db = new Kysely({ dialect: new LiteFSDialect({ database }) });
await db.insertInto('items').values({ name: 'b' }).execute();
assert.deepEqual(await db.selectFrom('items').select('name').orderBy('id').execute(), [{ name: 'a' }, { name: 'b' }]);
assert.equal((await sql`SELECT count(*) AS n FROM items`.execute(db)).rows[0].n, 2);
await db.destroy();
console.log(`node-sqlite: ok on Node ${process.version}, without better-sqlite3`);
