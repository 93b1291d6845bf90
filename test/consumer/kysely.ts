import { type Generated, Kysely } from 'kysely';
import { openDatabase } from 'litefs-forward';
import { type BatchResult, executeBatch, LiteFSDialect, type LiteFSDialectConfig } from 'litefs-forward/kysely';

interface Schema {
  todos: { id: Generated<number>; title: string };
}
const database = await openDatabase({ path: ':memory:', mode: 'local' });
const config: LiteFSDialectConfig = { database };
const dialect: LiteFSDialect = new LiteFSDialect(config);
const db = new Kysely<Schema>({ dialect });
const titles: string[] = (await db.selectFrom('todos').select('title').execute()).map((row) => row.title);
const results = await executeBatch(db, [db.insertInto('todos').values({ title: 'a' }), db.selectFrom('todos').selectAll()] as const);
const rows: { id: number; title: string }[] = results[1].rows;
const typed: BatchResult<readonly []> = [];
void [titles, rows, typed];
await db.destroy();
