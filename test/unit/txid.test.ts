import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareTxid, formatTxid, isTxid, parseTxid } from '../../src/util/txid.js';

test('TXIDs are uint64: exact beyond 2^53, compared by value, written as 16 lowercase hex digits', () => {
  for (const value of [0n, 1n, 2n ** 53n + 1n, 2n ** 64n - 1n]) {
    const hex = formatTxid(value);
    assert.equal(hex.length, 16);
    assert.ok(isTxid(hex), hex);
    assert.equal(parseTxid(hex), value);
  }
  assert.equal(compareTxid(formatTxid(2n ** 53n + 1n), formatTxid(2n ** 53n)), 1);
  assert.equal(compareTxid('00000000000000ff', '0000000000000100'), -1);
  assert.equal(compareTxid('ffffffffffffffff', 'ffffffffffffffff'), 0);
  for (const bad of ['', 'FFFFFFFFFFFFFFFF', '0'.repeat(15), '0'.repeat(17), 'g'.repeat(16), 17, undefined]) assert.equal(isTxid(bad), false, String(bad));
});
