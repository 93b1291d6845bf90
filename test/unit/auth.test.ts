import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bodyDigest, RequestVerifier, signRequest, signResponse, verifyResponse, verifyResponseHeaders } from '../../src/wire/auth.js';

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
  const { signature } = signResponse(secret, 'nonce-aaaaaaaaaaaaaaaa', 200, body);
  assert.equal(verifyResponse(secret, 'nonce-aaaaaaaaaaaaaaaa', 200, body, signature), true);
  assert.equal(verifyResponse(secret, 'nonce-bbbbbbbbbbbbbbbb', 200, body, signature), false);
  assert.equal(verifyResponse(secret, 'nonce-aaaaaaaaaaaaaaaa', 500, body, signature), false);
  assert.equal(verifyResponse(secret, 'nonce-aaaaaaaaaaaaaaaa', 200, body, undefined), false);
});

test('the headers alone authenticate method, path, length and digest, before the body is read', () => {
  const verifier = new RequestVerifier(secret, 30_000);
  const headers = signRequest(secret, 'node-b', '/p', body);
  assert.equal(verifier.verifyHeaders({ ...headers }, 'GET', '/p').ok, false);
  assert.equal(verifier.verifyHeaders({ ...headers, 'content-length': String(body.length + 1) }, 'POST', '/p').ok, false);
  assert.equal(verifier.verifyHeaders({ ...headers, 'x-litefs-forward-digest': bodyDigest(Buffer.from('other')) }, 'POST', '/p').ok, false);
  assert.equal(verifier.verifyHeaders({ ...headers, 'content-length': '12abc' }, 'POST', '/p').ok, false);
  const verdict = verifier.verifyHeaders({ ...headers }, 'POST', '/p');
  assert.deepEqual(verdict.ok && [verdict.length, verdict.digest], [body.length, bodyDigest(body)]);
  // Same length, other bytes: the headers pass, the digest check that follows the read does not.
  const other = Buffer.from('{"op":"exec!"}');
  assert.equal(new RequestVerifier(secret, 30_000).verify({ ...signRequest(secret, 'n', '/p', body) }, '/p', other).ok, false);
});

test("an answer's headers are verified before its body: status, length and digest are all signed", () => {
  const nonce = 'nonce-aaaaaaaaaaaaaaaa';
  const { signature, digest } = signResponse(secret, nonce, 401, body);
  const headers = { 'x-litefs-forward-signature': signature, 'x-litefs-forward-digest': digest, 'content-length': String(body.length) };
  assert.deepEqual(verifyResponseHeaders(secret, nonce, 401, headers), { length: body.length, digest });
  assert.equal(verifyResponseHeaders(secret, nonce, 200, headers), undefined);
  assert.equal(verifyResponseHeaders(secret, nonce, 401, { ...headers, 'content-length': '999999999' }), undefined);
  assert.equal(verifyResponseHeaders(secret, nonce, 401, { 'content-length': String(body.length) }), undefined);
});
