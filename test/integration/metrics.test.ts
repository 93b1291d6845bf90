import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as client from 'prom-client';
import { createMetrics } from '../../src/metrics/index.js';
import { startInProcessPair } from '../support/fake-cluster.js';

test('Prometheus metrics count forwarded calls by outcome, for their own database only', async (t) => {
  const { primary, replica, close } = await startInProcessPair();
  const registry = new client.Registry();
  const metrics = createMetrics(client, replica, { registry });
  t.after(async () => {
    metrics.close();
    await close();
  });

  await primary.exec('CREATE TABLE t (v TEXT UNIQUE)');
  await replica.run('INSERT INTO t VALUES (?)', ['a']);
  await replica.batch([{ sql: 'INSERT INTO t VALUES (?)', params: ['b'] }]);
  await assert.rejects(replica.run('INSERT INTO t VALUES (?)', ['a']), { code: 'SQLITE_CONSTRAINT_UNIQUE' });
  await primary.run('INSERT INTO t VALUES (?)', ['local']);

  const text = await registry.metrics();
  assert.match(text, /litefs_forward_forwarded_total\{kind="query",outcome="ok"\} 1\n/);
  assert.match(text, /litefs_forward_forwarded_total\{kind="batch",outcome="ok"\} 1\n/);
  assert.match(text, /litefs_forward_forwarded_total\{kind="query",outcome="SQLITE_CONSTRAINT_UNIQUE"\} 1\n/);
  assert.match(text, /litefs_forward_forward_duration_seconds_count\{kind="query"\} 2\n/);
  assert.match(text, /litefs_forward_role\{role="replica"\} 1\n/);
  assert.match(text, /litefs_forward_role\{role="primary"\} 0\n/);
  assert.match(text, /litefs_forward_forward_in_flight 0\n/);
  assert.match(text, /litefs_forward_lineage_changes 0\n/);
  assert.match(text, /litefs_forward_resent_writes 0\n/);

  metrics.close();
  assert.equal(await registry.metrics(), '\n');
});
