// Issue 10, tracing: forwarded calls are published with TracingChannel.tracePromise, so an APM that binds its store
// on `start` sees it in everything the call does (its outgoing HTTP request included), and remote transactions are
// traced as `transaction`.
import assert from 'node:assert/strict';
import { AsyncLocalStorage } from 'node:async_hooks';
import { subscribe, tracingChannel, unsubscribe } from 'node:diagnostics_channel';
import { test } from 'node:test';
import type { ForwardContext } from '../../src/diagnostics.js';
import { startInProcessPair } from '../support/fake-cluster.js';

interface Seen {
  event: string;
  kind: string;
  sql: string | undefined;
  primary: string | undefined;
  txid: string | undefined;
  error: string | undefined;
  durationMs: number | undefined;
}

test("forwarded calls are traced with tracePromise: start's bound store reaches the outgoing request; transactions are traced", async (t) => {
  const { primary, replica, close } = await startInProcessPair();
  const channel = tracingChannel<string, ForwardContext>('litefs-forward:forward');
  const store = new AsyncLocalStorage<string>();
  channel.start.bindStore(store, (context) => `span:${context.kind}:${context.sql ?? '-'}`);
  const seen: Seen[] = [];
  const record = (event: string) => (context: ForwardContext) => {
    seen.push({
      event,
      kind: context.kind,
      sql: context.sql,
      primary: context.primary,
      txid: context.txid,
      error: (context.error as { code?: string } | undefined)?.code,
      durationMs: context.durationMs,
    });
  };
  const handlers = { start: record('start'), end: () => {}, asyncStart: () => {}, asyncEnd: record('asyncEnd'), error: record('error') };
  channel.subscribe(handlers);
  // What an APM's HTTP instrumentation reads when the client request starts.
  const storesAtRequest: (string | undefined)[] = [];
  const onRequest = (): void => void storesAtRequest.push(store.getStore());
  subscribe('http.client.request.start', onRequest);
  t.after(async () => {
    channel.unsubscribe(handlers);
    channel.start.unbindStore(store);
    unsubscribe('http.client.request.start', onRequest);
    await close();
  });

  await primary.exec('CREATE TABLE t (v TEXT UNIQUE)');
  await replica.run('INSERT INTO t VALUES (?)', ['a']);
  assert.deepEqual(storesAtRequest, ['span:query:INSERT INTO t VALUES (?)'], "the request ran in the span's store");
  assert.deepEqual(
    seen.map((event) => [event.event, event.kind, event.primary]),
    [
      ['start', 'query', undefined],
      ['asyncEnd', 'query', 'node-a'],
    ],
  );
  assert.ok((seen[1]?.durationMs ?? -1) >= 0);

  // A failure: the error event carries the error; the trace still ends.
  seen.length = 0;
  await assert.rejects(replica.run('INSERT INTO t VALUES (?)', ['a']), { code: 'SQLITE_CONSTRAINT_UNIQUE' });
  assert.deepEqual(
    seen.map((event) => [event.event, event.error]),
    [
      ['start', undefined],
      ['error', 'SQLITE_CONSTRAINT_UNIQUE'],
      ['asyncEnd', 'SQLITE_CONSTRAINT_UNIQUE'],
    ],
  );

  // A remote transaction: its begin, each step and its commit are traced as `transaction`, in the span's store.
  seen.length = 0;
  storesAtRequest.length = 0;
  await replica.transaction(async (tx) => {
    await tx.run('INSERT INTO t VALUES (?)', ['in-tx']);
  });
  const ends = seen.filter((event) => event.event === 'asyncEnd');
  assert.deepEqual(
    ends.map((event) => [event.kind, event.sql, event.primary]),
    [
      ['transaction', undefined, 'node-a'],
      ['transaction', 'INSERT INTO t VALUES (?)', 'node-a'],
      ['transaction', undefined, 'node-a'],
    ],
  );
  assert.equal(storesAtRequest.length, 3);
  assert.ok(storesAtRequest.every((value) => value?.startsWith('span:transaction:')), JSON.stringify(storesAtRequest));
});
