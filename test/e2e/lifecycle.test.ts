// Findings 15 to 19 of issue 9 on a real 3-node LiteFS + Consul cluster (TTL 10 s, lock-delay 1 s):
// - a forwarded write whose answer never comes fails with FORWARD_TIMEOUT carrying its idempotency key, and a
//   retry with that key applies it once;
// - an app opened while the cluster elects a new primary is ready at once and serves reads;
// - with the default rpcTimeout, writes in flight across a kill -9 failover all succeed, each applied once;
// - a LiteFS restart under a running app fails reads only with the retryable DATABASE_UNAVAILABLE, and
//   status() reads `.primary` again as soon as the event stream is back;
// - a replica reports the election as at most a few role changes, not one per LiteFS reconnect attempt.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { LiteFSDatabase, RoleChange } from '../../src/index.js';
import { Cluster, type ClusterNode, freePort } from '../harness/cluster.js';
import { waitFor } from '../harness/util.js';
import { appSpec, openOnNode, query } from './support/app.js';

describe('lifecycle on a real cluster', { timeout: 600_000 }, () => {
  let cluster: Cluster;
  let node2: ClusterNode;
  let node3: ClusterNode;

  before(async () => {
    cluster = await Cluster.start({ nodes: 3, lease: 'consul', dbName: 'app.db', app: (node) => appSpec(node) });
    [, node2, node3] = cluster.nodes as [ClusterNode, ClusterNode, ClusterNode];
  });
  after(async () => {
    await cluster?.close();
  });

  test('a LiteFS restart under the app (rollback journal): failed reads are DATABASE_UNAVAILABLE, and every signal is read again on reconnect', async () => {
    // In WAL mode SQLite maps `-shm` from the mount, and a LiteFS restart can end the reading process with SIGBUS
    // (seen once in CI, on Node 26): no library can catch that. A rollback-journal database maps nothing.
    const primary = await cluster.waitForPrimary({ timeoutMs: 10_000 });
    const restartDb = join(node2.mountDir, 'restart.db');
    const creator = await openOnNode(primary, { path: join(primary.mountDir, 'restart.db'), journalMode: 'delete' });
    try {
      await creator.exec('CREATE TABLE IF NOT EXISTS t (v INTEGER)');
    } finally {
      await creator.close();
    }
    const db: LiteFSDatabase = await openOnNode(node2, { path: restartDb, pollInterval: 600_000 });
    try {
      // Bytes 18 and 19 of a SQLite file are 2 in WAL mode, 1 with a rollback journal.
      assert.deepEqual([...readFileSync(restartDb).subarray(18, 20)], [1, 1], 'restart.db uses a rollback journal');
      await waitFor(() => db.role === 'replica', { timeoutMs: 10_000, description: 'node2 is a replica' });
      const failures: { code?: string; retryable?: boolean }[] = [];
      let reads = 0;
      let running = true;
      const loop = (async () => {
        while (running) {
          try {
            await db.get('SELECT 1 AS one');
            reads++;
          } catch (error) {
            failures.push(error as { code?: string; retryable?: boolean });
          }
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
      })();
      await node2.stopLiteFS();
      await node2.startLiteFS({ wait: 'connected', timeoutMs: 60_000 });
      const backAt = Date.now();
      await waitFor(async () => (await db.status()).signals.eventStream.state === 'connected', { timeoutMs: 10_000, description: 'the event stream is back' });
      await waitFor(async () => (await db.status()).signals.primaryFile.state === 'present', { timeoutMs: 3_000, description: '.primary is read again at once' });
      const readsBefore = reads;
      await waitFor(() => reads > readsBefore + 10, { timeoutMs: 10_000, description: 'reads succeed again' });
      running = false;
      await loop;
      console.log(`LiteFS restart: ${failures.length} failed reads; reads back ${Date.now() - backAt} ms after LiteFS`);
      for (const failure of failures) {
        assert.equal(failure.code, 'DATABASE_UNAVAILABLE', JSON.stringify(failure));
        assert.equal(failure.retryable, true);
      }
    } finally {
      await db.close();
    }
  });

  test('FORWARD_TIMEOUT carries the idempotency key, and a retry with that key applies the write exactly once', async () => {
    const primary = await cluster.waitForPrimary({ timeoutMs: 10_000 });
    const replica = primary === node2 ? node3 : node2;
    const db = await openOnNode(replica, { rpcTimeout: 2_000 });
    try {
      await db.exec('CREATE TABLE IF NOT EXISTS timeout_writes (k TEXT PRIMARY KEY)');
      const appPid = primary.appPid;
      assert.ok(appPid !== undefined, "the primary's app runs");
      // The primary's app stops answering; its kernel still accepts the request, so it may run once the app resumes.
      process.kill(appPid, 'SIGSTOP');
      let failure: { code?: string; idempotencyKey?: string; mayHaveBeenApplied?: boolean } | undefined;
      try {
        await db.run('INSERT INTO timeout_writes VALUES (?)', ['once']);
      } catch (error) {
        failure = error as typeof failure;
      } finally {
        process.kill(appPid, 'SIGCONT');
      }
      assert.equal(failure?.code, 'FORWARD_TIMEOUT', JSON.stringify(failure));
      assert.equal(typeof failure.idempotencyKey, 'string');
      assert.ok((failure.idempotencyKey ?? '').length > 0);
      assert.equal(failure.mayHaveBeenApplied, true);
      // The README's advice: retry with the key the error carries.
      const retried = await db.run('INSERT INTO timeout_writes VALUES (?)', ['once'], { idempotencyKey: failure.idempotencyKey, timeout: 20_000 });
      assert.equal(retried.changes, 1);
      await waitFor(() => query<{ n: number }>(primary, 'SELECT count(*) AS n FROM timeout_writes')[0]?.n === 1, {
        timeoutMs: 10_000,
        description: 'the row is on the primary',
      });
      assert.equal(query<{ n: number }>(primary, 'SELECT count(*) AS n FROM timeout_writes')[0]?.n, 1, 'applied exactly once');
    } finally {
      await db.close();
    }
  });

  test('with the default rpcTimeout, writes in flight during a kill -9 failover all succeed, once each', async () => {
    const port = await freePort();
    // node3 may win the election: give the instance an address it can serve from.
    const db = await openOnNode(node3, { advertiseUrl: `http://127.0.0.1:${port}`, listen: { host: '127.0.0.1', port } });
    const changes: RoleChange[] = [];
    db.onRoleChange((change) => changes.push(change));
    try {
      await db.exec('CREATE TABLE IF NOT EXISTS failover_writes (k TEXT PRIMARY KEY)');
      const primary = await cluster.waitForPrimary({ timeoutMs: 10_000 });
      const writes: Promise<unknown>[] = [];
      // Writes keep starting for 25 s around the kill; none passes `timeout`: the defaults must be enough.
      const startedAt = Date.now();
      let i = 0;
      const killed = (async () => {
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        await primary.kill();
        // Finding 17: an app started while the dead primary still holds the lease is ready at once and serves reads.
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        const coldNode = node2 === primary ? node3 : node2;
        const openedAt = Date.now();
        const cold = await openOnNode(coldNode);
        try {
          const openMs = Date.now() - openedAt;
          const row = await cold.get<{ n: number }>('SELECT count(*) AS n FROM failover_writes', [], { timeout: 2_000 });
          console.log(`cold start during the election: open ${openMs} ms, role ${cold.role}, read ${Date.now() - openedAt} ms`);
          return { openMs, rows: row?.n };
        } finally {
          await cold.close();
        }
      })();
      while (Date.now() - startedAt < 25_000) {
        const key = `w${i++}`;
        writes.push(db.run('INSERT INTO failover_writes VALUES (?)', [key]).then(() => key));
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const coldStart = await killed;
      assert.ok(coldStart.openMs < 2_500, `openDatabase() during the election took ${coldStart.openMs} ms`);
      assert.equal(typeof coldStart.rows, 'number', 'the cold-started app served a read');
      const outcomes = await Promise.allSettled(writes);
      const failed = outcomes.filter((outcome) => outcome.status === 'rejected');
      assert.deepEqual(
        failed.map((outcome) => String((outcome as PromiseRejectedResult).reason?.code ?? (outcome as PromiseRejectedResult).reason)),
        [],
        `${failed.length} of ${writes.length} writes failed with the defaults`,
      );
      const next = await cluster.waitForPrimary({ exclude: primary, timeoutMs: 60_000 });
      await waitFor(() => query<{ n: number }>(next, 'SELECT count(*) AS n FROM failover_writes')[0]?.n === writes.length, {
        timeoutMs: 30_000,
        description: 'every acknowledged write is on the new primary',
      });
      // Finding 19: the election is a handful of changes (to the new primary), not one per LiteFS reconnect.
      assert.ok(changes.length <= 3, `role changes during the failover: ${JSON.stringify(changes.map((c) => [c.to, c.primary]))}`);
      await primary.start({ wait: 'connected', timeoutMs: 60_000 }).catch(() => {});
    } finally {
      await db.close();
    }
  });
});
