// Partition scenarios on a 3-node cluster whose nodes and Consul each live in their own network namespace
// (test/harness/netns.ts). Each scenario counts acknowledged, present, lost and duplicated rows on every node after
// healing, and prints them. Run: npm run test:network (root; needs ip, nft, nsenter, litefs, consul).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Cluster, ClusterNode } from '../harness/cluster.js';
import { sleep } from '../harness/util.js';
import { count, Ledger, percentile, post, retryUnacknowledged, runWriters, settle, startCluster, watchLease } from './support/scenario.js';

const RPC_TIMEOUT = 15_000;

describe('partitions between network namespaces', { timeout: 900_000 }, () => {
  let cluster: Cluster;

  before(async () => {
    const started = Date.now();
    cluster = await startCluster(AbortSignal.timeout(880_000));
    console.log(`# netns cluster ready in ${Date.now() - started} ms: ${cluster.nodes.map((n) => `${n.name}=${n.address}`).join(', ')}, consul=${cluster.consul?.address}`);
  });
  after(async () => {
    await cluster?.close();
  });

  test('(b) the primary is partitioned from the replicas only, Consul still sees it', async () => {
    const primary = await settle(cluster);
    const replicas = cluster.nodes.filter((node) => node !== primary);
    const ledger = new Ledger();
    let phase = 'before';
    let stop = false;
    const writers = runWriters({ nodes: cluster.nodes, writers: 2, prefix: 'b', phase: () => phase, ledger, stop: () => stop, pauseMs: 20 });
    await sleep(2_000);
    phase = 'partitioned';
    cluster.partition({ from: primary, to: replicas });
    await sleep(20_000);
    phase = 'healed';
    cluster.heal();
    await sleep(3_000);
    stop = true;
    await writers;
    const after = await settle(cluster);
    const retry = await retryUnacknowledged(ledger, replicas[0]!);
    await settle(cluster);
    console.log(`# (b) primary ${primary.name} -> after heal ${after.name}; callers saw:\n${ledger.summary()}`);
    console.log(`# (b) retried ${retry.retried} unacknowledged keys with the same idempotency key, ${retry.unresolved} unresolved`);
    const failures = [...ledger.outcomes.values()].filter((e) => e.phase === 'partitioned' && e.via !== primary.name).map((e) => e.outcome);
    const failedMs = failures.filter((o) => o.kind !== 'acked').map((o) => o.ms);
    console.log(`# (b) replica callers during the partition: ${failedMs.length} not acknowledged, wait p50 ${Math.round(percentile(failedMs, 50))} ms, max ${Math.round(Math.max(0, ...failedMs))} ms (rpcTimeout ${RPC_TIMEOUT} ms)`);
    const counts = count(cluster, ledger, 'b', '(b)');
    assert.equal(after, primary, 'Consul still saw the primary: no failover');
    for (const c of counts) {
      assert.deepEqual(c.duplicated, [], `${c.node}: duplicated rows`);
      assert.deepEqual(c.lost, [], `${c.node}: lost acknowledged rows`);
    }
    assert.equal(retry.unresolved, 0, 'every write is acknowledged once retried after the heal');
    assert.ok(failedMs.length > 0, 'replica callers did see the partition');
    // No backoff keeps a caller past its deadline (plus a margin for the HTTP hop and scheduling).
    assert.ok(Math.max(0, ...failedMs) <= RPC_TIMEOUT + 3_000, `a caller waited ${Math.max(...failedMs)} ms`);
  });

  let txWaitMs: number | undefined;
  test('(c) a replica is cut off mid-transaction', async () => {
    const primary = await settle(cluster);
    const [victim, other] = cluster.nodes.filter((node) => node !== primary) as [ClusterNode, ClusterNode];
    const ledger = new Ledger();
    let phase = 'before';
    let stop = false;
    const writers = runWriters({ nodes: [primary, other], writers: 2, prefix: 'c', phase: () => phase, ledger, stop: () => stop, pauseMs: 20 });
    await sleep(1_000);
    const txStarted = Date.now();
    const tx = post(`${victim.appUrl}/tx`, { key: 'c-tx', holdMs: 2_000 }, 60_000);
    await sleep(500);
    phase = 'victim cut off';
    cluster.isolate(victim);
    const txOutcome = await tx;
    txWaitMs = txOutcome.ms;
    console.log(`# (c) the cut-off transaction's caller saw ${JSON.stringify(txOutcome)} after ${Date.now() - txStarted} ms`);
    await sleep(Math.max(0, 15_000 - (Date.now() - txStarted)));
    phase = 'healed';
    cluster.heal();
    await sleep(3_000);
    stop = true;
    await writers;
    await settle(cluster);
    const cut = [...ledger.outcomes.values()].filter((e) => e.phase === 'victim cut off').map((e) => e.outcome);
    const ackedMs = cut.filter((o) => o.kind === 'acked').map((o) => o.ms);
    console.log(`# (c) callers saw:\n${ledger.summary()}`);
    console.log(`# (c) writes on the other nodes while the transaction was orphaned: p50 ${Math.round(percentile(ackedMs, 50))} ms, p99 ${Math.round(percentile(ackedMs, 99))} ms, max ${Math.round(Math.max(0, ...ackedMs))} ms`);
    const counts = count(cluster, ledger, 'c', '(c)');
    const txLedger = new Ledger();
    txLedger.record('c-tx', victim.name, 'tx', txOutcome);
    const txCounts = count(cluster, txLedger, 'c-tx', '(c) transaction');
    for (const c of counts) {
      assert.deepEqual(c.duplicated, [], `${c.node}: duplicated rows`);
      assert.deepEqual(c.lost, [], `${c.node}: lost acknowledged rows`);
    }
    for (const c of txCounts) assert.deepEqual(c.duplicated, [], `${c.node}: the transaction's row is doubled`);
    // The transaction is all or nothing: acknowledged => its row is there; failed => it is not.
    if (txOutcome.kind === 'failed') for (const c of txCounts) assert.equal(c.unacknowledgedPresent, 0, `${c.node}: a failed transaction left its row`);
    assert.notEqual(txOutcome.kind, 'acked', 'a transaction whose replica was cut off before its write cannot commit');
  });

  // Found by this scenario (~32 s before the fix): after a forwarded statement timed out, transaction() awaited a
  // ROLLBACK with a full rpcTimeout of its own, so the caller waited about twice its deadline.
  test('(c) the cut-off transaction fails within its deadline (rpcTimeout + the 2 s hold)', () => {
    assert.ok(txWaitMs !== undefined, 'scenario (c) ran');
    assert.ok(txWaitMs <= RPC_TIMEOUT + 2_000 + 3_000, `the caller waited ${Math.round(txWaitMs)} ms`);
  });

  test('(a) the primary is partitioned from everyone, Consul included, while writers on both sides keep going', async () => {
    const primary = await settle(cluster);
    const replicas = cluster.nodes.filter((node) => node !== primary);
    const ledger = new Ledger();
    let phase = 'before';
    let stop = false;
    const writers = runWriters({ nodes: cluster.nodes, writers: 2, prefix: 'a', phase: () => phase, ledger, stop: () => stop, pauseMs: 20 });
    await sleep(2_000);
    phase = 'partitioned';
    cluster.isolate(primary);
    const newPrimary = await cluster.waitForPrimary({ exclude: primary, timeoutMs: 60_000 }).catch(() => undefined);
    console.log(`# (a) new primary during the partition: ${newPrimary?.name ?? 'none'}`);
    await sleep(10_000);
    phase = 'healed';
    cluster.heal();
    await sleep(3_000);
    stop = true;
    await writers;
    const after = await settle(cluster);
    const retry = await retryUnacknowledged(ledger, after);
    await settle(cluster);
    console.log(`# (a) primary ${primary.name} -> ${after.name}; callers saw:\n${ledger.summary()}`);
    console.log(`# (a) retried ${retry.retried} unacknowledged keys with the same idempotency key, ${retry.unresolved} unresolved`);
    const replicaWaits = [...ledger.outcomes.values()].filter((e) => e.phase === 'partitioned' && e.via !== primary.name && e.outcome.kind !== 'acked').map((e) => e.outcome.ms);
    console.log(`# (a) replica callers during the partition: ${replicaWaits.length} not acknowledged, wait p50 ${Math.round(percentile(replicaWaits, 50))} ms, max ${Math.round(Math.max(0, ...replicaWaits))} ms`);
    const counts = count(cluster, ledger, 'a', '(a)');
    for (const c of counts) {
      assert.deepEqual(c.duplicated, [], `${c.node}: duplicated rows`);
      const lostElsewhere = c.lost.filter((key) => ledger.outcomes.get(key)?.via !== primary.name);
      assert.deepEqual(lostElsewhere, [], `${c.node}: lost writes acknowledged by a node other than the isolated primary`);
      const lostOnOldPrimary = c.lost.filter((key) => ledger.outcomes.get(key)?.via === primary.name);
      console.log(`# (a) ${c.node}: ${lostOnOldPrimary.length} lost writes were acknowledged by the isolated old primary ${primary.name} (LiteFS discards its divergent commits when it rejoins)`);
    }
    assert.ok(replicas.every((node) => node.litefsRunning));
  });

  test('(e) the primary is cut off from Consul only, and still reaches the replicas', async () => {
    const primary = await settle(cluster);
    const ledger = new Ledger();
    let phase = 'before';
    let stop = false;
    const writers = runWriters({ nodes: cluster.nodes, writers: 2, prefix: 'e', phase: () => phase, ledger, stop: () => stop, pauseMs: 20 });
    const lease = watchLease(cluster);
    await sleep(2_000);
    phase = 'cut from consul';
    const cutAt = Date.now();
    cluster.cutFromConsul(primary);
    await sleep(20_000);
    phase = 'healed';
    const healAt = Date.now();
    cluster.heal();
    // The primary's lease renewal is stuck on the cut connection until TCP retransmits it: wait for the demotion that
    // its answer (the session is gone) brings, then keep writing through the re-election.
    const demotedAfterHeal = (): boolean => lease.changes.some((c) => c.node === primary.name && !c.isPrimary && c.at >= cutAt);
    while (!demotedAfterHeal() && Date.now() - healAt < 20_000) await sleep(100);
    await sleep(3_000);
    stop = true;
    await writers;
    await lease.stop();
    const after = await settle(cluster);
    const retry = await retryUnacknowledged(ledger, after);
    await settle(cluster);
    const s = (at: number | undefined): string => (at === undefined ? 'never' : `+${((at - cutAt) / 1000).toFixed(1)} s`);
    // When the old primary acknowledged local writes after the cut, and the longest pause between two of them.
    const local = ledger
      .keys((e) => e.via === primary.name && e.outcome.kind === 'acked' && e.outcome.role === 'primary' && e.at >= cutAt)
      .map((key) => ledger.outcomes.get(key)!.at)
      .sort((a, b) => a - b);
    const longestPause = Math.max(0, ...local.map((at, i) => at - (local[i - 1] ?? cutAt)));
    const demoted = lease.changes.find((c) => c.node === primary.name && !c.isPrimary && c.at >= cutAt);
    const repromoted = lease.changes.find((c) => c.isPrimary && c.at >= (demoted?.at ?? Number.POSITIVE_INFINITY));
    const otherPrimary = lease.changes.find((c) => c.node !== primary.name && c.isPrimary && c.at >= cutAt);
    console.log(`# (e) primary ${primary.name} -> after heal ${after.name}; callers saw:\n${ledger.summary()}`);
    console.log(`# (e) retried ${retry.retried} unacknowledged keys with the same idempotency key, ${retry.unresolved} unresolved`);
    console.log(
      `# (e) timeline from the cut (heal at ${s(healAt)}): ${primary.name} acknowledged ${local.length} local writes as primary until ${s(local.at(-1))} ` +
        `(longest pause ${longestPause} ms); Consul released its lease at ${s(lease.consul.releasedAt)}; LiteFS demoted it at ${s(demoted?.at)}, ` +
        `then ${repromoted ? `${repromoted.node} became primary at ${s(repromoted.at)}` : 'no node became primary'}; another node primary: ${otherPrimary ? `${otherPrimary.node} at ${s(otherPrimary.at)}` : 'none'}`,
    );
    const cutMs = [...ledger.outcomes.values()].filter((e) => e.phase === 'cut from consul').map((e) => e.outcome);
    const cutAcked = cutMs.filter((o) => o.kind === 'acked').length;
    console.log(`# (e) while cut from Consul: ${cutAcked}/${cutMs.length} writes acknowledged on the first attempt`);
    const counts = count(cluster, ledger, 'e', '(e)');
    for (const c of counts) {
      assert.deepEqual(c.duplicated, [], `${c.node}: duplicated rows`);
      assert.deepEqual(c.lost, [], `${c.node}: lost acknowledged rows`);
    }
    assert.equal(retry.unresolved, 0, 'every write is acknowledged once retried after the heal');
    const primaries = [...(await cluster.infos()).values()].filter((info) => info.isPrimary);
    assert.equal(primaries.length, 1, 'exactly one primary after the heal');
    for (const node of cluster.nodes) {
      const outcome = await post(`${node.appUrl}/write`, { key: `e-final-${node.name}` });
      assert.equal(outcome.kind, 'acked', `a write through ${node.name} after the heal: ${JSON.stringify(outcome)}`);
    }
  });
});
