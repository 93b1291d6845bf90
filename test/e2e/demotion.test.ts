// A node that still believes it is primary when LiteFS has handed the lease away: its next write is rejected by
// LiteFS, which demotes it at once, and the write is forwarded to the new primary instead of failing.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { LiteFSDatabase, RoleChange } from '../../src/index.js';
import { Cluster, type ClusterNode, freePort } from '../harness/cluster.js';
import { waitFor } from '../harness/util.js';
import { appSpec, openOnNode, query } from './support/app.js';

describe('demotion on a write rejected by LiteFS', { timeout: 300_000 }, () => {
  let cluster: Cluster;
  let node1: ClusterNode;
  let node2: ClusterNode;
  let stale: LiteFSDatabase;

  before(async () => {
    cluster = await Cluster.start({ nodes: 2, lease: 'consul', dbName: 'app.db', app: (node) => appSpec(node) });
    [node1, node2] = cluster.nodes as [ClusterNode, ClusterNode];
    const port = await freePort();
    // No event stream and a slow poll: this instance learns of the hand-off only from LiteFS refusing its write.
    stale = await openOnNode(node1, { eventStreamUrl: false, pollInterval: 600_000, advertiseUrl: `http://127.0.0.1:${port}`, listen: { host: '127.0.0.1', port } });
    assert.equal(stale.role, 'primary');
  });
  after(async () => {
    await stale?.close();
    await cluster?.close();
  });

  test('LiteFS rejects the write, the node demotes itself, and the write lands on the new primary', async () => {
    await stale.exec('CREATE TABLE IF NOT EXISTS demotion (v TEXT)');
    const changes: RoleChange[] = [];
    stale.onRoleChange((change) => changes.push(change));
    // Hand the lease to node2 (a Consul-lease candidate asks the primary to step down).
    const promoted = await fetch(`${node2.httpUrl}/promote`, { method: 'POST', signal: AbortSignal.timeout(30_000) });
    assert.equal(promoted.status, 200, await promoted.text());
    await waitFor(async () => (await node2.info()).isPrimary, { timeoutMs: 30_000, description: 'node2 becomes primary' });
    await waitFor(async () => (await fetch(`${node2.appUrl}/status`).then((r) => r.json() as Promise<{ role: string }>)).role === 'primary', {
      timeoutMs: 30_000,
      description: "node2's app sees it",
    });
    assert.equal(stale.role, 'primary', 'the instance under test has not noticed the hand-off yet');

    await stale.run('INSERT INTO demotion VALUES (?)', ['after-hand-off']);

    assert.equal(stale.role, 'replica');
    assert.equal(changes[0]?.from, 'primary');
    assert.match(changes[0]?.reason ?? '', /LiteFS rejected a write/);
    await waitFor(() => query(node2, "SELECT v FROM demotion WHERE v = 'after-hand-off'").length === 1, { timeoutMs: 10_000, description: 'the write is on node2' });
    await waitFor(() => query(node1, "SELECT v FROM demotion WHERE v = 'after-hand-off'").length === 1, { timeoutMs: 10_000, description: 'and replicated back to node1' });
  });
});
