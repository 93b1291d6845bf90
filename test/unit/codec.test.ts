import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { decodeParams, decodeResult, decodeValue, encodeParams, encodeResult, encodeValue } from '../../src/wire/codec.js';

const sqlValue = fc.oneof(
  fc.constant(null),
  fc.double(),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
  fc.string(),
  fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes)),
);

test('every SQLite value survives the wire exactly (through JSON text)', () => {
  fc.assert(
    fc.property(sqlValue, (value) => {
      const decoded = decodeValue(JSON.parse(JSON.stringify(encodeValue(value))), true);
      if (typeof value === 'number') assert.ok(Object.is(decoded, value), `${value} became ${String(decoded)}`);
      else assert.deepEqual(decoded, value);
    }),
  );
});

test('a number stays REAL and a bigint stays INTEGER', () => {
  assert.equal(typeof decodeValue(JSON.parse(JSON.stringify(encodeValue(5))), true), 'number');
  assert.equal(typeof decodeValue(JSON.parse(JSON.stringify(encodeValue(5n))), true), 'bigint');
  assert.equal(decodeValue(encodeValue(2n ** 62n + 1n), false), Number(2n ** 62n + 1n));
});

test('positional and named parameters keep their shape', () => {
  fc.assert(
    fc.property(fc.array(sqlValue, { maxLength: 8 }), fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }).filter((key) => key !== '__proto__'), sqlValue, { noNullPrototype: true }), (positional, named) => {
      assert.deepEqual(decodeParams(JSON.parse(JSON.stringify(encodeParams(positional)))), positional);
      assert.deepEqual(decodeParams(JSON.parse(JSON.stringify(encodeParams(named)))), named);
    }),
  );
  assert.deepEqual(decodeParams(encodeParams([undefined])), [null]);
  assert.ok(Object.is(decodeValue(JSON.parse(JSON.stringify(encodeValue(-0))), true), -0));
});

test('values better-sqlite3 cannot bind are refused the same way', () => {
  assert.throws(() => encodeValue(true), TypeError);
  assert.throws(() => encodeValue(new Date()), TypeError);
  assert.throws(() => encodeValue({}), TypeError);
});

test('results keep columns, rows, changes and a lossless lastInsertRowid', () => {
  const result = { columns: ['a', 'b'], rows: [[1n, Buffer.from('x')], [null, 2.5]], changes: 2, lastInsertRowid: 2n ** 60n };
  assert.deepEqual(decodeResult(JSON.parse(JSON.stringify(encodeResult(result))), true), result);
  assert.deepEqual(decodeResult(encodeResult({ columns: [], rows: [], changes: 1, lastInsertRowid: 7n }), false), { columns: [], rows: [], changes: 1, lastInsertRowid: 7 });
});

test('invalid wire values are PROTOCOL_ERROR, never silently decoded (bad base64, out-of-range integers)', () => {
  for (const bad of [{ $b: '!!!' }, { $b: 'YQ' }, { $b: 'YW J j' }, { $i: '1e3' }, { $i: '9223372036854775808' }, { $r: 'nope' }, { $x: '1' }, { $i: '1', $b: '' }]) {
    assert.throws(() => decodeValue(bad as never, true), { code: 'PROTOCOL_ERROR' }, JSON.stringify(bad));
  }
  assert.deepEqual(decodeValue({ $b: 'YWJj' }, true), Buffer.from('abc'));
  assert.equal(decodeValue({ $i: '-9223372036854775808' }, true), -(2n ** 63n));
  assert.ok(Number.isNaN(decodeValue({ $r: 'NaN' }, true)));
});
