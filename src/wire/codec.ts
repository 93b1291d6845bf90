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

export function decodeValue(wire: WireValue, safeIntegers: boolean): SqlValue {
  if (wire === null || typeof wire !== 'object') return wire;
  if ('$i' in wire) return safeIntegers ? BigInt(wire.$i) : Number(wire.$i);
  if ('$b' in wire) return Buffer.from(wire.$b, 'base64');
  if ('$r' in wire) return Number(wire.$r);
  throw new TypeError('Unknown wire value');
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
