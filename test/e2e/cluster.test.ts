// The end-to-end suite: the example app on a real 3-node LiteFS cluster with a Consul lease. Every check reads
// the data back from SQLite on each node.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { Cluster, type ClusterNode, freePort } from '../harness/cluster.js';
import { waitFor } from '../harness/util.js';
import { appSpec, http, names, query } from './support/app.js';

describe('litefs-forward on a real LiteFS + Consul cluster', { timeout: 600_000 }, () => {
  let cluster: Cluster;
  let node1: ClusterNode;
  let node2: ClusterNode;
  let node3: ClusterNode;
  const written: string[] = [];

  before(async () => {
    cluster = await Cluster.start({ nodes: 3, lease: 'consul', dbName: 'app.db', app: (node) => appSpec(node) });
    [node1, node2, node3] = cluster.nodes as [ClusterNode, ClusterNode, ClusterNode];
  });
  after(async () => {
    await cluster?.close();
  });

  test('cluster status: exactly one primary, and every node agrees which', async () => {
    const statuses = await Promise.all(cluster.nodes.map(async (node) => (await http(`${node.appUrl}/status`)).json));
    assert.deepEqual(
      statuses.map((status) => status.role),
      ['primary', 'replica', 'replica'],
    );
    for (const status of statuses) assert.equal(status.primary.hostname, 'node1');
    assert.equal(statuses[1].signals.eventStream.state, 'connected');
    assert.equal(statuses[1].signals.trackingTable.state, 'ok');
  });

  test('a write on the primary replicates to the replicas', async () => {
    const { status, json } = await http(`${node1.appUrl}/items`, 'POST', { name: 'on-primary' });
    assert.equal(status, 201);
    assert.equal(json.node, 'node1');
    written.push('on-primary');
    for (const node of [node2, node3]) {
      await waitFor(() => names(node).includes('on-primary'), { timeoutMs: 10_000, description: `${node.name} replicates` });
    }
  });

  test('a write sent to a replica is forwarded, and visible on the primary and on that replica at once', async () => {
    const { status, json } = await http(`${node2.appUrl}/items`, 'POST', { name: 'via-replica' });
    assert.equal(status, 201);
    written.push('via-replica');
    // Read-your-writes: the replica had replicated the write before it answered.
    assert.ok(names(node2).includes('via-replica'));
    assert.ok(names(node1).includes('via-replica'));
    assert.equal(query<{ node: string }>(node1, 'SELECT node FROM items WHERE id = ?', json.id)[0]?.node, 'node2');
  });

  test('a forwarded interactive transaction: a read, then a dependent write', async () => {
    const first = await http(`${node3.appUrl}/counters/increment`, 'POST', { name: 'visits' });
    const second = await http(`${node2.appUrl}/counters/increment`, 'POST', { name: 'visits' });
    assert.deepEqual([first.json.value, second.json.value], [1, 2]);
    written.push('visits#1', 'visits#2');
    assert.deepEqual(query(node1, "SELECT value FROM counters WHERE name = 'visits'"), [{ value: 2 }]);
    assert.deepEqual(query(node2, "SELECT value FROM counters WHERE name = 'visits'"), [{ value: 2 }]);
  });

  test('500 concurrent forwarded writes from two replicas land exactly once each', async () => {
    const batch = Array.from({ length: 500 }, (_, i) => `concurrent-${i}`);
    const results = await Promise.all(batch.map((name, i) => http(`${(i % 2 === 0 ? node2 : node3).appUrl}/items`, 'POST', { name })));
    assert.deepEqual(
      results.filter((result) => result.status !== 201),
      [],
    );
    written.push(...batch);
    for (const node of [node1, node2, node3]) {
      await waitFor(() => query(node, "SELECT 1 FROM items WHERE name LIKE 'concurrent-%'").length >= 500, { timeoutMs: 10_000, description: `${node.name} has all 500` });
      const counts = query<{ name: string; n: number }>(node, "SELECT name, count(*) AS n FROM items WHERE name LIKE 'concurrent-%' GROUP BY name");
      assert.equal(counts.length, 500);
      assert.ok(counts.every((row) => row.n === 1));
    }
  });

  test('a node with the wrong shared secret is refused, and nothing is written', async (t) => {
    const port = await freePort();
    const spec = appSpec(node3, 'a-wrong-secret-that-is-long-enough-9999', port);
    const intruder: ChildProcess = spawn(spec.command, spec.args, {
      env: { ...process.env, ...spec.env, LITEFS_MOUNT_DIR: node3.mountDir, LITEFS_HTTP_URL: node3.httpUrl, NODE_NAME: 'node3' },
      stdio: 'ignore',
    });
    t.after(() => {
      intruder.kill('SIGKILL');
    });
    await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/health`).catch(() => undefined))?.ok === true, { timeoutMs: 30_000, description: 'the intruder app starts' });
    const { status, json } = await http(`http://127.0.0.1:${port}/items`, 'POST', { name: 'intruder' });
    assert.equal(status, 500);
    assert.equal(json.code, 'UNAUTHORIZED');
    assert.deepEqual(query(node1, "SELECT 1 FROM items WHERE name = 'intruder'"), []);
  });

  test("restarting a replica's LiteFS while its app runs: the app recovers and forwards again", async () => {
    await node3.stopLiteFS();
    await node3.startLiteFS();
    const result = await waitFor(
      async () => {
        const response = await http(`${node3.appUrl}/items`, 'POST', { name: 'after-restart' }).catch(() => undefined);
        return response?.status === 201 ? response : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 250, description: 'node3 forwards again' },
    );
    assert.equal(result.json.name, 'after-restart');
    written.push('after-restart');
    assert.ok(names(node1).includes('after-restart'));
  });

  test('failover: kill -9 the primary; a replica is promoted, writes succeed and every earlier row is kept', async () => {
    const before = names(node1);
    const killedAt = performance.now();
    await node1.kill();
    const accepted = await waitFor(
      async () => {
        const response = await http(`${node2.appUrl}/items`, 'POST', { name: 'after-failover' }).catch(() => undefined);
        return response?.status === 201 ? response : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 100, description: 'a forwarded write succeeds after failover' },
    );
    const failoverMs = performance.now() - killedAt;
    console.log(`# failover: kill -9 of the primary to the first successful forwarded write: ${Math.round(failoverMs)} ms`);
    written.push('after-failover');
    const primary = await cluster.waitForPrimary({ exclude: node1, timeoutMs: 30_000 });
    assert.equal(accepted.status, 201);
    for (const node of [node2, node3]) {
      await waitFor(() => names(node).includes('after-failover'), { timeoutMs: 15_000, description: `${node.name} has the new write` });
      const rows = names(node);
      for (const name of before) assert.ok(rows.includes(name), `${node.name} lost ${name}`);
      for (const name of written) assert.equal(rows.filter((row) => row === name).length, 1, `${name} on ${node.name}`);
    }
    const status = (await http(`${primary.appUrl}/status`)).json;
    assert.equal(status.role, 'primary');
  });
});
