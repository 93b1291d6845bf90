// Wire-codec micro benchmark: the library's JSON codec (as it runs today) against MessagePack, on the full
// round trip of one forwarded call: the replica encodes the request, the primary decodes it and encodes the
// answer, the replica decodes the answer. Signing is left out (the same HMAC runs over either body; it scales
// with the byte counts reported here).
import { randomBytes, randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import type { QueryResult, SqlValue } from '../src/types.js';
import { decodeParams, decodeResult, encodeParams, encodeResult, type WireParams, type WireResult } from '../src/wire/codec.js';
import { MiniMsgpack } from './msgpack.js';
import { median, round } from './util.js';
import { INSERT_SQL } from './workload.js';

interface Packer {
  pack(value: unknown): Uint8Array;
  unpack(bytes: Uint8Array): unknown;
}

interface Payload {
  name: string;
  sql: string;
  mode: 'run' | 'all';
  params: SqlValue[];
  result: QueryResult;
}

interface Codec {
  name: string;
  description: string;
  /** One full round trip; returns the bytes that crossed the wire and what each side decoded. */
  roundTrip(payload: Payload): { bytes: number; params: unknown; result: QueryResult };
}

export interface CodecRow {
  payload: string;
  codec: string;
  /** Best of the rounds. */
  nsPerRoundTrip: number;
  nsMedianOfRounds: number;
  bytes: number;
  /** Time relative to the library's JSON codec on the same payload. */
  vsJson: number;
  lossless: boolean;
}

export interface CodecReport {
  msgpackImplementation: string;
  rows: CodecRow[];
  notes: string[];
}

async function loadMsgpackr(): Promise<{ packer: Packer; source: string } | undefined> {
  const candidates: string[] = ['msgpackr'];
  const fromEnv = process.env['MSGPACKR_MODULE'];
  if (fromEnv) candidates.push(pathToFileURL(fromEnv).href);
  for (const specifier of candidates) {
    try {
      const module = (await import(specifier)) as { Packr: new (options: Record<string, unknown>) => Packer };
      const packer = new module.Packr({ useRecords: false, int64AsType: 'bigint', mapsAsObjects: true });
      return { packer, source: specifier === 'msgpackr' ? 'msgpackr (node_modules)' : `msgpackr (${fromEnv})` };
    } catch {
      // Try the next one.
    }
  }
  return undefined;
}

function payloads(): Payload[] {
  const rowCount = 100;
  const rows: SqlValue[][] = Array.from({ length: rowCount }, (_, i) => [BigInt(1_000 + i), 'node2', BigInt(i), i * 0.37, 'p'.repeat(100), BigInt(1_700_000_000_000 + i)]);
  return [
    {
      name: 'single-row insert',
      sql: INSERT_SQL,
      mode: 'run',
      params: ['node2', 42, 0.123_456, 'p'.repeat(100), 1_700_000_000_123],
      result: { columns: [], rows: [], changes: 1, lastInsertRowid: 123_456n },
    },
    {
      name: '100-row result (RETURNING)',
      sql: `${INSERT_SQL} RETURNING *`,
      mode: 'all',
      params: ['node2', 42, 0.123_456, 'p'.repeat(100), 1_700_000_000_123],
      result: { columns: ['id', 'node', 'seq', 'value', 'payload', 'created_at'], rows, changes: rowCount, lastInsertRowid: 1_099n },
    },
    {
      name: '64 KiB blob insert',
      sql: 'INSERT INTO blobs (data) VALUES (?)',
      mode: 'run',
      params: [randomBytes(64 * 1024)],
      result: { columns: [], rows: [], changes: 1, lastInsertRowid: 7n },
    },
  ];
}

const TXID = '00000000000a1b2c';

/** The library's path today: tagged values, JSON text, UTF-8 buffers. */
function jsonCodec(): Codec {
  return {
    name: 'json (current)',
    description: 'encodeParams/encodeResult tagging + JSON.stringify/JSON.parse + UTF-8 Buffers, exactly as rpc-client and rpc-handler do',
    roundTrip(payload) {
      const requestBody = Buffer.from(JSON.stringify({ op: 'query', mode: payload.mode, sql: payload.sql, params: encodeParams(payload.params), key: randomUUID(), timeoutMs: 15_000 }));
      const request = JSON.parse(requestBody.toString('utf8')) as { params?: WireParams };
      const params = decodeParams(request.params);
      const responseBody = Buffer.from(JSON.stringify({ ok: true, result: encodeResult(payload.result), txid: TXID }));
      const response = JSON.parse(responseBody.toString('utf8')) as { result: WireResult };
      return { bytes: requestBody.length + responseBody.length, params, result: decodeResult(response.result, true) };
    },
  };
}

/** A drop-in swap: the same tagged objects, serialized with MessagePack instead of JSON. */
function taggedMsgpack(packer: Packer, name: string): Codec {
  return {
    name: `${name} (tagged, drop-in)`,
    description: 'the same tagged wire objects (bigint as {$i}, blobs as base64) packed with MessagePack instead of JSON',
    roundTrip(payload) {
      const requestBody = packer.pack({ op: 'query', mode: payload.mode, sql: payload.sql, params: encodeParams(payload.params), key: randomUUID(), timeoutMs: 15_000 });
      const request = packer.unpack(requestBody) as { params?: WireParams };
      const params = decodeParams(request.params);
      const responseBody = packer.pack({ ok: true, result: encodeResult(payload.result), txid: TXID });
      const response = packer.unpack(responseBody) as { result: WireResult };
      return { bytes: requestBody.byteLength + responseBody.byteLength, params, result: decodeResult(response.result, true) };
    },
  };
}

/** A redesigned codec: values travel natively (int64 for bigint, float64 for number, bin for blobs). */
function nativeMsgpack(packer: Packer, name: string): Codec {
  return {
    name: `${name} (native values)`,
    description: 'values packed natively: bigint as int64, number never as int64, Uint8Array as bin; no tags, no base64',
    roundTrip(payload) {
      const requestBody = packer.pack({ op: 'query', mode: payload.mode, sql: payload.sql, params: { p: payload.params }, key: randomUUID(), timeoutMs: 15_000 });
      const request = packer.unpack(requestBody) as { params: { p: SqlValue[] } };
      const wire = payload.result.columns.length > 0 ? { c: payload.result.columns, r: payload.result.rows, ch: payload.result.changes, id: payload.result.lastInsertRowid } : { ch: payload.result.changes, id: payload.result.lastInsertRowid };
      const responseBody = packer.pack({ ok: true, result: wire, txid: TXID });
      const response = packer.unpack(responseBody) as { result: { c?: string[]; r?: SqlValue[][]; ch: number; id: number | bigint } };
      const result: QueryResult = { columns: response.result.c ?? [], rows: response.result.r ?? [], changes: response.result.ch, lastInsertRowid: response.result.id };
      return { bytes: requestBody.byteLength + responseBody.byteLength, params: request.params.p, result };
    },
  };
}

function lossless(codec: Codec, payload: Payload): boolean {
  const { params, result } = codec.roundTrip(payload);
  const normalize = (value: unknown): unknown => (value instanceof Uint8Array ? Buffer.from(value) : value);
  const sameParams = isDeepStrictEqual((params as unknown[]).map(normalize), payload.params.map(normalize));
  const sameResult = isDeepStrictEqual({ ...result, rows: result.rows.map((row) => row.map(normalize)) }, { ...payload.result, rows: payload.result.rows.map((row) => row.map(normalize)) });
  return sameParams && sameResult;
}

/** ns per round trip, median of `rounds` blocks of about `blockMs` each, codecs alternating inside each round. */
export async function runCodecBench(options: { rounds: number; blockMs: number }): Promise<CodecReport> {
  const loaded = await loadMsgpackr();
  const mini = new MiniMsgpack();
  const codecs: Codec[] = [jsonCodec()];
  const notes: string[] = [];
  if (loaded !== undefined) {
    codecs.push(taggedMsgpack(loaded.packer, 'msgpackr'), nativeMsgpack(loaded.packer, 'msgpackr'));
    notes.push(`MessagePack implementation: ${loaded.source}, options { useRecords: false, int64AsType: 'bigint' }.`);
  } else {
    notes.push('msgpackr is not installed (it is not a dependency): MessagePack figures use bench/msgpack.ts, a minimal pure-TS codec; install msgpackr (or set MSGPACKR_MODULE) to measure the optimized library.');
  }
  codecs.push(nativeMsgpack(mini, 'bench msgpack'));
  notes.push('Native MessagePack keeps INTEGER (bigint, int64) and REAL (number) apart without tags; it does lose the sign of -0.0 (msgpackr writes -0 as integer 0), which the JSON codec keeps.');
  const rows: CodecRow[] = [];
  for (const payload of payloads()) {
    const iterations = new Map<Codec, number>();
    for (const codec of codecs) {
      let n = 0;
      const startedAt = performance.now();
      while (performance.now() - startedAt < 20) {
        codec.roundTrip(payload);
        n++;
      }
      iterations.set(codec, Math.max(10, Math.round((n * options.blockMs) / 20)));
    }
    const times = new Map<Codec, number[]>(codecs.map((codec) => [codec, []]));
    for (let r = 0; r < options.rounds; r++) {
      const order = r % 2 === 0 ? codecs : [...codecs].reverse();
      for (const codec of order) {
        const n = iterations.get(codec)!;
        const startedAt = performance.now();
        for (let i = 0; i < n; i++) codec.roundTrip(payload);
        times.get(codec)!.push(((performance.now() - startedAt) * 1e6) / n);
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    // Best of the rounds: the estimate least disturbed by whatever else the machine is running.
    const jsonNs = Math.min(...times.get(codecs[0]!)!);
    for (const codec of codecs) {
      const ns = Math.min(...times.get(codec)!);
      rows.push({
        payload: payload.name,
        codec: codec.name,
        nsPerRoundTrip: Math.round(ns),
        nsMedianOfRounds: Math.round(median(times.get(codec)!)),
        bytes: codec.roundTrip(payload).bytes,
        vsJson: round(ns / jsonNs, 3),
        lossless: lossless(codec, payload),
      });
    }
  }
  return { msgpackImplementation: loaded?.source ?? 'bench/msgpack.ts (msgpackr not installed)', rows, notes };
}
