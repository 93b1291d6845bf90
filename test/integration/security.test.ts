import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { signRequest } from '../../src/wire/auth.js';
import { type FakeNode, startPair, TEST_SECRET } from '../support/fake-cluster.js';
import { postRpc as post, TEST_RPC_PATH } from '../support/rpc-post.js';

const secret = Buffer.from(TEST_SECRET);

const insert = (name: string): Buffer => Buffer.from(JSON.stringify({ op: 'query', mode: 'run', sql: 'INSERT INTO victims (name) VALUES (?)', params: { p: [name] }, timeoutMs: 5_000 }));

describe('the forwarding endpoint refuses what it cannot authenticate, and runs nothing', () => {
  let primary: FakeNode;
  let url: string;
  let close: () => Promise<void>;
  const count = (): bigint => (primary.read((db) => db.prepare('SELECT count(*) AS n FROM victims').get()) as { n: bigint }).n;

  before(async () => {
    ({ primary, close } = await startPair({ maxRequestBytes: 4_096 }));
    await primary.process.call('exec', 'CREATE TABLE victims (name TEXT)');
    url = primary.process.listenUrl!;
  });
  after(() => close());

  test('a correctly signed request runs (the control case)', async () => {
    const body = insert('signed');
    const response = await post(url, body, { ...signRequest(secret, 'test', TEST_RPC_PATH, body) });
    assert.equal(response.status, 200);
    assert.equal(JSON.parse(response.body).ok, true);
    assert.equal(count(), 1n);
  });

  test('no signature', async () => {
    const response = await post(url, insert('unsigned'), {});
    assert.equal(response.status, 401);
    assert.equal(JSON.parse(response.body).error.code, 'UNAUTHORIZED');
    assert.equal(count(), 1n);
  });

  test('a wrong signature (another secret)', async () => {
    const body = insert('wrong-secret');
    const response = await post(url, body, { ...signRequest(Buffer.from('another-secret-that-is-long-enough-0000'), 'test', TEST_RPC_PATH, body) });
    assert.equal(response.status, 401);
    assert.equal(count(), 1n);
  });

  test('a tampered body', async () => {
    const headers = signRequest(secret, 'test', TEST_RPC_PATH, insert('original'));
    const response = await post(url, insert('tampered'), { ...headers });
    assert.equal(response.status, 401);
    assert.equal(count(), 1n);
  });

  test('a replayed nonce', async () => {
    const body = insert('replayed');
    const headers = signRequest(secret, 'test', TEST_RPC_PATH, body);
    assert.equal((await post(url, body, { ...headers })).status, 200);
    const replay = await post(url, body, { ...headers });
    assert.equal(replay.status, 401);
    assert.match(JSON.parse(replay.body).error.message, /replayed/);
    assert.equal(count(), 2n);
  });

  test('a stale timestamp', async () => {
    const body = insert('stale');
    const response = await post(url, body, { ...signRequest(secret, 'test', TEST_RPC_PATH, body, Date.now() - 10 * 60_000) });
    assert.equal(response.status, 401);
    assert.equal(count(), 2n);
  });

  test('an oversized body', async () => {
    const body = insert('x'.repeat(10_000));
    const response = await post(url, body, { ...signRequest(secret, 'test', TEST_RPC_PATH, body) });
    assert.equal(response.status, 413);
    assert.equal(JSON.parse(response.body).error.code, 'REQUEST_TOO_LARGE');
    assert.equal(count(), 2n);
  });
});
