// 80 ms RTT between regions, then connection resets and slow links, from Toxiproxy in front of every LiteFS
// (replication), Consul and every forwarding endpoint. Forwarded writes and transactions keep their guarantees: exactly
// once, read-your-writes, and no caller waits past its deadline. Run: npm run test:network.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Cluster, ClusterNode } from '../harness/cluster.js';
import { sleep } from '../harness/util.js';
import { appSpec, count, FORWARD_PORT, Ledger, type Outcome, percentile, post, retryUnacknowledged, runWriters, settle, startCluster } from './support/scenario.js';

const RPC_TIMEOUT = 15_000;

async function sequential(node: ClusterNode, path: string, prefix: string, n: number): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  for (let i = 0; i < n; i++) outcomes.push(await post(`${node.appUrl}${path}`, { key: `${prefix}-${i}`, holdMs: 0 }));
  return outcomes;
}

function figures(label: string, outcomes: Outcome[]): number[] {
  const ms = outcomes.flatMap((o) => (o.kind === 'acked' ? [o.appMs] : []));
  console.log(`# (d) ${label}: ${ms.length}/${outcomes.length} acknowledged, p50 ${percentile(ms, 50).toFixed(1)} ms, p99 ${percentile(ms, 99).toFixed(1)} ms`);
  return ms;
}

describe('80 ms RTT with resets and slow links (Toxiproxy)', { timeout: 900_000 }, () => {
  let cluster: Cluster;

  before(async () => {
    cluster = await startCluster(AbortSignal.timeout(880_000), {
      toxiproxy: { forwardPort: FORWARD_PORT },
      app: (node) => appSpec(node, { ADVERTISE_URL: node.forwardProxyUrl ?? '' }),
    });
  });
  after(async () => {
    await cluster?.close();
  });

  test('(d) forwarded writes and transactions at 80 ms RTT, then with resets and a slow link', async () => {
    const toxi = cluster.toxiproxy!;
    const primary = await settle(cluster);
    const [r1, r2] = cluster.nodes.filter((node) => node !== primary) as [ClusterNode, ClusterNode];

    const base = figures('0 ms added, forwarded write (app-side)', await sequential(r1, '/write', 'd0', 100));
    await toxi.setLatency({ rttMs: 80, jitterMs: 10 });
    const slow = await sequential(r1, '/write', 'd80', 100);
    const slowMs = figures('80 ms RTT, forwarded write (app-side)', slow);
    const txs = await sequential(r2, '/tx', 'd80tx', 20);
    figures('80 ms RTT, forwarded transaction read+write (app-side)', txs);
    console.log(`# (d) floor at 80 ms RTT: 80 ms + local commit (~${percentile(base, 50).toFixed(1)} ms at 0 ms)`);
    for (const o of [...slow, ...txs]) assert.equal(o.kind, 'acked', JSON.stringify(o));
    for (const o of slow) if (o.kind === 'acked') assert.ok(o.seen >= 1, 'read-your-writes: the row is readable on the replica when acknowledged');
    assert.ok(percentile(slowMs, 50) >= 80, 'the proxy adds the latency');

    // Resets on the forwarding channel (30 % of connections cut after 1 s) and a 64 KB/s link into every LiteFS.
    const forward = toxi.proxyNames().filter((name) => name.startsWith('forward-'));
    const litefs = toxi.proxyNames().filter((name) => name.startsWith('litefs-'));
    await toxi.addToxic({ type: 'reset_peer', toxicity: 0.3, attributes: { timeout: 1_000 } }, forward);
    await toxi.addToxic({ type: 'bandwidth', stream: 'downstream', attributes: { rate: 64 } }, litefs);
    const ledger = new Ledger();
    let stop = false;
    const writers = runWriters({ nodes: [r1, r2], writers: 4, prefix: 'dr', phase: () => 'resets', ledger, stop: () => stop, pauseMs: 10, timeoutMs: 60_000 });
    await sleep(20_000);
    stop = true;
    await writers;
    await toxi.clear();
    const retry = await retryUnacknowledged(ledger, r1);
    await settle(cluster);
    console.log(`# (d) with resets and a slow link, callers saw:\n${ledger.summary()}`);
    console.log(`# (d) retried ${retry.retried} unacknowledged keys with the same idempotency key, ${retry.unresolved} unresolved`);
    const all = [...ledger.outcomes.values()].map((e) => e.outcome);
    const acked = all.filter((o) => o.kind === 'acked');
    const waits = all.map((o) => o.ms);
    console.log(`# (d) resets: caller waits p50 ${Math.round(percentile(waits, 50))} ms, p99 ${Math.round(percentile(waits, 99))} ms, max ${Math.round(Math.max(...waits))} ms; read-your-writes misses ${acked.filter((o) => o.kind === 'acked' && o.seen < 1).length}`);
    const counts = count(cluster, ledger, 'dr', '(d)');
    for (const c of counts) {
      assert.deepEqual(c.duplicated, [], `${c.node}: duplicated rows`);
      assert.deepEqual(c.lost, [], `${c.node}: lost acknowledged rows`);
    }
    assert.equal(retry.unresolved, 0);
    assert.equal(acked.filter((o) => o.kind === 'acked' && o.seen < 1).length, 0, 'read-your-writes');
    assert.ok(Math.max(...waits) <= RPC_TIMEOUT + 3_000, `a caller waited ${Math.max(...waits)} ms, past its ${RPC_TIMEOUT} ms deadline`);
  });
});
