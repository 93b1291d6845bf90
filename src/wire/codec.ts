import { LiteFSForwardError } from '../errors.js';
import type { BindParameters, QueryResult, SqlValue } from '../types.js';

/**
 * SQLite values on the wire, as JSON. A JSON number is always REAL and INTEGER is always tagged, because
 * better-sqlite3 binds a JS number as REAL and a bigint as INTEGER and the two store differently.
 */
export type WireValue = null | number | string | { $i: string } | { $b: string } | { $r: string };

export type WireParams = { p: WireValue[] } | { n: Record<string, WireValue> };

export interface WireResult {
  /** Column names; absent for statements that return no data. */
  c?: string[];
  r?: WireValue[][];
  ch: number;
  id: WireValue;
}

export function encodeValue(value: unknown): WireValue {
  switch (typeof value) {
    case 'string':
      return value;
    case 'number':
      return Number.isFinite(value) && !Object.is(value, -0) ? value : { $r: Object.is(value, -0) ? '-0' : String(value) };
    case 'bigint':
      return { $i: value.toString() };
    case 'undefined':
      return null;
    case 'object':
      if (value === null) return null;
      if (value instanceof Uint8Array) return { $b: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64') };
  }
  // The same refusal better-sqlite3 gives, so a forwarded call fails exactly like a local one.
  throw new TypeError('SQLite3 can only bind numbers, strings, bigints, buffers, and null');
}

/** Canonical, padded base64: Node's decoder skips invalid characters silently, so a bad blob must be caught first. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const INTEGER = /^-?\d{1,19}$/;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const SPECIAL_REALS = new Set(['NaN', 'Infinity', '-Infinity', '-0']);

/** Why `value` is not a wire value, or undefined when it is one. Never echoes the value. */
export function wireValueProblem(value: unknown): string | undefined {
  if (value === null || typeof value === 'string') return undefined;
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : 'is not a finite number';
  if (typeof value !== 'object' || Array.isArray(value)) return 'is not a SQLite value';
  const keys = Object.keys(value);
  if (keys.length !== 1) return 'is not a SQLite value';
  const tagged = value as Record<string, unknown>;
  if (typeof tagged.$i === 'string') {
    if (!INTEGER.test(tagged.$i)) return 'is not a 64-bit integer ($i)';
    const n = BigInt(tagged.$i);
    return n < INT64_MIN || n > INT64_MAX ? 'is not a 64-bit integer ($i)' : undefined;
  }
  if (typeof tagged.$b === 'string') return BASE64.test(tagged.$b) ? undefined : 'is not valid base64 ($b)';
  if (typeof tagged.$r === 'string') return SPECIAL_REALS.has(tagged.$r) ? undefined : 'is not a special REAL ($r)';
  return 'is not a SQLite value';
}

export function decodeValue(wire: WireValue, safeIntegers: boolean): SqlValue {
  const problem = wireValueProblem(wire);
  if (problem !== undefined) throw new LiteFSForwardError('PROTOCOL_ERROR', `A value on the wire ${problem}.`);
  if (wire === null || typeof wire !== 'object') return wire;
  if ('$i' in wire) return safeIntegers ? BigInt(wire.$i) : Number(wire.$i);
  if ('$b' in wire) return Buffer.from(wire.$b, 'base64');
  return Number((wire as { $r: string }).$r);
}

export function encodeParams(params: BindParameters | undefined): WireParams | undefined {
  if (params === undefined) return undefined;
  if (Array.isArray(params)) return { p: params.map(encodeValue) };
  if (params === null || typeof params !== 'object' || params instanceof Uint8Array) {
    // A lone value, as better-sqlite3 also accepts `stmt.run(5)`.
    return { p: [encodeValue(params)] };
  }
  const named: Record<string, WireValue> = {};
  for (const [name, value] of Object.entries(params)) named[name] = encodeValue(value);
  return { n: named };
}

/** Parameters as better-sqlite3 binds them on the primary (integers stay bigint). */
export function decodeParams(wire: WireParams | undefined): BindParameters | undefined {
  if (wire === undefined) return undefined;
  if ('p' in wire) return wire.p.map((value) => decodeValue(value, true));
  const named: Record<string, SqlValue> = {};
  for (const [name, value] of Object.entries(wire.n)) named[name] = decodeValue(value, true);
  return named;
}

export function encodeResult(result: QueryResult): WireResult {
  const wire: WireResult = { ch: result.changes, id: encodeValue(result.lastInsertRowid) };
  if (result.columns.length > 0) {
    wire.c = result.columns;
    wire.r = result.rows.map((row) => row.map(encodeValue));
  }
  return wire;
}

export function decodeResult(wire: WireResult, safeIntegers: boolean): QueryResult {
  return {
    columns: wire.c ?? [],
    rows: wire.r?.map((row) => row.map((value) => decodeValue(value, safeIntegers))) ?? [],
    changes: wire.ch,
    lastInsertRowid: decodeValue(wire.id, safeIntegers) as number | bigint,
  };
}
