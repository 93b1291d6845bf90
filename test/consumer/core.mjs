import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from 'litefs-forward';
import * as middleware from 'litefs-forward/middleware';
import * as metrics from 'litefs-forward/metrics';

assert.equal(typeof middleware.withConsistency, 'function');
// The metrics subpath takes prom-client as an argument, so it imports without it.
assert.equal(typeof metrics.createMetrics, 'function');
const db = await openDatabase({ path: join(mkdtempSync(join(tmpdir(), 'consumer-')), 'app.db'), mode: 'local' });
await db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
await db.run('INSERT INTO t (v) VALUES (?)', ['a']);
assert.deepEqual(await db.all('SELECT id, v FROM t'), [{ id: 1, v: 'a' }]);
await db.close();
console.log('core: ok');
