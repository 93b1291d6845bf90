import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resolveConfig } from '../../src/config.js';
import { PrimaryTracker, type TrackingRow, UNKNOWN_DEBOUNCE_MS } from '../../src/detection/primary-tracker.js';
import type { Logger } from '../../src/logger.js';
import type { RoleChange } from '../../src/types.js';
import { FakeLiteFS } from '../support/fake-litefs.js';

function recordingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  const ignore = (): void => {};
  return { warnings, debug: ignore, info: ignore, error: ignore, warn: (_fields, message) => warnings.push(message) };
}

async function tracker(litefs: FakeLiteFS, extra: { row?: () => TrackingRow | undefined; pollInterval?: number; logger?: Logger } = {}) {
  const changes: RoleChange[] = [];
  const instance = new PrimaryTracker(
    resolveConfig({
      path: litefs.databasePath,
      mode: 'litefs',
      primaryFile: litefs.primaryFile,
      eventStreamUrl: litefs.eventStreamUrl,
      hostname: 'self',
      secret: 'x'.repeat(32),
      advertiseUrl: 'http://127.0.0.1:1',
      pollInterval: extra.pollInterval ?? 30_000,
      startTimeout: 2_000,
      ...(extra.logger ? { logger: extra.logger } : {}),
    }),
    { readTrackingRow: extra.row ?? (() => undefined), onRoleChange: (change) => changes.push(change), onTx: () => {}, onEventStreamChange: () => {} },
  );
  instance.start();
  await instance.waitForRole(2_000);
  // The role may come from `.primary` before the stream is subscribed: a broadcast before that would be lost.
  await until(() => instance.signals.eventStream.state === 'connected');
  return { instance, changes };
}

async function until(condition: () => boolean, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

test('event stream: init decides the role and primaryChange moves it', async (t) => {
  const litefs = await FakeLiteFS.start({ isPrimary: false, primaryHostname: 'node-a' });
  const { instance, changes } = await tracker(litefs);
  t.after(async () => {
    await instance.close();
    await litefs.close();
  });
  assert.equal(instance.role, 'replica');
  assert.equal(instance.primaryHostname, 'node-a');
  litefs.setLease(true);
  await until(() => instance.role === 'primary');
  assert.equal(changes.at(-1)?.to, 'primary');
  assert.equal(instance.signals.eventStream.state, 'connected');
});

test('event stream: malformed lines are skipped with a warning', async (t) => {
  const litefs = await FakeLiteFS.start({ isPrimary: false, primaryHostname: 'node-a' });
  const logger = recordingLogger();
  const { instance } = await tracker(litefs, { logger });
  t.after(async () => {
    await instance.close();
    await litefs.close();
  });
  litefs.broadcast('{not json');
  litefs.broadcast(JSON.stringify({ type: 'primaryChange', data: { isPrimary: 'yes' } }));
  litefs.broadcast(JSON.stringify({ type: 'tx', db: 'app.db', data: { txID: 'nothex' } }));
  litefs.broadcast(JSON.stringify({ type: 'primaryChange', data: { isPrimary: false, hostname: 'node-z' } }));
  await until(() => instance.primaryHostname === 'node-z');
  assert.equal(logger.warnings.filter((message) => message.includes('malformed')).length, 3);
  assert.equal(instance.role, 'replica');
});

test('event stream: a stream that drops comes back, and its init is the truth', async (t) => {
  const litefs = await FakeLiteFS.start({ isPrimary: false, primaryHostname: 'node-a' });
  const { instance } = await tracker(litefs);
  t.after(async () => {
    await instance.close();
    await litefs.close();
  });
  assert.equal(litefs.connections, 1);
  // While disconnected, the lease moves and no event can say so.
  litefs.setLease(false, 'node-b', { notify: false });
  litefs.dropStreams();
  await until(() => litefs.connections >= 2 && litefs.subscriberCount === 1);
  // `.primary`, read again on the drop, may tell node-b before the stream's init does: wait for both.
  await until(() => instance.signals.eventStream.state === 'connected' && instance.primaryHostname === 'node-b');
  assert.equal(instance.role, 'replica');
});

test('.primary file: read when there is no event stream, and a missing file is confirmed with /info', async (t) => {
  const litefs = await FakeLiteFS.start({ isPrimary: false, primaryHostname: 'node-a' });
  const changes: RoleChange[] = [];
  const instance = new PrimaryTracker(
    resolveConfig({ path: litefs.databasePath, mode: 'litefs', primaryFile: litefs.primaryFile, eventStreamUrl: `${litefs.baseUrl}/no-events-here`, hostname: 'self', secret: 'x'.repeat(32), advertiseUrl: 'http://127.0.0.1:1', pollInterval: 20 }),
    { readTrackingRow: () => undefined, onRoleChange: (change) => changes.push(change), onTx: () => {}, onEventStreamChange: () => {} },
  );
  // /info answers on the same server: rewrite the URL it derives from the event stream URL.
  instance.start();
  await instance.waitForRole(2_000);
  t.after(async () => {
    await instance.close();
    await litefs.close();
  });
  assert.equal(instance.role, 'replica');
  assert.equal(instance.signals.primaryFile.state, 'present');
  // Election: the file disappears and /info says not primary: the role must not become primary.
  litefs.setLease(false, undefined, { notify: false });
  await until(() => instance.role === 'unknown');
  // This node wins: the file is still missing, and /info now confirms it.
  litefs.setLease(true, undefined, { notify: false });
  await until(() => instance.role === 'primary');
  assert.deepEqual(
    changes.map((change) => change.to),
    ['replica', 'unknown', 'primary'],
  );
});

test('tracking table: a row naming another hostname than LiteFS is stale and never used', async (t) => {
  const litefs = await FakeLiteFS.start({ isPrimary: false, primaryHostname: 'node-b' });
  let row: TrackingRow | undefined = { hostname: 'node-a', rpcUrl: 'http://127.0.0.1:9', updatedAt: Date.now() };
  const { instance } = await tracker(litefs, { row: () => row });
  t.after(async () => {
    await instance.close();
    await litefs.close();
  });
  await assert.rejects(instance.resolvePrimary(AbortSignal.timeout(200)), { code: 'ABORTED' });
  assert.equal(instance.signals.trackingTable.state, 'stale');
  // The new primary's row replicates: the next resolution uses it.
  row = { hostname: 'node-b', rpcUrl: 'http://127.0.0.1:10', updatedAt: Date.now() };
  assert.deepEqual(await instance.resolvePrimary(AbortSignal.timeout(1_000)), { hostname: 'node-b', rpcUrl: 'http://127.0.0.1:10' });
});

test('event stream: after LiteFS comes back, every signal is read again at once, not at the next poll', async (t) => {
  const litefs = await FakeLiteFS.start({ isPrimary: false, primaryHostname: 'node-a' });
  const { instance } = await tracker(litefs, { pollInterval: 60_000 });
  t.after(async () => {
    await instance.close();
    await litefs.close();
  });
  await until(() => instance.signals.primaryFile.state === 'present');
  litefs.setDown(true);
  await until(() => instance.signals.primaryFile.state === 'error' && instance.signals.eventStream.state === 'reconnecting');
  litefs.setDown(false);
  await until(() => instance.signals.eventStream.state === 'connected');
  await until(() => instance.signals.primaryFile.state === 'present', 1_000);
  assert.equal(instance.signals.primaryFile.lastError, undefined);
  assert.equal(instance.role, 'replica');
});

test('role changes: an election that re-announces a dead primary on every reconnect is not noise', async (t) => {
  const litefs = await FakeLiteFS.start({ isPrimary: false, primaryHostname: 'node-a' });
  const { instance, changes } = await tracker(litefs);
  t.after(async () => {
    await instance.close();
    await litefs.close();
  });
  const before = changes.length;
  // What LiteFS does while node-a is dead but holds the lease: "replica of node-a", then "unknown", over and over.
  for (let i = 0; i < 8; i++) {
    litefs.setLease(false, undefined);
    await new Promise((resolve) => setTimeout(resolve, 60));
    litefs.setLease(false, 'node-a');
    await new Promise((resolve) => setTimeout(resolve, 60));
  }
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.deepEqual(changes.slice(before), [], 'repeats that change nothing for a caller are not reported');
  assert.equal(instance.role, 'replica');

  // A real change is reported at once, even while a move to "unknown" is pending.
  litefs.setLease(false, undefined);
  const startedAt = performance.now();
  litefs.setLease(false, 'node-b');
  await until(() => instance.primaryHostname === 'node-b', 1_000);
  assert.ok(performance.now() - startedAt < 50, `reacted in ${performance.now() - startedAt} ms`);
  const promotedAt = performance.now();
  litefs.setLease(true);
  await until(() => instance.role === 'primary', 1_000);
  assert.ok(performance.now() - promotedAt < 50, `became primary in ${performance.now() - promotedAt} ms`);
  assert.deepEqual(
    changes.slice(before).map((change) => [change.to, change.primary]),
    [
      ['replica', 'node-b'],
      ['primary', 'self'],
    ],
  );

  // Losing the lease is never delayed; a lasting "no primary known" on a replica is reported once it lasts.
  litefs.setLease(false, undefined);
  await until(() => instance.role === 'unknown', 200);
  litefs.setLease(false, 'node-c');
  await until(() => instance.role === 'replica', 200);
  const unknownAt = performance.now();
  litefs.setLease(false, undefined);
  await until(() => instance.role === 'unknown', UNKNOWN_DEBOUNCE_MS + 1_000);
  assert.ok(performance.now() - unknownAt >= UNKNOWN_DEBOUNCE_MS - 20);
  assert.deepEqual(
    changes.slice(before + 2).map((change) => change.to),
    ['unknown', 'replica', 'unknown'],
  );
});

test('without an event stream, a caller waiting for the primary reads .primary again (a demotion read it too early)', async (t) => {
  // LiteFS has handed the lease away but not yet written `.primary` here: the read that follows a demotion finds
  // nothing. Only a later read can find the new primary, and the 10-minute poll is no help to a waiting write.
  const litefs = await FakeLiteFS.start({ isPrimary: true });
  const instance = new PrimaryTracker(
    resolveConfig({
      path: litefs.databasePath,
      mode: 'litefs',
      primaryFile: litefs.primaryFile,
      eventStreamUrl: false,
      infoUrl: `${litefs.baseUrl}/info`,
      hostname: 'self',
      secret: 'x'.repeat(32),
      advertiseUrl: 'http://127.0.0.1:1',
      pollInterval: 600_000,
    }),
    {
      readTrackingRow: () => ({ hostname: 'node-b', rpcUrl: 'http://127.0.0.1:9/node-b', updatedAt: Date.now() }),
      onRoleChange: () => {},
      onTx: () => {},
      onEventStreamChange: () => {},
    },
  );
  t.after(async () => {
    await instance.close();
    await litefs.close();
  });
  instance.start();
  await instance.waitForRole(2_000);
  assert.equal(instance.role, 'primary');
  // The lease is gone, and no new primary is written down here yet.
  litefs.setLease(false, undefined, { notify: false });
  instance.demote('LiteFS rejected a write');
  await instance.refresh();
  assert.equal(instance.role, 'unknown', 'the demotion found no .primary yet');
  const resolving = instance.resolvePrimary(AbortSignal.timeout(3_000));
  setTimeout(() => litefs.setLease(false, 'node-b', { notify: false }), 300);
  assert.deepEqual(await resolving, { hostname: 'node-b', rpcUrl: 'http://127.0.0.1:9/node-b' });
});
