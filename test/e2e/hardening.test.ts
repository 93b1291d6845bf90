// Issue 9 and the litefs-js layer on real LiteFS: a replica's hostile calls are refused by the primary without
// changing its writer, a binding error keeps its class across the wire, and litefs-js's functions answer from
// the real cluster.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createLiteFSJs } from '../../src/compat/litefs-js/index.js';
import type { LiteFSDatabase } from '../../src/index.js';
import { Cluster, type ClusterNode } from '../harness/cluster.js';
import { waitFor } from '../harness/util.js';
import { appSpec, openOnNode, query } from './support/app.js';

describe('hardening on a real LiteFS replica', { timeout: 300_000 }, () => {
  let cluster: Cluster;
  let node1: ClusterNode;
  let node2: ClusterNode;
  let replica: LiteFSDatabase;

  before(async () => {
    cluster = await Cluster.start({ nodes: 2, lease: 'consul', dbName: 'app.db', app: (node) => appSpec(node) });
    [node1, node2] = cluster.nodes as [ClusterNode, ClusterNode];
    replica = await openOnNode(node2);
    await waitFor(async () => replica.role === 'replica' && (await replica.status()).primary?.hostname === 'node1', { timeoutMs: 30_000, description: 'node2 sees node1 as primary' });
  });
  after(async () => {
    await replica?.close();
    await cluster?.close();
  });

  const count = (name: string): number => query<{ n: number }>(node1, 'SELECT count(*) AS n FROM items WHERE name = ?', name)[0]?.n ?? -1;

  test('scripts that would change the writer are refused, nothing of them is applied, and the primary keeps serving', async () => {
    const hostile = [
      "BEGIN; INSERT INTO items (name, node, created_at) VALUES ('h-begin', 'node2', 0)",
      "INSERT INTO items (name, node, created_at) VALUES ('h-commit', 'node2', 0); COMMIT",
      'CREATE TEMP TABLE items (name TEXT, node TEXT, created_at INTEGER)',
      'PRAGMA query_only = ON',
      'PRAGMA busy_timeout = 8000',
      "ATTACH '/tmp/litefs-forward-e2e-attached.db' AS side",
      "VACUUM INTO '/tmp/litefs-forward-e2e-vacuum.db'",
    ];
    for (const script of hostile) await assert.rejects(replica.exec(script), { code: 'STATEMENT_REFUSED' }, script);
    await replica.run('INSERT INTO items (name, node, created_at) VALUES (?, ?, ?)', ['h-after', 'node2', Date.now()]);
    await waitFor(() => count('h-after') === 1, { timeoutMs: 10_000, description: 'the write after the refusals is on node1' });
    assert.equal(count('h-begin'), 0);
    assert.equal(count('h-commit'), 0);
    assert.equal((await node1.info()).isPrimary, true, 'node1 is still primary');
  });

  test('a binding error fails forwarded exactly as it fails locally', async () => {
    const sql = 'INSERT INTO items (name, node, created_at) VALUES (?, ?, ?)';
    const local = (() => {
      try {
        query(node2, 'SELECT ?', 1, 2);
      } catch (error) {
        return error as Error;
      }
      return undefined;
    })();
    assert.ok(local instanceof RangeError);
    await assert.rejects(replica.run(sql, ['a', 'b', 1, 2]), (error: Error) => {
      assert.ok(error instanceof RangeError, `got ${error.constructor.name}`);
      assert.equal(error.message, local.message);
      return true;
    });
  });

  test("litefs-js's functions answer from the cluster, and ensurePrimary() lets a replica's write through", async () => {
    const litefs = createLiteFSJs(replica);
    assert.deepEqual(await litefs.getInstanceInfo(), { primaryInstance: 'node1', currentInstance: 'node2', currentIsPrimary: false });
    assert.equal(await litefs.ensurePrimary(), true);
    await replica.run('INSERT INTO items (name, node, created_at) VALUES (?, ?, ?)', ['h-ensured', 'node2', Date.now()]);
    await waitFor(() => count('h-ensured') === 1, { timeoutMs: 10_000, description: 'the guarded write is on node1' });
  });
});
