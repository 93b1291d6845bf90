import assert from 'node:assert/strict';
import { test } from 'node:test';
import { newIdempotencyKey } from '../../src/util/idempotency-key.js';

test('idempotency keys are UUIDv7-shaped, unique, and sort by creation time', () => {
  const keys = Array.from({ length: 1_000 }, (_, i) => newIdempotencyKey(1_700_000_000_000 + i));
  for (const key of keys) assert.match(key, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(new Set(keys).size, keys.length);
  assert.deepEqual([...keys].sort(), keys);
  assert.equal(newIdempotencyKey(0x0123456789ab).slice(0, 13), '01234567-89ab');
});
