import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from 'litefs-forward';
import { createMetrics } from 'litefs-forward/metrics';
import * as client from 'prom-client';

const database = await openDatabase({ path: join(mkdtempSync(join(tmpdir(), 'consumer-')), 'app.db'), mode: 'local' });
const registry = new client.Registry();
const metrics = createMetrics(client, database, { registry });
assert.match(await registry.metrics(), /litefs_forward_forwarded_total/);
metrics.close();
await database.close();
console.log('metrics: ok');
