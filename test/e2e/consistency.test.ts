// Read-your-writes and exactly-once forwarding on a real LiteFS + Consul cluster, through the example app.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { Cluster, type ClusterNode } from '../harness/cluster.js';
import { waitFor } from '../harness/util.js';
import { appSpec, http, query } from './support/app.js';

describe('read-your-writes and exactly-once on a real cluster', { timeout: 600_000 }, () => {
  let cluster: Cluster;
  let node1: ClusterNode;
  let node2: ClusterNode;
  let node3: ClusterNode;

  before(async () => {
    cluster = await Cluster.start({ nodes: 3, lease: 'consul', dbName: 'app.db', app: (node) => appSpec(node) });
    [node1, node2, node3] = cluster.nodes as [ClusterNode, ClusterNode, ClusterNode];
  });
  after(async () => {
    await cluster?.close();
  });

  test('a read on a replica right after its forwarded write sees the row, 1 000 times out of 1 000', async () => {
    let misses = 0;
    for (let i = 0; i < 1_000; i++) {
      const replica = i % 2 === 0 ? node2 : node3;
      const created = await http(`${replica.appUrl}/items`, 'POST', { name: `ryw-${i}` });
      assert.equal(created.status, 201);
      const read = await http(`${replica.appUrl}/items/${created.json.id}`);
      if (read.status !== 200) misses++;
    }
    assert.equal(misses, 0);
    // Every acknowledgement was verified by TXID and checksum: none was sent again, and no lineage change was seen.
    for (const replica of [node2, node3]) {
      const { json } = await http(`${replica.appUrl}/status`);
      assert.equal(json.forwarding.resent, 0, `${replica.name} sent a write again`);
      assert.equal(json.lineageChanges, 0, `${replica.name} saw a lineage change`);
      assert.match(json.checksum, /^[0-9a-f]{16}$/);
    }
  });

  test('the __txid cookie: a POST on one replica, then a GET on the other, sees the write', async () => {
    for (let i = 0; i < 50; i++) {
      const created = await http(`${node2.appUrl}/items`, 'POST', { name: `cookie-${i}` });
      const cookie = created.headers.get('set-cookie');
      assert.match(cookie ?? '', /^__txid=[0-9a-f]{16}\.[0-9a-f]{16};/);
      const read = await http(`${node3.appUrl}/items/${created.json.id}`, 'GET', undefined, { cookie: cookie!.split(';')[0]! });
      assert.equal(read.status, 200, `item ${created.json.id} was not visible on node3`);
    }
  });

  test('2 000 writes from two replicas with read-your-writes, the primary killed with kill -9 partway: none lost, none doubled', async () => {
    const total = 2_000;
    const concurrency = 32;
    const keys = Array.from({ length: total }, (_, i) => ({ name: `eo-${i}`, key: randomUUID(), via: i % 2 === 0 ? node2 : node3 }));
    const acknowledged = new Set<string>();
    const attempts = { failed: 0 };
    let next = 0;
    let killed = false;
    const deadline = Date.now() + 240_000;

    async function writer(): Promise<void> {
      for (;;) {
        const job = keys[next++];
        if (job === undefined) return;
        // A caller that does not get an answer retries with the same idempotency key until it does.
        for (;;) {
          const response = await http(`${job.via.appUrl}/items`, 'POST', { name: job.name }, { 'idempotency-key': job.key }).catch(() => undefined);
          if (response?.status === 201) {
            acknowledged.add(job.name);
            break;
          }
          attempts.failed++;
          if (Date.now() > deadline) return;
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
        if (!killed && acknowledged.size >= total / 3) {
          killed = true;
          console.log(`# killing the primary (node1) after ${acknowledged.size} acknowledged writes`);
          void node1.kill();
        }
      }
    }
    await Promise.all(Array.from({ length: concurrency }, writer));
    assert.ok(killed, 'the primary was killed during the run');

    // Bring the old primary back as a replica. It may hold a commit the others never received; LiteFS replaces
    // its copy with the new primary's, so "caught up" means the same replication position (TXID and checksum).
    await node1.start({ wait: 'connected' });
    const newPrimary = await cluster.waitForPrimary({ timeoutMs: 60_000 });
    const position = (node: ClusterNode): string => readFileSync(`${node.dbPath}-pos`, 'latin1').trim();
    for (const node of cluster.nodes) {
      await waitFor(() => position(node) === position(newPrimary), { timeoutMs: 60_000, description: `${node.name} reaches the primary's position` });
    }
    const failures: string[] = [];
    for (const node of cluster.nodes) {
      const counts = new Map(query<{ name: string; n: number }>(node, "SELECT name, count(*) AS n FROM items WHERE name LIKE 'eo-%' GROUP BY name").map((row) => [row.name, row.n]));
      const present = [...acknowledged].filter((name) => counts.has(name)).length;
      const duplicated = [...counts.values()].filter((n) => n > 1).length;
      const lost = [...acknowledged].filter((name) => !counts.has(name));
      console.log(`# ${node.name}: acknowledged ${acknowledged.size}, present ${present}, duplicated ${duplicated}, lost ${lost.length} (failed attempts retried: ${attempts.failed})`);
      if (duplicated > 0) failures.push(`${node.name} has ${duplicated} duplicated writes`);
      if (lost.length > 0) failures.push(`${node.name} lost acknowledged writes: ${lost.slice(0, 5).join(', ')}`);
    }
    assert.deepEqual(failures, []);
    assert.equal(acknowledged.size, total, 'every write was eventually acknowledged');
  });
});
