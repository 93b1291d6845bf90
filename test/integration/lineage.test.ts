import assert from 'node:assert/strict';
import diagnostics from 'node:diagnostics_channel';
import { symlinkSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import * as client from 'prom-client';
import { CHANNELS, type LiteFSDatabase, type LiteFSForwardOptions, openDatabase } from '../../src/index.js';
import { silentLogger } from '../../src/logger.js';
import { createMetrics } from '../../src/metrics/index.js';
import { ConsistencyGate } from '../../src/middleware/consistency-gate.js';
import { formatTxid } from '../../src/util/txid.js';
import { FakeLiteFS } from '../support/fake-litefs.js';
import { freePort, nodeOptions } from '../support/fake-cluster.js';

// Verified acknowledgement on a replica (issue 11): a forwarded write is reported only once this node holds that
// exact commit, TXID and checksum. The replica opens the primary's file through a link in its own directory, so
// each node has its own `-pos` file: the test sets each node's position, as LiteFS would after a failover.

const position = (litefs: FakeLiteFS, txid: number, checksum: string): void => writeFileSync(`${litefs.databasePath}-pos`, `${formatTxid(BigInt(txid))}/${checksum}\n`);
const A5 = 'aaaaaaaaaaaaaaa5';
const B5 = 'bbbbbbbbbbbbbbb5';
const C6 = 'ccccccccccccccc6';

async function pair(replicaExtra: Partial<LiteFSForwardOptions>) {
  const primaryLiteFS = await FakeLiteFS.start({ isPrimary: true });
  const replicaLiteFS = await FakeLiteFS.start({ isPrimary: false, primaryHostname: 'node-a' });
  symlinkSync(primaryLiteFS.databasePath, replicaLiteFS.databasePath);
  const port = await freePort();
  const primary = await openDatabase(nodeOptions('node-a', primaryLiteFS, { listen: { host: '127.0.0.1', port }, advertiseUrl: `http://127.0.0.1:${port}` }));
  await primary.exec('CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL)');
  const replica = await openDatabase(nodeOptions('node-b', replicaLiteFS, { readYourWrites: true, rpcTimeout: 2_000, ...replicaExtra }));
  return {
    primary,
    replica,
    primaryLiteFS,
    replicaLiteFS,
    close: async () => {
      await replica.close();
      await primary.close();
      await replicaLiteFS.close();
      await primaryLiteFS.close();
    },
  };
}

const count = async (db: LiteFSDatabase, name: string): Promise<number> => (await db.get<{ n: number }>('SELECT count(*) AS n FROM items WHERE name = ?', [name]))!.n;

test('a write acknowledged at a TXID where this node holds another transaction is sent again under its key, and reported once this node holds that exact commit', async (t) => {
  let nodes: Awaited<ReturnType<typeof pair>> | undefined;
  const warnings: string[] = [];
  const logger = {
    ...silentLogger,
    warn: (_fields: unknown, message?: string) => {
      warnings.push(String(message));
      // The failover completes while the write goes again: both nodes are now at the new primary's TXID 6.
      if (String(message).includes('sending it again') && nodes !== undefined) {
        position(nodes.primaryLiteFS, 6, C6);
        position(nodes.replicaLiteFS, 6, C6);
      }
    },
  };
  nodes = await pair({ logger });
  t.after(() => nodes!.close());
  const { primary, replica, primaryLiteFS, replicaLiteFS } = nodes;
  // The primary commits at TXID 5 of its lineage; this replica's TXID 5 is another transaction.
  position(primaryLiteFS, 5, A5);
  position(replicaLiteFS, 5, B5);
  const result = await replica.run('INSERT INTO items (name) VALUES (?)', ['resent']);
  assert.equal(result.changes, 1);
  assert.equal((await replica.status()).forwarding.resent, 1);
  assert.ok(warnings.some((message) => message.includes('sending it again')), warnings.join('\n'));
  // The key made the second send a replay: one row.
  assert.equal(await count(primary, 'resent'), 1);
});

test('while this node stays on another lineage than the primary, a lost keyed write goes again with a growing pause, and fails with LINEAGE_CHANGED at the deadline', async (t) => {
  const { primary, replica, primaryLiteFS, replicaLiteFS, close } = await pair({ rpcTimeout: 1_500 });
  t.after(close);
  position(primaryLiteFS, 5, A5);
  position(replicaLiteFS, 5, B5);
  const startedAt = Date.now();
  await assert.rejects(replica.run('INSERT INTO items (name) VALUES (?)', ['stuck'], { idempotencyKey: 'stuck-0001' }), (error: Error & { code?: string; idempotencyKey?: string }) => {
    assert.equal(error.code, 'LINEAGE_CHANGED');
    assert.equal(error.idempotencyKey, 'stuck-0001');
    assert.match(error.message, /Retry it with the same idempotencyKey \(stuck-0001/);
    return true;
  });
  assert.ok(Date.now() - startedAt >= 1_000, 'it kept trying until the deadline');
  // 25, 50, 100, 200, 400, 800 ms of pauses fit in 1.5 s: a handful of sends, not a flood.
  const { resent } = (await replica.status()).forwarding;
  assert.ok(resent >= 3 && resent <= 8, `resent ${resent} times`);
  assert.equal(await count(primary, 'stuck'), 1, 'the key kept it to one application');
});

test('a write that cannot go again by itself (no key) fails with LINEAGE_CHANGED instead of a success this node does not hold', async (t) => {
  const { primary, replica, primaryLiteFS, replicaLiteFS, close } = await pair({ exactlyOnce: false });
  t.after(close);
  position(primaryLiteFS, 5, A5);
  position(replicaLiteFS, 5, B5);
  await assert.rejects(replica.run('INSERT INTO items (name) VALUES (?)', ['unkeyed']), (error: Error & { code?: string; txid?: string }) => {
    assert.equal(error.code, 'LINEAGE_CHANGED');
    assert.equal(error.txid, formatTxid(5n));
    assert.match(error.message, /different transaction at that TXID/);
    return true;
  });
  assert.equal(await count(primary, 'unkeyed'), 1, 'the primary did apply it, on a lineage this node does not hold');
});

test("a remote transaction whose commit this node holds another transaction for fails with LINEAGE_CHANGED", async (t) => {
  const { replica, primaryLiteFS, replicaLiteFS, close } = await pair({});
  t.after(close);
  position(primaryLiteFS, 5, A5);
  position(replicaLiteFS, 5, B5);
  await assert.rejects(
    replica.transaction(async (tx) => {
      await tx.run('INSERT INTO items (name) VALUES (?)', ['in-tx']);
    }),
    { code: 'LINEAGE_CHANGED' },
  );
});

test('the same commit on both nodes is verified at once, and the replica reports its position and lineage count', async (t) => {
  const { replica, primaryLiteFS, replicaLiteFS, close } = await pair({});
  t.after(close);
  position(primaryLiteFS, 5, A5);
  position(replicaLiteFS, 5, A5);
  assert.equal((await replica.run('INSERT INTO items (name) VALUES (?)', ['same'])).changes, 1);
  const status = await replica.status();
  assert.equal(status.forwarding.resent, 0);
  assert.equal(status.txid, formatTxid(5n));
  assert.equal(status.checksum, A5);
  assert.equal(status.lineageChanges, 0);
});

test("a tx event with another checksum at a TXID this node holds is a lineage change: counted in status() and published on litefs-forward:lineage-change", async (t) => {
  const { replica, replicaLiteFS, close } = await pair({});
  t.after(close);
  const seen: unknown[] = [];
  const listener = (message: unknown): void => void seen.push(message);
  diagnostics.subscribe(CHANNELS.lineageChange, listener);
  t.after(() => diagnostics.unsubscribe(CHANNELS.lineageChange, listener));
  position(replicaLiteFS, 5, A5);
  assert.equal((await replica.status()).checksum, A5);
  // LiteFS moves the file and then sends the event; the event is what this node hears first.
  const connected = Date.now() + 5_000;
  while (replicaLiteFS.subscriberCount === 0 && Date.now() < connected) await new Promise((resolve) => setTimeout(resolve, 10));
  position(replicaLiteFS, 5, B5);
  replicaLiteFS.broadcast(JSON.stringify({ type: 'tx', db: 'app.db', data: { txID: formatTxid(5n), postApplyChecksum: B5, pageSize: 4096, commit: 2, timestamp: new Date().toISOString() } }));
  const deadline = Date.now() + 5_000;
  while (seen.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.deepEqual(seen, [{ node: 'node-b', database: 'app.db', from: { txid: formatTxid(5n), checksum: A5 }, to: { txid: formatTxid(5n), checksum: B5 }, reason: 'checksum-differs' }]);
  assert.equal((await replica.status()).lineageChanges, 1);
  const registry = new client.Registry();
  const metrics = createMetrics(client, replica, { registry });
  t.after(() => metrics.close());
  assert.match(await registry.metrics(), /litefs_forward_lineage_changes 1\n/);
});

test('a bookmark names its commit: the token carries TXID and checksum, and one whose commit was lost gets BOOKMARK_LOST (409) at once', async (t) => {
  const { primary, replica, primaryLiteFS, replicaLiteFS, close } = await pair({});
  t.after(close);
  position(primaryLiteFS, 5, A5);
  position(replicaLiteFS, 5, A5);
  const gate = new ConsistencyGate(replica);
  const scope = gate.begin();
  await gate.run(scope, () => replica.run('INSERT INTO items (name) VALUES (?)', ['bookmarked']));
  assert.equal(gate.token(scope), `${formatTxid(5n)}.${A5}`);
  // The same token is good on both nodes while they hold that commit.
  assert.deepEqual(await gate.wait(gate.requested(`__txid=${formatTxid(5n)}.${A5}`, undefined)), { ok: true });
  // A failover: the replica's TXID 5 is now another transaction. The token's commit is gone, and waiting would not help.
  position(replicaLiteFS, 5, B5);
  const lost = await gate.wait(gate.requested(`__txid=${formatTxid(5n)}.${A5}`, undefined));
  assert.equal(lost.ok, false);
  assert.equal(lost.status, 409);
  assert.equal(JSON.parse(lost.body!).error.code, 'BOOKMARK_LOST');
  // The primary is as far as its lineage goes: a TXID it does not have yet was lost with another primary.
  await assert.rejects(primary.waitForTxid(formatTxid(9n), { checksum: C6 }), { code: 'BOOKMARK_LOST' });
  await primary.waitForTxid(formatTxid(5n), { checksum: A5 });
  // A bare TXID (LiteFS's proxy cookie) still works as before.
  assert.deepEqual(await gate.wait(gate.requested(`__txid=${formatTxid(5n)}`, undefined)), { ok: true });
});
