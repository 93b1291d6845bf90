// One application process on one LiteFS node: a LiteFSDatabase (and, for baselines, a raw better-sqlite3
// connection to the same file), driven by the benchmark driver over IPC. Every latency is timed here, in the
// process that makes the call, so the IPC channel never sits inside a measurement.
import { randomBytes, randomUUID } from 'node:crypto';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { closeSync, mkdtempSync, openSync, readSync, rmSync } from 'node:fs';
import { Agent, createServer, request as httpRequest, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import { CHANNELS, type LiteFSDatabase, type LiteFSForwardOptions, openDatabase, type RoleChangeEvent } from '../src/index.js';
import { HaltLockHelper } from './halt-lock.js';
import { type InterleavedResult, type SideSummary, serveIpc } from './ipc.js';
import { epochNow, errorMessage, sleep } from './util.js';
import { COUNTER_READ_SQL, COUNTER_WRITE_SQL, INSERT_SQL, insertParams, PING_PATH, READ_QUERIES, SCHEMA, SEED_SQL, seedParams } from './workload.js';

export interface NodeAppConfig {
  name: string;
  dbPath: string;
  mountDir: string;
  litefsUrl: string;
  port: number;
  secret: string;
  /** The address the endpoint listens on (default 127.0.0.1; the node's own address in a network namespace). */
  host?: string;
  /** Where other nodes reach the endpoint (default http://127.0.0.1:<port>; a proxy's address when links are shaped). */
  advertiseUrl?: string;
}

export interface RoleChangeRecord {
  t: number;
  from: string;
  to: string;
  primary: string | undefined;
  reason: string;
  via: 'onRoleChange' | 'channel';
}

export interface LoopRecord {
  start: number;
  end: number;
  ok: boolean;
  forwarded: boolean;
  role: string;
  error?: string;
}

export interface MemorySample {
  writes: number;
  t: number;
  /** Megabytes, 10^6 bytes. */
  rssMB: number;
  heapUsedMB: number;
  heapTotalMB: number;
  externalMB: number;
  arrayBuffersMB: number;
}

const config = JSON.parse(process.env['BENCH_NODE'] ?? '{}') as NodeAppConfig;
let db: LiteFSDatabase | undefined;
/** A second instance on the same node with other options (e.g. exactlyOnce off), for side-by-side variants. */
let alt: LiteFSDatabase | undefined;
let raw: Database.Database | undefined;
let seq = 0;
const roleChanges: RoleChangeRecord[] = [];
let forwardEnds = 0;

const onForwardEnd = (): void => {
  forwardEnds++;
};
const onRoleChannel = (message: unknown): void => {
  const event = message as RoleChangeEvent;
  if (event.node !== config.name) return;
  roleChanges.push({ t: epochNow(), from: event.from, to: event.to, primary: event.primary, reason: event.reason, via: 'channel' });
};
subscribe(CHANNELS.roleChange, onRoleChannel);

function database(): LiteFSDatabase {
  if (db === undefined) throw new Error(`${config.name}: the database is not open`);
  return db;
}

function rawConnection(): Database.Database {
  raw ??= new Database(config.dbPath, { fileMustExist: true, timeout: 5_000 });
  return raw;
}

/**
 * The forwarding endpoint is served by this process's own HTTP server (`listen: false` + `db.rpcHandler`, the
 * setup the README documents), configured as the built-in one (keepAliveTimeout 65 s), so that the time each
 * forwarded call spends inside the primary's endpoint can be recorded: from the request's headers to the last
 * byte of the answer handed to the socket.
 */
let server: Server | undefined;
const serverTimes: number[] = [];

function startServer(): Promise<void> {
  const instance = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
    // The network floor's probe (see `ping`): answered here, without the library.
    if (req.url === PING_PATH) {
      res.writeHead(204).end();
      return;
    }
    const startedAt = performance.now();
    res.once('finish', () => {
      if (serverTimes.length < 1_000_000) serverTimes.push(performance.now() - startedAt);
    });
    const handler = db?.rpcHandler;
    if (handler === undefined) {
      res.writeHead(503).end();
      return;
    }
    handler(req, res);
  });
  server = instance;
  return new Promise((resolve, reject) => {
    instance.once('error', reject);
    instance.listen(config.port, config.host ?? '127.0.0.1', () => {
      instance.off('error', reject);
      resolve();
    });
  });
}

async function stopServer(): Promise<void> {
  const instance = server;
  server = undefined;
  if (instance === undefined) return;
  await new Promise<void>((resolve) => {
    instance.close(() => resolve());
    instance.closeAllConnections();
  });
}

/** This node's library settings: LiteFS's hostname, and the endpoint this process serves itself. */
function databaseOptions(options: Partial<LiteFSForwardOptions>): LiteFSForwardOptions {
  return {
    path: config.dbPath,
    mode: 'litefs',
    primaryFile: `${config.mountDir}/.primary`,
    eventStreamUrl: `${config.litefsUrl}/events`,
    hostname: config.name,
    advertiseUrl: config.advertiseUrl ?? `http://127.0.0.1:${config.port}`,
    listen: false,
    secret: config.secret,
    startTimeout: 60_000,
    journalMode: 'wal',
    ...options,
  };
}

async function open(options: Partial<LiteFSForwardOptions> = {}): Promise<{ role: string; openMs: number }> {
  const startedAt = performance.now();
  if (server === undefined) await startServer();
  db = await openDatabase(databaseOptions(options));
  db.onRoleChange((change) => roleChanges.push({ t: epochNow(), from: change.from, to: change.to, primary: change.primary, reason: change.reason, via: 'onRoleChange' }));
  return { role: db.role, openMs: performance.now() - startedAt };
}

async function openAlt(options: Partial<LiteFSForwardOptions>): Promise<{ role: string }> {
  await alt?.close();
  alt = await openDatabase(databaseOptions(options));
  return { role: alt.role };
}

async function close(): Promise<void> {
  await closeHaltHelpers();
  await stopServer();
  await alt?.close();
  alt = undefined;
  await db?.close();
  db = undefined;
  raw?.close();
  raw = undefined;
}

interface ReadsArgs {
  rounds: number;
  /** Calls per query type and side in each round. */
  perRound: number;
  rows: number;
  /** Also run the comparison on a plain (non-FUSE) copy of the file, the library in local mode. */
  control: boolean;
}

function sideSummary(values: number[]): SideSummary {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number): number => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]! * 1000;
  const mean = (values.reduce((sum, value) => sum + value, 0) / values.length) * 1000;
  return { p50Us: Math.round(at(0.5) * 1000) / 1000, meanUs: Math.round(mean * 1000) / 1000, p90Us: Math.round(at(0.9) * 1000) / 1000 };
}

/**
 * The library's read path (`await db.get/all`) against raw better-sqlite3 prepared statements on the same file.
 * Calls are interleaved one by one (raw then library, or the reverse, alternating), each timed on its own, so that
 * both sides see the same FUSE, cache and CPU conditions: reads through LiteFS cost tens of microseconds and
 * drift with the load of the machine, far more than what is being compared.
 */
async function interleavedReads(lib: LiteFSDatabase, path: string, args: ReadsArgs): Promise<InterleavedResult> {
  // A second raw connection gives an A/A comparison: how far apart two identical sides measure here.
  const connections = [new Database(path, { fileMustExist: true }), new Database(path, { fileMustExist: true })];
  try {
    const statements = connections.map((connection) => READ_QUERIES.map((query) => connection.prepare(query.sql)));
    const runRaw = (side: 0 | 1, q: number, params: number[]): unknown => {
      const statement = statements[side]![q]!;
      return READ_QUERIES[q]!.mode === 'get' ? statement.get(...params) : statement.all(...params);
    };
    const runLib = (q: number, params: number[]): Promise<unknown> => {
      const query = READ_QUERIES[q]!;
      return query.mode === 'get' ? lib.get(query.sql, params) : lib.all(query.sql, params);
    };
    // Same answers from every side, and warm caches and JIT.
    for (let q = 0; q < READ_QUERIES.length; q++) {
      for (let i = 0; i < 200; i++) {
        const params = READ_QUERIES[q]!.params(i, args.rows);
        const expected = JSON.stringify(runRaw(0, q, params));
        const actual = JSON.stringify(await runLib(q, params));
        if (expected !== actual || JSON.stringify(runRaw(1, q, params)) !== expected) throw new Error(`read mismatch on ${READ_QUERIES[q]!.name}: ${actual} != ${expected}`);
      }
    }
    const times: number[][][] = [0, 1, 2].map(() => READ_QUERIES.map(() => []));
    const roundRatios: number[] = [];
    const aaRatios: number[] = [];
    // Sides: 0 = raw, 1 = raw (second connection), 2 = library. Every order of the three is used in turn.
    const orders = [
      [0, 1, 2],
        [2, 0, 1],
        [1, 2, 0],
        [0, 2, 1],
        [1, 0, 2],
        [2, 1, 0],
      ] as const;
    for (let round = 0; round < args.rounds; round++) {
      const sums = [0, 0, 0];
      for (let i = 0; i < args.perRound; i++) {
        for (let q = 0; q < READ_QUERIES.length; q++) {
          const params = READ_QUERIES[q]!.params(round * args.perRound + i, args.rows);
          for (const side of orders[(i + q + round) % orders.length]!) {
            const t = performance.now();
            if (side === 2) await runLib(q, params);
            else runRaw(side, q, params);
            const elapsed = performance.now() - t;
            times[side]![q]!.push(elapsed);
            sums[side]! += elapsed;
          }
        }
      }
      roundRatios.push(sums[2]! / sums[0]!);
      aaRatios.push(sums[1]! / sums[0]!);
      await new Promise((resolve) => setImmediate(resolve));
    }
    return {
        queries: READ_QUERIES.map((query, q) => ({ name: query.name, raw: sideSummary(times[0]![q]!), raw2: sideSummary(times[1]![q]!), lib: sideSummary(times[2]![q]!) })),
        roundRatios,
        aaRatios,
      };
  } finally {
    for (const connection of connections) connection.close();
  }
}

async function reads(args: ReadsArgs): Promise<{ litefs: InterleavedResult; local?: InterleavedResult }> {
  const litefs = await interleavedReads(database(), config.dbPath, args);
  if (!args.control) return { litefs };
  // The same comparison on a plain copy of the file: what the library adds when reads are not FUSE-bound.
  const dir = mkdtempSync(join(tmpdir(), 'litefs-forward-bench-'));
  const copy = join(dir, 'copy.db');
  try {
    rawConnection().exec(`VACUUM INTO '${copy}'`);
    const local = await openDatabase({ path: copy, mode: 'local' });
    try {
      return { litefs, local: await interleavedReads(local, copy, args) };
    } finally {
      await local.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface LatencyArgs {
  variant: 'lib' | 'raw';
  /** Use the second instance (openAlt). */
  alt?: boolean;
  readYourWrites?: boolean;
  /** Give each call its own idempotency key (the primary then records it in the ledger, as forwarded calls do). */
  withKey?: boolean;
  n: number;
  warmup: number;
}

/** Sequential single-row inserts, one at a time; returns each one's latency in ms. */
async function latency(args: LatencyArgs): Promise<number[]> {
  const samples: number[] = [];
  if (args.variant === 'raw') {
    const statement = rawConnection().prepare(INSERT_SQL);
    for (let i = 0; i < args.warmup + args.n; i++) {
      const params = insertParams(config.name, seq++);
      const startedAt = performance.now();
      statement.run(...params);
      const elapsed = performance.now() - startedAt;
      if (i >= args.warmup) samples.push(elapsed);
      // Let the process breathe between samples, as the library's event loop does.
      if (i % 16 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    return samples;
  }
  const lib = args.alt ? alt : database();
  if (lib === undefined) throw new Error('the second instance is not open');
  const options = args.readYourWrites === undefined ? {} : { readYourWrites: args.readYourWrites };
  for (let i = 0; i < args.warmup + args.n; i++) {
    const params = insertParams(config.name, seq++);
    const callOptions = args.withKey ? { ...options, idempotencyKey: randomUUID() } : options;
    const startedAt = performance.now();
    await lib.run(INSERT_SQL, params, callOptions);
    const elapsed = performance.now() - startedAt;
    if (i >= args.warmup) samples.push(elapsed);
  }
  return samples;
}

/**
 * The network floor of a forwarded call: sequential HTTP GETs over one keep-alive connection to `url` (the primary's
 * endpoint, through the same proxy forwarded calls take), answered without touching the database.
 */
async function ping(args: { url: string; n: number; warmup: number }): Promise<number[]> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const once = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const req = httpRequest(args.url, { agent }, (res) => {
        res.resume();
        res.once('end', () => resolve());
        res.once('error', reject);
      });
      req.once('error', reject);
      req.end();
    });
  const samples: number[] = [];
  try {
    for (let i = 0; i < args.warmup + args.n; i++) {
      const startedAt = performance.now();
      await once();
      if (i >= args.warmup) samples.push(performance.now() - startedAt);
    }
  } finally {
    agent.destroy();
  }
  return samples;
}

interface ThroughputArgs {
  variant: 'lib' | 'raw';
  /** Use the second instance (openAlt). */
  alt?: boolean;
  /** Pass time-ordered idempotency keys (like UUIDv7) instead of letting the library draw random UUIDs. */
  timeOrderedKeys?: boolean;
  writers: number;
  startAt: number;
  durationMs: number;
  readYourWrites?: boolean;
}

interface ThroughputResult {
  count: number;
  errors: number;
  firstError?: string;
  start: number;
  end: number;
}

interface LedgerArgs {
  /** Rows already in each ledger table, as after some time of traffic. */
  prefill: number;
  samples: number;
  /** Rows per transaction (1: a single write; more: a group commit). */
  groupSize: number;
}

/**
 * The idempotency ledger's cost, measured on the primary with raw better-sqlite3 on bench-only tables: one
 * transaction = the user's insert + (optionally) one ledger lookup and row per insert, as the write queue does, for
 * several ledger designs. Reports
 * commit latency and WAL frames (pages) written per commit.
 */
function ledgerBench(args: LedgerArgs): Record<string, { p50Ms: number; p90Ms: number; walFramesPerCommit: number | null }> {
  const connection = rawConnection();
  const designs = [
    { id: 'no ledger', table: undefined, timeOrdered: false },
    { id: 'current: random UUIDv4 key + created_at index', table: 'bench_ledger_uuid4_idx', timeOrdered: false, index: true },
    { id: 'time-ordered key + created_at index', table: 'bench_ledger_uuid7_idx', timeOrdered: true, index: true },
    { id: 'time-ordered key, no index (purge by key range)', table: 'bench_ledger_uuid7', timeOrdered: true, index: false },
    { id: 'random UUIDv4 key, no index', table: 'bench_ledger_uuid4', timeOrdered: false, index: false },
  ];
  const result = '{"ch":1,"id":{"$i":"123456"}}';
  const key = (timeOrdered: boolean): string => (timeOrdered ? timeOrderedKey() : randomUUID());
  for (const design of designs) {
    if (design.table === undefined) continue;
    connection.exec(`DROP TABLE IF EXISTS ${design.table}`);
    connection.exec(`CREATE TABLE ${design.table} (key TEXT PRIMARY KEY, result TEXT NOT NULL, created_at INTEGER NOT NULL) WITHOUT ROWID`);
    if (design.index) connection.exec(`CREATE INDEX ${design.table}_created_at ON ${design.table} (created_at)`);
    const insert = connection.prepare(`INSERT INTO ${design.table} (key, result, created_at) VALUES (?, ?, ?)`);
    connection.transaction(() => {
      for (let i = 0; i < args.prefill; i++) insert.run(key(design.timeOrdered), result, Date.now());
    })();
  }
  const write = connection.prepare(INSERT_SQL);
  const inserts = new Map(designs.map((design) => [design.id, design.table === undefined ? undefined : connection.prepare(`INSERT INTO ${design.table} (key, result, created_at) VALUES (?, ?, ?)`)]));
  // The write queue looks each key up before running the unit (a retry returns the recorded result).
  const lookups = new Map(designs.map((design) => [design.id, design.table === undefined ? undefined : connection.prepare(`SELECT result FROM ${design.table} WHERE key = ?`)]));
  const times = new Map<string, number[]>(designs.map((design) => [design.id, []]));
  const frames = new Map<string, number[]>(designs.map((design) => [design.id, []]));
  // The WAL index header in -shm holds mxFrame, the last valid frame of the WAL (offset 16, native byte order).
  const shm = openSync(`${config.dbPath}-shm`, 'r');
  const header = Buffer.alloc(4);
  const walFrames = (): number => {
    try {
      readSync(shm, header, 0, 4, 16);
      return header.readUInt32LE(0);
    } catch {
      return -1;
    }
  };
  for (let i = 0; i < args.samples; i++) {
    for (let d = 0; d < designs.length; d++) {
      const design = designs[(d + i) % designs.length]!;
      const insert = inserts.get(design.id);
      const lookup = lookups.get(design.id);
      const before = walFrames();
      const startedAt = performance.now();
      connection.exec('BEGIN IMMEDIATE');
      for (let r = 0; r < args.groupSize; r++) {
        const k = key(design.timeOrdered);
        lookup?.get(k);
        write.run(...insertParams(config.name, seq++));
        insert?.run(k, result, Date.now());
      }
      connection.exec('COMMIT');
      times.get(design.id)!.push(performance.now() - startedAt);
      const after = walFrames();
      // A smaller mxFrame means the WAL restarted after a checkpoint: no count for that commit.
      if (before >= 0 && after > before) frames.get(design.id)!.push(after - before);
    }
  }
  closeSync(shm);
  for (const design of designs) if (design.table !== undefined) connection.exec(`DROP TABLE ${design.table}`);
  const out: Record<string, { p50Ms: number; p90Ms: number; walFramesPerCommit: number | null }> = {};
  for (const design of designs) {
    const sorted = [...times.get(design.id)!].sort((a, b) => a - b);
    const framesSorted = [...frames.get(design.id)!].sort((a, b) => a - b);
    out[design.id] = {
      p50Ms: Math.round(sorted[Math.floor(sorted.length / 2)]! * 1000) / 1000,
      p90Ms: Math.round(sorted[Math.floor(sorted.length * 0.9)]! * 1000) / 1000,
      walFramesPerCommit: framesSorted.length === 0 ? null : framesSorted[Math.floor(framesSorted.length / 2)]!,
    };
  }
  return out;
}

let keyCounter = 0;

/** A key that sorts by creation time, like a UUIDv7: 48-bit milliseconds, then a per-process counter and randomness. */
function timeOrderedKey(): string {
  const counter = (keyCounter++ & 0xffff).toString(16).padStart(4, '0');
  return `${Date.now().toString(16).padStart(12, '0')}-${counter}-${randomBytes(8).toString('hex')}`;
}

/** Writes for `durationMs` from `startAt` (epoch ms); counts the writes that completed inside the window. */
async function throughput(args: ThroughputArgs): Promise<ThroughputResult> {
  const wait = args.startAt - epochNow();
  if (wait > 0) await sleep(wait);
  const start = epochNow();
  const end = start + args.durationMs;
  let count = 0;
  let errors = 0;
  let firstError: string | undefined;
  if (args.variant === 'raw') {
    const statement = rawConnection().prepare(INSERT_SQL);
    let i = 0;
    while (epochNow() < end) {
      statement.run(...insertParams(config.name, seq++));
      count++;
      if (++i % 64 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    return { count, errors, start, end: epochNow() };
  }
  const lib = args.alt ? alt : database();
  if (lib === undefined) throw new Error('the second instance is not open');
  const options = args.readYourWrites === undefined ? {} : { readYourWrites: args.readYourWrites };
  const writer = async (): Promise<void> => {
    while (epochNow() < end) {
      try {
        await lib.run(INSERT_SQL, insertParams(config.name, seq++), args.timeOrderedKeys ? { ...options, idempotencyKey: timeOrderedKey() } : options);
        if (epochNow() <= end) count++;
      } catch (error) {
        errors++;
        firstError ??= errorMessage(error);
        await sleep(5);
      }
    }
  };
  await Promise.all(Array.from({ length: args.writers }, writer));
  const result: ThroughputResult = { count, errors, start, end };
  if (firstError !== undefined) result.firstError = firstError;
  return result;
}

/** A continuous single writer, for handovers and failovers: records every call's outcome. */
const loop = { running: false, records: [] as LoopRecord[], done: Promise.resolve() };

function loopStart(args: { readYourWrites?: boolean; timeoutMs?: number }): { started: boolean } {
  if (loop.running) return { started: false };
  loop.running = true;
  loop.records = [];
  subscribe(`tracing:${CHANNELS.forward}:asyncEnd`, onForwardEnd);
  const options = { timeout: args.timeoutMs ?? 30_000, ...(args.readYourWrites === undefined ? {} : { readYourWrites: args.readYourWrites }) };
  loop.done = (async () => {
    while (loop.running) {
      const lib = db;
      if (lib === undefined) break;
      const before = forwardEnds;
      const start = epochNow();
      try {
        await lib.run(INSERT_SQL, insertParams(config.name, seq++), options);
        loop.records.push({ start, end: epochNow(), ok: true, forwarded: forwardEnds > before, role: lib.role });
      } catch (error) {
        loop.records.push({ start, end: epochNow(), ok: false, forwarded: false, role: lib.role, error: errorMessage(error) });
        await sleep(10);
      }
    }
  })();
  return { started: true };
}

/** The first successful write that ended after `after` (epoch ms), if any yet. */
function loopFirst(args: { after: number; forwarded?: boolean }): LoopRecord | null {
  return loop.records.find((record) => record.ok && record.start >= args.after && (args.forwarded === undefined || record.forwarded === args.forwarded)) ?? null;
}

async function loopStop(): Promise<LoopRecord[]> {
  loop.running = false;
  await loop.done;
  unsubscribe(`tracing:${CHANNELS.forward}:asyncEnd`, onForwardEnd);
  return loop.records;
}

function memoryNow(writes: number): MemorySample {
  const usage = process.memoryUsage();
  const mb = (bytes: number): number => Math.round(bytes / 1e4) / 100;
  return {
    writes,
    t: epochNow(),
    rssMB: mb(usage.rss),
    heapUsedMB: mb(usage.heapUsed),
    heapTotalMB: mb(usage.heapTotal),
    externalMB: mb(usage.external),
    arrayBuffersMB: mb(usage.arrayBuffers),
  };
}

function collectGarbage(): boolean {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) return false;
  gc();
  gc();
  return true;
}

interface MemoryArgs {
  total: number;
  warmup: number;
  concurrency: number;
  sampleEvery: number;
}

/** RSS of this process over `total` forwarded writes, after a warm-up, with a full GC at both ends. */
async function memory(args: MemoryArgs): Promise<unknown> {
  const lib = database();
  const run = async (count: number, onWrite?: (done: number) => void): Promise<{ errors: number; firstError?: string }> => {
    let issued = 0;
    let done = 0;
    let errors = 0;
    let firstError: string | undefined;
    const writer = async (): Promise<void> => {
      while (issued < count) {
        issued++;
        try {
          await lib.run(INSERT_SQL, insertParams(config.name, seq++));
        } catch (error) {
          errors++;
          firstError ??= errorMessage(error);
        }
        done++;
        onWrite?.(done);
      }
    };
    await Promise.all(Array.from({ length: args.concurrency }, writer));
    return firstError === undefined ? { errors } : { errors, firstError };
  };
  const gcAvailable = collectGarbage();
  const opened = memoryNow(-args.warmup);
  await run(args.warmup);
  collectGarbage();
  const base = memoryNow(0);
  const samples: MemorySample[] = [base];
  const startedAt = performance.now();
  const outcome = await run(args.total, (done) => {
    if (done % args.sampleEvery === 0) samples.push(memoryNow(done));
  });
  const durationMs = performance.now() - startedAt;
  collectGarbage();
  const end = memoryNow(args.total);
  return { gcAvailable, opened, base, end, samples, durationMs, ...outcome };
}

// --- LiteFS's halt lock (bench/halt-lock.ts) -------------------------------------------------------------------

/** Every helper this process started, so that close() ends them all. */
const haltHelpers = new Set<HaltLockHelper>();
/** The one helper sequential halt-lock writes reuse, as an app would keep its lock file open. */
let sequentialHelper: HaltLockHelper | undefined;

async function startHaltHelper(binary: string): Promise<HaltLockHelper> {
  const helper = await HaltLockHelper.start(binary, `${config.dbPath}-lock`);
  haltHelpers.add(helper);
  return helper;
}

async function closeHaltHelpers(): Promise<void> {
  const helpers = [...haltHelpers];
  haltHelpers.clear();
  sequentialHelper = undefined;
  for (const helper of helpers) helper.close();
  await Promise.all(helpers.map((helper) => helper.exited));
}

async function endHelpers(helpers: HaltLockHelper[]): Promise<void> {
  for (const helper of helpers) {
    haltHelpers.delete(helper);
    helper.close();
  }
  await Promise.all(helpers.map((helper) => helper.exited));
}

interface HaltTiming {
  lockMs: number;
  bodyMs: number;
  unlockMs: number;
  /** Of lockMs + unlockMs, the time the helper spent in fcntl; the rest is the two pipe round trips to it. */
  fcntlMs: number;
}

/** Takes the halt lock, runs `fn` on this process's own connection, and releases it even when `fn` throws. */
async function underHaltLock<T>(helper: HaltLockHelper, fn: () => T): Promise<{ value: T } & HaltTiming> {
  const startedAt = performance.now();
  const lockMicros = await helper.lock();
  const lockedAt = performance.now();
  let value: T;
  let bodyEnd: number;
  let unlockMicros: number;
  try {
    value = fn();
  } finally {
    bodyEnd = performance.now();
    unlockMicros = await helper.unlock();
  }
  return { value, lockMs: lockedAt - startedAt, bodyMs: bodyEnd - lockedAt, unlockMs: performance.now() - bodyEnd, fcntlMs: (lockMicros + unlockMicros) / 1000 };
}

function sqliteCode(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : errorMessage(error);
}

/**
 * Whether LiteFS takes a write on this replica from this process while another process (the helper) holds the
 * halt lock, and refuses it without the lock: the premise of the halt-lock figures, checked in every run.
 */
async function haltProbe(args: { binary: string }): Promise<{ withoutLock: string; underHelperLock: string; rowid?: number }> {
  const statement = rawConnection().prepare(INSERT_SQL);
  let withoutLock = 'accepted';
  try {
    statement.run(...insertParams(config.name, seq++));
  } catch (error) {
    withoutLock = sqliteCode(error);
  }
  const helper = await startHaltHelper(args.binary);
  try {
    const { value } = await underHaltLock(helper, () => statement.run(...insertParams(config.name, seq++)));
    return { withoutLock, underHelperLock: 'accepted', rowid: Number(value.lastInsertRowid) };
  } catch (error) {
    return { withoutLock, underHelperLock: sqliteCode(error) };
  } finally {
    await endHelpers([helper]);
  }
}

interface HaltSequentialArgs {
  binary: string;
  n: number;
  warmup: number;
}

export interface HaltSamples {
  /** Whole call, lock to unlock, in ms. */
  samples: number[];
  /** Its parts: waiting for the lock (primary halted, replica caught up), the local write, the release. */
  lockMs: number[];
  bodyMs: number[];
  unlockMs: number[];
  /** lockMs + unlockMs − the time in fcntl: what driving the lock from a helper process adds. */
  helperMs: number[];
  /** Attempts LiteFS refused (e.g. EIO from fcntl); they are not samples. */
  errors: number;
  /** Bodies that ran to the end under the lock, warm-up included (a transaction's commits). */
  bodies: number;
  firstError?: string;
}

const MAX_HALT_REFUSALS_PER_BLOCK = 5;

async function haltSequential(args: HaltSequentialArgs, body: () => void): Promise<HaltSamples> {
  sequentialHelper ??= await startHaltHelper(args.binary);
  const helper = sequentialHelper;
  const out: HaltSamples = { samples: [], lockMs: [], bodyMs: [], unlockMs: [], helperMs: [], errors: 0, bodies: 0 };
  const counted = (): void => {
    body();
    out.bodies++;
  };
  // A refused attempt is counted and retried, so that the block still gets its n samples; a refusal can take
  // LiteFS's 10 s acquire timeout, so a block gives up after a few.
  for (let i = 0; i < args.warmup + args.n && out.errors < MAX_HALT_REFUSALS_PER_BLOCK; ) {
    const startedAt = performance.now();
    let timing: HaltTiming;
    try {
      timing = await underHaltLock(helper, counted);
    } catch (error) {
      out.errors++;
      out.firstError ??= errorMessage(error);
      await sleep(20);
      continue;
    }
    const elapsed = performance.now() - startedAt;
    if (i++ < args.warmup) continue;
    out.samples.push(elapsed);
    out.lockMs.push(timing.lockMs);
    out.bodyMs.push(timing.bodyMs);
    out.unlockMs.push(timing.unlockMs);
    out.helperMs.push(timing.lockMs + timing.unlockMs - timing.fcntlMs);
  }
  return out;
}

/** Single-row inserts under the halt lock, one at a time, with this process's raw connection on the replica. */
function haltLatency(args: HaltSequentialArgs): Promise<HaltSamples> {
  const statement = rawConnection().prepare(INSERT_SQL);
  return haltSequential(args, () => {
    statement.run(...insertParams(config.name, seq++));
  });
}

/** The read-then-write transaction (counter + 1), locally: BEGIN IMMEDIATE … COMMIT on the raw connection. */
function counterTransaction(): () => void {
  const connection = rawConnection();
  const read = connection.prepare(COUNTER_READ_SQL);
  const write = connection.prepare(COUNTER_WRITE_SQL);
  return () => {
    connection.exec('BEGIN IMMEDIATE');
    try {
      const row = read.get() as { n: number };
      write.run(row.n + 1);
      connection.exec('COMMIT');
    } catch (error) {
      if (connection.inTransaction) connection.exec('ROLLBACK');
      throw error;
    }
  };
}

/** The counter transaction under the halt lock, from a replica. */
function haltTransaction(args: HaltSequentialArgs): Promise<HaltSamples> {
  return haltSequential(args, counterTransaction());
}

/** The counter transaction without LiteFS's help: through the library (forwarded from a replica), or raw. */
async function counterTransactions(args: { variant: 'lib' | 'raw'; n: number; warmup: number; readYourWrites?: boolean }): Promise<number[]> {
  const samples: number[] = [];
  const raw = args.variant === 'raw' ? counterTransaction() : undefined;
  const options = args.readYourWrites === undefined ? {} : { readYourWrites: args.readYourWrites };
  for (let i = 0; i < args.warmup + args.n; i++) {
    const startedAt = performance.now();
    if (raw !== undefined) raw();
    else {
      await database().transaction(async (tx) => {
        const row = await tx.get<{ n: number }>(COUNTER_READ_SQL);
        await tx.run(COUNTER_WRITE_SQL, [row!.n + 1]);
      }, options);
    }
    const elapsed = performance.now() - startedAt;
    if (i >= args.warmup) samples.push(elapsed);
    if (raw !== undefined && i % 16 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  return samples;
}

function counterValue(): { n: number } {
  return rawConnection().prepare(COUNTER_READ_SQL).get() as { n: number };
}

interface HaltThroughputArgs {
  binary: string;
  writers: number;
  rowsPerWriter: number;
  /** Writers stop starting new writes after this long. */
  capMs: number;
}

export interface HaltThroughputResult {
  rows: number;
  errors: number;
  firstError?: string;
  /** From the common start to the last write's unlock. */
  elapsedMs: number;
  perSecond: number;
  cappedWriters: number;
  /** Per write, from "lock" to "locked"; the primary polls for its write lock, so the queue is not first-come first-served. */
  lockWait: { p50Ms: number; p90Ms: number; maxMs: number };
}

/**
 * `writers` concurrent halt-lock writers on this replica, each its own helper process (its own lock file handle)
 * writing `rowsPerWriter` rows with this process's connection: they queue on the halt lock, cluster-wide.
 */
async function haltThroughput(args: HaltThroughputArgs): Promise<HaltThroughputResult> {
  const helpers = await Promise.all(Array.from({ length: args.writers }, () => startHaltHelper(args.binary)));
  const statement = rawConnection().prepare(INSERT_SQL);
  let rows = 0;
  let errors = 0;
  let cappedWriters = 0;
  let firstError: string | undefined;
  let lastEnd = 0;
  const waits: number[] = [];
  const startedAt = performance.now();
  const deadline = startedAt + args.capMs;
  try {
    await Promise.all(
      helpers.map(async (helper) => {
        for (let i = 0; i < args.rowsPerWriter; i++) {
          if (performance.now() >= deadline) {
            cappedWriters++;
            return;
          }
          try {
            const timing = await underHaltLock(helper, () => statement.run(...insertParams(config.name, seq++)));
            rows++;
            waits.push(timing.lockMs);
            lastEnd = Math.max(lastEnd, performance.now());
          } catch (error) {
            errors++;
            firstError ??= errorMessage(error);
          }
        }
      }),
    );
  } finally {
    await endHelpers(helpers);
  }
  const elapsedMs = (lastEnd || performance.now()) - startedAt;
  waits.sort((a, b) => a - b);
  const at = (q: number): number => Math.round((waits[Math.min(waits.length - 1, Math.floor(q * waits.length))] ?? Number.NaN) * 1000) / 1000;
  const result: HaltThroughputResult = {
    rows,
    errors,
    elapsedMs,
    perSecond: (rows * 1000) / elapsedMs,
    cappedWriters,
    lockWait: { p50Ms: at(0.5), p90Ms: at(0.9), maxMs: waits[waits.length - 1] ?? Number.NaN },
  };
  if (firstError !== undefined) result.firstError = firstError;
  return result;
}

serveIpc({
  open: (args: { options?: Partial<LiteFSForwardOptions> }) => open(args.options),
  reopen: async (args: { options?: Partial<LiteFSForwardOptions> }) => {
    await db?.close();
    db = undefined;
    return open(args.options);
  },
  openAlt: (args: { options: Partial<LiteFSForwardOptions> }) => openAlt(args.options),
  closeAlt: async () => {
    await alt?.close();
    alt = undefined;
    return { closed: true };
  },
  role: () => ({ role: database().role, txid: database().txid }),
  schema: async () => {
    await database().exec(SCHEMA);
    return { txid: database().txid };
  },
  seed: (args: { rows: number }) => {
    const connection = rawConnection();
    const statement = connection.prepare(SEED_SQL);
    connection.transaction(() => {
      for (let i = 0; i < args.rows; i++) statement.run(...seedParams(i));
    })();
    return { txid: database().txid };
  },
  waitTxid: async (args: { txid: string; timeoutMs: number }) => {
    await database().waitForTxid(args.txid, { timeout: args.timeoutMs });
    return { txid: database().txid };
  },
  reads: (args: ReadsArgs) => reads(args),
  latency: (args: LatencyArgs) => latency(args),
  ping: (args: { url: string; n: number; warmup: number }) => ping(args),
  throughput: (args: ThroughputArgs) => throughput(args),
  loopStart: (args: { readYourWrites?: boolean; timeoutMs?: number }) => loopStart(args),
  loopFirst: (args: { after: number; forwarded?: boolean }) => loopFirst(args),
  loopStop: () => loopStop(),
  roleChanges: () => roleChanges.splice(0),
  serverTimes: () => serverTimes.splice(0),
  memory: (args: MemoryArgs) => memory(args),
  ledger: (args: LedgerArgs) => ledgerBench(args),
  haltProbe: (args: { binary: string }) => haltProbe(args),
  haltLatency: (args: HaltSequentialArgs) => haltLatency(args),
  haltTransaction: (args: HaltSequentialArgs) => haltTransaction(args),
  haltThroughput: (args: HaltThroughputArgs) => haltThroughput(args),
  counterTransactions: (args: { variant: 'lib' | 'raw'; n: number; warmup: number; readYourWrites?: boolean }) => counterTransactions(args),
  counterValue: () => counterValue(),
  usage: (args: { gc?: boolean }) => {
    if (args.gc) collectGarbage();
    return { memory: memoryNow(0), cpu: process.cpuUsage() };
  },
  close: async () => {
    loop.running = false;
    await loop.done;
    await close();
    setImmediate(() => process.exit(0));
    return { closed: true };
  },
});
