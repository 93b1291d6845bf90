// Issue 11 on real LiteFS + Consul: a failover to a node that was behind makes LiteFS reuse a TXID for another
// transaction. A bookmark (TXID and checksum) from the lost lineage is refused with BOOKMARK_LOST at once, on the
// new primary and on the old one once it has resynced, instead of passing on the number alone.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { LiteFSDatabase } from '../../src/index.js';
import { Cluster, type ClusterNode, freePort } from '../harness/cluster.js';
import { waitFor } from '../harness/util.js';
import { openOnNode, query } from './support/app.js';

describe('lineages on a real LiteFS cluster', { timeout: 300_000 }, () => {
  let cluster: Cluster;
  let node1: ClusterNode;
  let node2: ClusterNode;
  const opened: LiteFSDatabase[] = [];

  const open = async (node: ClusterNode): Promise<LiteFSDatabase> => {
    // A writer of its own on each node, with an endpoint nobody needs: every write here is local to the primary.
    const port = await freePort();
    const db = await openOnNode(node, { advertiseUrl: `http://127.0.0.1:${port}`, listen: { host: '127.0.0.1', port } });
    opened.push(db);
    return db;
  };

  before(async () => {
    cluster = await Cluster.start({ nodes: 2, lease: 'consul', leaseTtl: '2s', dbName: 'app.db' });
    [node1, node2] = cluster.nodes as [ClusterNode, ClusterNode];
  });
  after(async () => {
    for (const db of opened.reverse()) await db.close().catch(() => {});
    await cluster?.close();
  });

  test('a write only the old primary had: its bookmark is BOOKMARK_LOST on the new primary and on the old one once it resyncs', async () => {
    const first = await open(node1);
    await waitFor(() => first.role === 'primary', { timeoutMs: 30_000, description: 'node1 is primary' });
    await first.exec('CREATE TABLE IF NOT EXISTS lineage_items (name TEXT NOT NULL)');
    await first.run("INSERT INTO lineage_items VALUES ('shared')");
    await waitFor(() => query<{ name: string }>(node2, 'SELECT name FROM lineage_items').length === 1, { timeoutMs: 20_000, description: 'node2 has the shared row' });

    // node2's LiteFS goes down (a stopped process would still read what its socket buffered); node1 commits a write
    // that only it will ever have, then dies with it.
    await node2.killLiteFS();
    const lost = await first.trackWrites(() => first.run("INSERT INTO lineage_items VALUES ('only-on-node1')"));
    assert.match(lost.txid ?? '', /^[0-9a-f]{16}$/);
    assert.match(lost.checksum ?? '', /^[0-9a-f]{16}$/);
    await first.close();
    await node1.kill();
    // node2 comes back and takes the lease, at the TXID before.
    await node2.start({ wait: 'mounted', timeoutMs: 60_000 });
    await cluster.waitForPrimary({ exclude: node1, timeoutMs: 60_000 });
    const second = await open(node2);
    await waitFor(() => second.role === 'primary', { timeoutMs: 30_000, description: 'node2 is primary' });
    // Taking over, it publishes its address: that commit takes the lost write's TXID number, for another transaction.
    const reused = await waitFor(
      async () => {
        const status = await second.status();
        return status.txid === lost.txid ? { txid: status.txid, checksum: status.checksum } : undefined;
      },
      { timeoutMs: 20_000, description: "node2's takeover commit at the lost write's TXID" },
    );
    assert.notEqual(reused.checksum, lost.checksum, 'the same TXID names another transaction');
    assert.deepEqual(
      query<{ name: string }>(node2, 'SELECT name FROM lineage_items ORDER BY rowid').map((row) => row.name),
      ['shared'],
    );

    // On the new primary: the lost bookmark is refused at once; its own position is good.
    const startedAt = Date.now();
    await assert.rejects(second.waitForTxid(lost.txid!, { checksum: lost.checksum!, timeout: 10_000 }), { code: 'BOOKMARK_LOST', txid: lost.txid });
    assert.ok(Date.now() - startedAt < 2_000, 'BOOKMARK_LOST came without waiting out the timeout');
    await second.waitForTxid(reused.txid!, { checksum: reused.checksum! });

    // node1 comes back ahead on the lost lineage: LiteFS resyncs it from node2, and its own write is gone.
    await node1.start({ timeoutMs: 60_000 });
    await waitFor(
      () => {
        const [position] = query<{ n: number }>(node1, "SELECT count(*) AS n FROM lineage_items WHERE name = 'only-on-node1'");
        return position?.n === 0;
      },
      { timeoutMs: 60_000, description: 'node1 resynced from node2' },
    );
    const rejoined = await openOnNode(node1);
    opened.push(rejoined);
    assert.equal((await rejoined.status()).checksum, reused.checksum, "node1 holds node2's commit at that TXID");
    const onOld = Date.now();
    await assert.rejects(rejoined.waitForTxid(lost.txid!, { checksum: lost.checksum!, timeout: 10_000 }), { code: 'BOOKMARK_LOST' });
    assert.ok(Date.now() - onOld < 2_000, 'BOOKMARK_LOST came without waiting out the timeout');
    await rejoined.waitForTxid(reused.txid!, { checksum: reused.checksum! });
  });
});
