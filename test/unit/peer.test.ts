import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadWithPeers, missingPeer } from '../../src/adapters/peer.js';

// A package name that cannot be installed, so Node's real error for a missing package is what is tested.
const absent = 'litefs-forward-absent-peer';
const importAbsent = (path = '') => import(`${absent}${path}`);

test('a missing peer is reported by name, with what to install', async () => {
  await assert.rejects(
    loadWithPeers('litefs-forward/example', [absent], () => importAbsent('/sub')),
    (error: Error & { code?: string; packageName?: string; cause?: unknown }) => {
      assert.equal(error.code, 'ERR_MODULE_NOT_FOUND');
      assert.equal(error.packageName, absent);
      assert.equal(error.message, `litefs-forward/example needs the package "${absent}", which is not installed where litefs-forward can import it. Install it beside litefs-forward: npm install ${absent}`);
      assert.equal((error.cause as { code?: string }).code, 'ERR_MODULE_NOT_FOUND');
      return true;
    },
  );
});

test('other failures, and missing packages that are not peers, pass through unchanged', async () => {
  const original = await importAbsent().catch((error: unknown) => error);
  assert.equal(missingPeer(original, ['kysely']), undefined);
  await assert.rejects(
    loadWithPeers('litefs-forward/example', ['kysely'], () => importAbsent()),
    (error) => error === original || (error as Error).message === (original as Error).message,
  );
  const failure = new Error('boom');
  await assert.rejects(
    loadWithPeers('litefs-forward/example', [absent], () => Promise.reject(failure)),
    (error) => error === failure,
  );
  assert.deepEqual(await loadWithPeers('litefs-forward/example', [absent], async () => ({ ok: true })), { ok: true });
});
