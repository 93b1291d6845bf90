import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RequestVerifier, signRequest, signResponse, verifyResponse } from '../../src/wire/auth.js';

const secret = Buffer.from('unit-test-secret-unit-test-secret-00');
const body = Buffer.from('{"op":"query"}');

test('a signed request verifies once; its replay is refused', () => {
  const verifier = new RequestVerifier(secret, 30_000);
  const headers = signRequest(secret, 'node-b', '/p', body);
  assert.equal(verifier.verify({ ...headers }, '/p', body).ok, true);
  assert.deepEqual(verifier.verify({ ...headers }, '/p', body), { ok: false, reason: 'the request was already received (replayed nonce)' });
});

test('path, node, body and timestamp are all covered by the signature', () => {
  const verifier = new RequestVerifier(secret, 30_000);
  const headers = signRequest(secret, 'node-b', '/p', body);
  assert.equal(verifier.verify({ ...headers }, '/other', body).ok, false);
  assert.equal(verifier.verify({ ...headers, 'x-litefs-forward-node': 'node-c' }, '/p', body).ok, false);
  assert.equal(verifier.verify({ ...headers }, '/p', Buffer.from('{"op":"exec"}')).ok, false);
  assert.equal(verifier.verify({ ...headers, 'x-litefs-forward-timestamp': String(Date.now() + 1) }, '/p', body).ok, false);
});

test('old and future timestamps are refused even with a valid signature', () => {
  const verifier = new RequestVerifier(secret, 1_000);
  assert.equal(verifier.verify({ ...signRequest(secret, 'n', '/p', body, Date.now() - 5_000) }, '/p', body).ok, false);
  assert.equal(verifier.verify({ ...signRequest(secret, 'n', '/p', body, Date.now() + 5_000) }, '/p', body).ok, false);
});

test('the nonce cache is bounded and forgets expired nonces', () => {
  const verifier = new RequestVerifier(secret, 1_000, 2);
  const now = Date.now();
  assert.equal(verifier.verify({ ...signRequest(secret, 'n', '/p', body, now) }, '/p', body, now).ok, true);
  assert.equal(verifier.verify({ ...signRequest(secret, 'n', '/p', body, now) }, '/p', body, now).ok, true);
  assert.equal(verifier.verify({ ...signRequest(secret, 'n', '/p', body, now) }, '/p', body, now).ok, false);
  // Two skews later the first nonces have expired and make room.
  const later = now + 2_500;
  assert.equal(verifier.verify({ ...signRequest(secret, 'n', '/p', body, later) }, '/p', body, later).ok, true);
});

test('responses are bound to the request nonce and status', () => {
  const signature = signResponse(secret, 'nonce-aaaaaaaaaaaaaaaa', 200, body);
  assert.equal(verifyResponse(secret, 'nonce-aaaaaaaaaaaaaaaa', 200, body, signature), true);
  assert.equal(verifyResponse(secret, 'nonce-bbbbbbbbbbbbbbbb', 200, body, signature), false);
  assert.equal(verifyResponse(secret, 'nonce-aaaaaaaaaaaaaaaa', 500, body, signature), false);
  assert.equal(verifyResponse(secret, 'nonce-aaaaaaaaaaaaaaaa', 200, body, undefined), false);
});
