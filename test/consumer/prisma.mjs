import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from 'litefs-forward';
import { PrismaLiteFS } from 'litefs-forward/prisma';

const database = await openDatabase({ path: join(mkdtempSync(join(tmpdir(), 'consumer-')), 'app.db'), mode: 'local' });
const adapter = await new PrismaLiteFS(database).connect();
const result = await adapter.queryRaw({ sql: 'SELECT 41 + 1 AS answer', args: [], argTypes: [] });
assert.deepEqual(result.columnNames, ['answer']);
assert.equal(Number(result.rows[0][0]), 42);
await adapter.dispose();
await database.close();
console.log('prisma: ok');
