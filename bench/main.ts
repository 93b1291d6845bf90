// `npm run bench` (issue 6): litefs-forward measured on a real LiteFS + Consul cluster (test/harness), every
// figure a ratio or a percentile taken side by side in the same run. Prints a table, writes
// bench/results/latest.json and bench/results/latest.svg. `--quick` for a short run.
//
// Layout: this driver starts a 3-node cluster and one application process per node (bench/node-app.ts), each a
// LiteFSDatabase whose `hostname` is the node's LiteFS lease.hostname. Latencies are timed inside the process
// that makes the call; the driver only orchestrates, and follows every node's /events stream itself to
// timestamp lease changes independently of the library.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { UNKNOWN_DEBOUNCE_MS } from '../src/detection/primary-tracker.js';
import { Cluster, type ClusterNode, freePort } from '../test/harness/cluster.js';
import { CLUSTER_ROOT_ENV } from '../test/harness/processes.js';
import { type LinePanel, type Panel, renderChart } from './chart.js';
import { type CodecReport, runCodecBench } from './codec.js';
import { compileHaltLockHelper } from './halt-lock.js';
import { ChildHandle, type InterleavedResult } from './ipc.js';
import { type LeaseEvent, LiteFSEventLog } from './litefs-events.js';
import type { HaltSamples, HaltThroughputResult, LoopRecord, MemorySample, NodeAppConfig, RoleChangeRecord } from './node-app.js';
import { type Figure, failedFigure, figure, table, type Target } from './report.js';
import { runTransportBench, type TransportReport } from './transport.js';
import { PING_PATH } from './workload.js';
import { busyPercent, cpuSnapshot, epochNow, errorMessage, machineInfo, mean, median, percentile, processCpuMs, round, type Summary, sleep, summarize } from './util.js';

// ---------------------------------------------------------------------------------------------------------------
// Options

interface Params {
  seedRows: number;
  reads: { rounds: number; perRound: number };
  latency: { rounds: number; block: number };
  throughput: { durationMs: number; warmupMs: number; writers: number[]; variantRounds: number };
  groupCommitSweep: boolean;
  memory: { total: number; warmup: number; concurrency: number };
  ledger: { prefill: number; samples: number };
  handovers: number;
  failovers: number;
  codec: { rounds: number; blockMs: number };
  transport: { sequential: number; concurrent: number; inFlight: number; rounds: number };
  rtt: { rounds: number; block: number; throughputMs: number };
  /** LiteFS's halt lock against forwarding; throughput: rows split over the halt-lock writers, capped in time. */
  halt: { rounds: number; block: number; rows: number; capMs: number; txRounds: number; txBlock: number };
}

const FULL: Params = {
  seedRows: 20_000,
  reads: { rounds: 10, perRound: 400 },
  latency: { rounds: 10, block: 100 },
  throughput: { durationMs: 3_000, warmupMs: 500, writers: [1, 8, 64], variantRounds: 2 },
  groupCommitSweep: true,
  memory: { total: 100_000, warmup: 10_000, concurrency: 64 },
  ledger: { prefill: 100_000, samples: 200 },
  handovers: 3,
  failovers: 2,
  codec: { rounds: 11, blockMs: 40 },
  transport: { sequential: 1_500, concurrent: 12_000, inFlight: 64, rounds: 2 },
  rtt: { rounds: 5, block: 20, throughputMs: 3_000 },
  halt: { rounds: 10, block: 30, rows: 192, capMs: 10_000, txRounds: 6, txBlock: 25 },
};

const QUICK: Params = {
  seedRows: 5_000,
  reads: { rounds: 4, perRound: 150 },
  latency: { rounds: 4, block: 50 },
  throughput: { durationMs: 1_500, warmupMs: 300, writers: [1, 8, 64], variantRounds: 1 },
  groupCommitSweep: false,
  memory: { total: 10_000, warmup: 3_000, concurrency: 64 },
  ledger: { prefill: 20_000, samples: 60 },
  handovers: 1,
  failovers: 1,
  codec: { rounds: 5, blockMs: 25 },
  transport: { sequential: 500, concurrent: 5_000, inFlight: 64, rounds: 1 },
  rtt: { rounds: 2, block: 20, throughputMs: 1_500 },
  halt: { rounds: 4, block: 15, rows: 64, capMs: 4_000, txRounds: 3, txBlock: 10 },
};

function parseArgs(argv: string[]): { quick: boolean; leaseTtl: string; lockDelay: string; outDir: string; only: Set<string> | undefined; rtts: number[]; verbose: boolean } {
  const value = (name: string): string | undefined => {
    const prefix = `--${name}=`;
    const found = argv.find((arg) => arg.startsWith(prefix));
    return found === undefined ? undefined : found.slice(prefix.length);
  };
  for (const arg of argv) {
    if (arg === '--help' || arg === '-h') {
      process.stdout.write(
        'usage: node dist/bench/main.js [--quick] [--lease-ttl=10s (2s with --quick)] [--lock-delay=1s] [--out=bench/results] [--only=codec,transport,reads,latency,throughput,halt-lock,ledger,memory,reaction,failover,rtt] [--rtt=0,20,80|off] [--verbose]\n',
      );
      process.exit(0);
    }
  }
  const only = value('only');
  // The network phase takes the machine's one netns cluster: `--rtt=off` leaves it out.
  const rttText = value('rtt') ?? '0,20,80';
  const rtts = rttText === 'off' ? [] : rttText.split(',').map((part) => (/^\d+$/.test(part) ? Number(part) : Number.NaN));
  if (rtts.some((rtt) => !Number.isInteger(rtt) || rtt > 1_000)) throw new Error(`--rtt must be a list of round trips in ms from 0 to 1000, like 0,20,80; got ${rttText}`);
  return {
    quick: argv.includes('--quick'),
    // The harness's (and LiteFS's) default TTL in a full run; a short one keeps --quick quick.
    leaseTtl: value('lease-ttl') ?? (argv.includes('--quick') ? '2s' : '10s'),
    lockDelay: value('lock-delay') ?? '1s',
    outDir: resolve(value('out') ?? join(process.cwd(), 'bench', 'results')),
    only: only === undefined ? undefined : new Set(only.split(',')),
    rtts,
    verbose: argv.includes('--verbose'),
  };
}

const args = parseArgs(process.argv.slice(2));
const P = args.quick ? QUICK : FULL;
const SECRET = randomBytes(32).toString('hex');
const runStartedAt = epochNow();
const wanted = (section: string): boolean => args.only === undefined || args.only.has(section);

function log(line: string): void {
  const seconds = ((epochNow() - runStartedAt) / 1000).toFixed(1).padStart(6);
  process.stderr.write(`[bench ${seconds}s] ${line}\n`);
}

function parseDurationMs(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(text);
  if (match === null) throw new Error(`not a duration: ${text}`);
  const n = Number(match[1]);
  return match[2] === 'ms' ? n : match[2] === 's' ? n * 1000 : n * 60_000;
}

// ---------------------------------------------------------------------------------------------------------------
// Results

const figures: Figure[] = [];
const sections: Record<string, unknown> = {};
const phases: { name: string; seconds: number; machineBusyPct: number | null; loadavg1m: number; error?: string }[] = [];
const panels: Panel[] = [];

const le = (value: number, text: string): Target => ({ op: '<=', value, text });
const ge = (value: number, text: string): Target => ({ op: '>=', value, text });

type Expected = [id: string, section: string, name: string, unit: string, target: Target | null];

async function phase(name: string, expected: Expected[], body: () => Promise<void>): Promise<void> {
  log(`== ${name}`);
  const startedAt = performance.now();
  const cpuBefore = cpuSnapshot();
  let error: string | undefined;
  try {
    await body();
  } catch (caught) {
    error = caught instanceof Error ? (caught.stack ?? caught.message) : String(caught);
    log(`${name} FAILED: ${error}`);
    for (const [id, section, label, unit, target] of expected) {
      if (!figures.some((f) => f.id === id)) figures.push(failedFigure(id, section, label, unit, target, errorMessage(caught)));
    }
  }
  const record: (typeof phases)[number] = {
    name,
    seconds: round((performance.now() - startedAt) / 1000, 1),
    machineBusyPct: busyPercent(cpuBefore, cpuSnapshot()),
    loadavg1m: round(loadavg()[0] ?? 0, 2),
  };
  if (error !== undefined) record.error = error;
  phases.push(record);
}

/** Busy share of the whole machine over `ms`, before anything of ours runs: what others are using. */
async function backgroundLoad(ms: number): Promise<number | null> {
  const before = cpuSnapshot();
  await sleep(ms);
  return busyPercent(before, cpuSnapshot());
}

// ---------------------------------------------------------------------------------------------------------------
// Cluster and application processes

let cluster: Cluster | undefined;
const apps = new Map<string, ChildHandle>();
const eventLogs = new Map<string, LiteFSEventLog>();
const NODE_APP = new URL('./node-app.js', import.meta.url);

function forkApp(node: ClusterNode, options: { port?: number; execArgv?: string[]; label?: string } = {}): ChildHandle {
  const config: NodeAppConfig = { name: node.name, dbPath: node.dbPath, mountDir: node.mountDir, litefsUrl: node.httpUrl, port: options.port ?? node.appPort, secret: SECRET };
  const label = options.label ?? node.name;
  return ChildHandle.fork(NODE_APP, {
    name: label,
    env: { ...process.env, BENCH_NODE: JSON.stringify(config), [CLUSTER_ROOT_ENV]: cluster!.rootDir },
    // --expose-gc only lets the memory figures be taken after a full GC; nothing calls gc() otherwise.
    execArgv: options.execArgv ?? ['--expose-gc'],
    logFile: join(node.dir, `bench-${label}.log`),
  });
}

async function startApp(node: ClusterNode): Promise<ChildHandle> {
  const child = forkApp(node);
  apps.set(node.name, child);
  await child.call('open', {}, 90_000);
  await child.call('roleChanges');
  return child;
}

function app(node: ClusterNode | string): ChildHandle {
  const name = typeof node === 'string' ? node : node.name;
  const child = apps.get(name);
  if (child === undefined || !child.alive) throw new Error(`no running app on ${name}`);
  return child;
}

async function currentRoles(): Promise<{ primary: ClusterNode; replicas: ClusterNode[] }> {
  const primary = await cluster!.waitForAgreement({ timeoutMs: 60_000 });
  const replicas = cluster!.nodes.filter((node) => node !== primary && node.litefsRunning);
  // The library must agree with LiteFS before a phase starts.
  for (const node of cluster!.nodes.filter((n) => n.litefsRunning)) {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const { role } = await app(node).call<{ role: string }>('role');
      if (role === (node === primary ? 'primary' : 'replica')) break;
      if (Date.now() > deadline) throw new Error(`${node.name}: the library says ${role}, LiteFS disagrees`);
      await sleep(50);
    }
  }
  return { primary, replicas };
}

// ---------------------------------------------------------------------------------------------------------------
// Phases

async function codecPhase(): Promise<void> {
  const report: CodecReport = await runCodecBench(P.codec);
  sections['codec'] = report;
  for (const row of report.rows) {
    if (row.codec === 'json (current)') continue;
    figures.push(
      figure(`codec.${slug(row.payload)}.${slug(row.codec)}`, 'codec', `codec ${row.payload}: ${row.codec} / JSON time`, row.vsJson, 'x', null, {
        nsPerRoundTrip: row.nsPerRoundTrip,
        bytes: row.bytes,
        lossless: row.lossless,
      }),
    );
  }
  const payloads = [...new Set(report.rows.map((row) => row.payload))];
  const codecs = [...new Set(report.rows.map((row) => row.codec))];
  panels.push({
    kind: 'bars',
    title: 'Wire codec: one call, both ways',
    unit: 'µs per round trip (log)',
    categories: payloads,
    series: codecs.map((codec) => ({ name: codec, values: payloads.map((payload) => (report.rows.find((r) => r.codec === codec && r.payload === payload)?.nsPerRoundTrip ?? 0) / 1000) })),
    log: true,
  });
}

async function transportPhase(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'litefs-forward-bench-'));
  const server = ChildHandle.fork(new URL('./transport-server.js', import.meta.url), {
    name: 'transport-server',
    env: { ...process.env, BENCH_SECRET: SECRET },
    logFile: join(dir, 'server.log'),
  });
  try {
    const report: TransportReport = await runTransportBench(server, { secret: SECRET, ...P.transport });
    sections['transport'] = report;
    for (const payload of [...new Set(report.rows.map((row) => row.payload))]) {
      const h1 = report.rows.find((row) => row.payload === payload && row.transport.startsWith('HTTP/1.1'))!;
      const h2 = report.rows.find((row) => row.payload === payload && row.transport.startsWith('HTTP/2'))!;
      const base = `transport.${slug(payload)}`;
      figures.push(figure(`${base}.p50`, 'transport', `${payload}: HTTP/2 / HTTP/1.1 p50 (${h2.sequential.p50Us} vs ${h1.sequential.p50Us} µs)`, h2.sequential.p50Us / h1.sequential.p50Us, 'x', null, { h1, h2 }));
      figures.push(figure(`${base}.rate`, 'transport', `${payload}: HTTP/2 / HTTP/1.1 calls/s, 64 in flight (${h2.concurrent.perSecond} vs ${h1.concurrent.perSecond})`, h2.concurrent.perSecond / h1.concurrent.perSecond, 'x'));
    }
    const categories = report.rows.filter((row) => row.transport.startsWith('HTTP/1.1')).map((row) => row.payload);
    const transports = [...new Set(report.rows.map((row) => row.transport))];
    panels.push({
      kind: 'bars',
      title: 'Transport: one call at a time, p50',
      unit: 'µs',
      categories,
      series: transports.map((transport) => ({ name: transport, values: categories.map((payload) => report.rows.find((r) => r.transport === transport && r.payload === payload)?.sequential.p50Us ?? null) })),
    });
    panels.push({
      kind: 'bars',
      title: 'Transport: throughput, 64 calls in flight',
      unit: 'calls/s',
      categories,
      series: transports.map((transport) => ({ name: transport, values: categories.map((payload) => report.rows.find((r) => r.transport === transport && r.payload === payload)?.concurrent.perSecond ?? null) })),
    });
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function setupPhase(): Promise<void> {
  cluster = await Cluster.start({
    nodes: 3,
    lease: 'consul',
    dbName: 'bench.db',
    leaseTtl: args.leaseTtl,
    lockDelay: args.lockDelay,
    ...(args.verbose ? { log: (line: string) => log(line) } : {}),
  });
  const [node1, node2, node3] = cluster.nodes as [ClusterNode, ClusterNode, ClusterNode];
  await startApp(node1);
  await app(node1).call('schema');
  await Promise.all([startApp(node2), startApp(node3)]);
  const { txid } = await app(node1).call<{ txid: string }>('seed', { rows: P.seedRows });
  await Promise.all([node2, node3].map((node) => app(node).call('waitTxid', { txid, timeoutMs: 60_000 })));
  await currentRoles();
  await startEventLogs();
  sections['cluster'] = {
    litefs: 'v0.5.14',
    consul: 'v1.16.1',
    nodes: cluster.nodes.length,
    lease: 'consul',
    leaseTtl: args.leaseTtl,
    lockDelay: args.lockDelay,
    journalMode: 'wal',
    seedRows: P.seedRows,
    appProcesses: 'one Node process per node (bench/node-app.ts), each a LiteFSDatabase listening on its own loopback port',
  };
}

function readFigures(result: InterleavedResult, prefix: string, where: string, target: Target | null): { ratio: number; perQuery: Record<string, unknown>[] } {
  const ratio = median(result.roundRatios);
  const perQuery = result.queries.map((q) => ({
    name: q.name,
    rawP50Us: q.raw.p50Us,
    libP50Us: q.lib.p50Us,
    rawMeanUs: q.raw.meanUs,
    libMeanUs: q.lib.meanUs,
    overheadP50Us: round(q.lib.p50Us - q.raw.p50Us, 3),
    ratioOfMeans: round(q.lib.meanUs / q.raw.meanUs, 4),
    ratioOfMedians: round(q.lib.p50Us / q.raw.p50Us, 4),
  }));
  figures.push(
    figure(`${prefix}.ratio`, 'reads', `reads, query mix: library / raw time, ${where}`, ratio, 'x', target, {
      statistic: 'median over rounds of (total library time / total raw time), calls interleaved one by one',
      rounds: result.roundRatios.map((value) => round(value, 4)),
    }),
  );
  figures.push(
    figure(`${prefix}.aa`, 'reads', `reads A/A: raw connection 2 / raw connection 1, ${where}`, median(result.aaRatios), 'x', null, {
      rounds: result.aaRatios.map((value) => round(value, 4)),
    }),
  );
  for (const q of perQuery) {
    figures.push(
      figure(`${prefix}.${slug(q.name)}`, 'reads', `reads ${q.name.replace(/ \(.*\)$/, '')}, ${where}: library / raw (p50 ${q.libP50Us} vs ${q.rawP50Us} µs)`, q.ratioOfMeans, 'x', null, { overheadP50Us: q.overheadP50Us }),
    );
  }
  return { ratio, perQuery };
}

async function readsPhase(): Promise<void> {
  const { replicas } = await currentRoles();
  const replica = replicas[0]!;
  const result = await app(replica).call<{ litefs: InterleavedResult; local?: InterleavedResult }>('reads', { ...P.reads, rows: P.seedRows, control: true }, 600_000);
  const litefs = readFigures(result.litefs, 'reads', `LiteFS mount (${replica.name})`, le(1.05, '≤ 1.05x'));
  const local = result.local === undefined ? undefined : readFigures(result.local, 'reads.control', 'plain file, no FUSE (control)', null);
  sections['reads'] = {
    node: replica.name,
    method:
      'the four queries below, each called through `await db.get/all` and through a raw better-sqlite3 prepared statement on the same file, interleaved call by call (which side goes first alternates), each call timed on its own',
    rounds: result.litefs.roundRatios.length,
    callsPerQueryAndSidePerRound: P.reads.perRound,
    litefs,
    control: local,
  };
  panels.push({
    kind: 'bars',
    title: 'Reads: mean time per query',
    unit: 'µs (log)',
    categories: litefs.perQuery.map((q) => String(q['name']).replace(/ \(.*\)$/, '')),
    series: [
      { name: 'raw, LiteFS mount', values: litefs.perQuery.map((q) => q['rawMeanUs'] as number) },
      { name: 'library, LiteFS mount', values: litefs.perQuery.map((q) => q['libMeanUs'] as number) },
      { name: 'raw, plain file', values: (local?.perQuery ?? []).map((q) => q['rawMeanUs'] as number) },
      { name: 'library, plain file', values: (local?.perQuery ?? []).map((q) => q['libMeanUs'] as number) },
    ],
    log: true,
  });
}

interface LatencyVariant {
  id: string;
  label: string;
  node: () => ClusterNode;
  args: Record<string, unknown>;
}

let latencySummaries: Record<string, Summary> = {};

async function latencyPhase(): Promise<void> {
  const { primary, replicas } = await currentRoles();
  const replica = replicas[0]!;
  const variants: LatencyVariant[] = [
    { id: 'raw-primary', label: 'raw better-sqlite3 on the primary', node: () => primary, args: { variant: 'raw' } },
    { id: 'lib-primary', label: 'library on the primary (local)', node: () => primary, args: { variant: 'lib' } },
    { id: 'lib-primary-key', label: 'library on the primary, with a key (ledger row)', node: () => primary, args: { variant: 'lib', withKey: true } },
    { id: 'forwarded', label: 'forwarded from a replica, RYW off', node: () => replica, args: { variant: 'lib', readYourWrites: false } },
    { id: 'forwarded-ryw', label: 'forwarded from a replica, RYW on', node: () => replica, args: { variant: 'lib', readYourWrites: true } },
    { id: 'forwarded-no-ledger', label: 'forwarded, RYW off, exactlyOnce off (no ledger)', node: () => replica, args: { variant: 'lib', alt: true, readYourWrites: false } },
  ];
  await app(replica).call('openAlt', { options: { exactlyOnce: false } }, 90_000);
  const samples = new Map<string, number[]>(variants.map((variant) => [variant.id, []]));
  const endpointSamples = new Map<string, number[]>(variants.map((variant) => [variant.id, []]));
  for (let round = 0; round < P.latency.rounds; round++) {
    // Rotate the order so that no variant always follows the same one.
    const order = variants.map((_, i) => variants[(i + round) % variants.length]!);
    for (const variant of order) {
      const warmup = round === 0 ? 50 : 5;
      await app(primary).call('serverTimes');
      const result = await app(variant.node()).call<number[]>('latency', { ...variant.args, n: P.latency.block, warmup }, 300_000);
      samples.get(variant.id)!.push(...result);
      // Time inside the primary's endpoint for each forwarded call of this block (the warm-up calls dropped).
      const endpoint = await app(primary).call<number[]>('serverTimes');
      if (variant.node() !== primary) endpointSamples.get(variant.id)!.push(...endpoint.slice(warmup));
    }
  }
  await app(replica).call('closeAlt');
  latencySummaries = Object.fromEntries(variants.map((variant) => [variant.id, summarize(samples.get(variant.id)!)]));
  const s = latencySummaries;
  sections['latency'] = {
    unit: 'ms',
    primary: primary.name,
    replica: replica.name,
    statement: 'INSERT INTO w (node, seq, value, payload, created_at) VALUES (?, ?, ?, ?, ?)',
    variants: variants.map((variant) => ({ id: variant.id, label: variant.label, ...s[variant.id], ...(endpointSamples.get(variant.id)!.length > 0 ? { insidePrimaryEndpoint: summarize(endpointSamples.get(variant.id)!) } : {}) })),
    notes: [
      'Sequential, one write at a time; variants interleaved in rounds of equal size, order rotated each round.',
      'Forwarded writes carry an idempotency key (exactlyOnce, the default): the primary also looks up and records it in the ledger table, in the same transaction.',
    ],
  };
  const overhead = (id: string, base: string, p: 'p50' | 'p99'): number => s[id]![p] - s[base]![p];
  figures.push(
    figure('latency.forwarded.p50-overhead', 'latency', 'write p50 overhead: forwarded (RYW off) − local on primary', overhead('forwarded', 'lib-primary', 'p50'), 'ms', le(0.5, '≤ 0.5 ms'), {
      forwardedP50: s['forwarded']!.p50,
      primaryP50: s['lib-primary']!.p50,
    }),
    figure('latency.forwarded-ryw.p50-overhead', 'latency', 'write p50 overhead: forwarded (RYW on) − local on primary', overhead('forwarded-ryw', 'lib-primary', 'p50'), 'ms', le(0.5, '≤ 0.5 ms'), {
      forwardedP50: s['forwarded-ryw']!.p50,
      primaryP50: s['lib-primary']!.p50,
    }),
  );
  for (const variant of variants) {
    figures.push(figure(`latency.${variant.id}.p50`, 'latency', `write p50: ${variant.label}`, s[variant.id]!.p50, 'ms'));
    figures.push(figure(`latency.${variant.id}.p99`, 'latency', `write p99: ${variant.label}`, s[variant.id]!.p99, 'ms'));
  }
  figures.push(
    figure('latency.forwarded.p99-overhead', 'latency', 'write p99 overhead: forwarded (RYW off) − local on primary', overhead('forwarded', 'lib-primary', 'p99'), 'ms'),
    figure('latency.lib-primary.p50-overhead-vs-raw', 'latency', 'write p50: library − raw, both on the primary', overhead('lib-primary', 'raw-primary', 'p50'), 'ms'),
    figure('latency.forwarded.p50-overhead-vs-raw', 'latency', 'write p50: forwarded (RYW off) − raw on primary', overhead('forwarded', 'raw-primary', 'p50'), 'ms'),
    figure('latency.ledger.p50-cost-local', 'latency', 'ledger cost p50, local: with idempotency key − without', overhead('lib-primary-key', 'lib-primary', 'p50'), 'ms'),
    figure('latency.ledger.p50-cost-forwarded', 'latency', 'ledger cost p50, forwarded: exactlyOnce on − off', overhead('forwarded', 'forwarded-no-ledger', 'p50'), 'ms'),
    figure('latency.transport.p50', 'latency', 'forwarding p50: forwarded − local, both with a key', overhead('forwarded', 'lib-primary-key', 'p50'), 'ms'),
  );
  const endpoint = summarize(endpointSamples.get('forwarded')!);
  if (endpoint.n > 0) {
    figures.push(
      figure('latency.endpoint.p50', 'latency', 'time in the primary’s endpoint per forwarded write, p50', endpoint.p50, 'ms'),
      figure('latency.endpoint-vs-local.p50', 'latency', 'endpoint p50 − local-with-key p50 (auth, parse, queue, answer)', endpoint.p50 - s['lib-primary-key']!.p50, 'ms'),
      figure('latency.wire-and-replica.p50', 'latency', 'forwarded p50 − endpoint p50 (replica side, HTTP, loopback)', s['forwarded']!.p50 - endpoint.p50, 'ms'),
    );
  }
  // 4. The cost of read-your-writes.
  figures.push(
    figure('ryw.p50-cost', 'read-your-writes', 'read-your-writes cost p50: with wait − without', overhead('forwarded-ryw', 'forwarded', 'p50'), 'ms'),
    figure('ryw.p99-cost', 'read-your-writes', 'read-your-writes cost p99: with wait − without', overhead('forwarded-ryw', 'forwarded', 'p99'), 'ms'),
    figure('ryw.p50-ratio', 'read-your-writes', 'read-your-writes p50: with wait / without', s['forwarded-ryw']!.p50 / s['forwarded']!.p50, 'x'),
  );
  panels.push({
    kind: 'bars',
    title: 'Single-row insert latency',
    unit: 'ms',
    categories: ['raw prim.', 'lib prim.', 'lib prim.+key', 'fwd', 'fwd+RYW', 'fwd no ledger'],
    series: [
      { name: 'p50', values: variants.map((variant) => s[variant.id]!.p50) },
      { name: 'p90', values: variants.map((variant) => s[variant.id]!.p90) },
      { name: 'p99', values: variants.map((variant) => s[variant.id]!.p99) },
    ],
  });
}

interface ThroughputRun {
  count: number;
  errors: number;
  firstError?: string;
  start: number;
  end: number;
}

/** CPU time used so far by every process of the cluster and of the benchmark, in ms. */
function processCpu(): Map<string, number> {
  const cpu = new Map<string, number>();
  const add = (name: string, pid: number | undefined): void => {
    const ms = pid === undefined ? undefined : processCpuMs(pid);
    if (ms !== undefined) cpu.set(name, ms);
  };
  for (const [name, child] of apps) if (child.alive) add(`app ${name}`, child.pid);
  for (const node of cluster?.nodes ?? []) add(`litefs ${node.name}`, node.litefsPid);
  add('consul', cluster?.consul?.process?.pid);
  add('bench driver', process.pid);
  return cpu;
}

/** Each process's share of one core between two `processCpu()` snapshots, in percent. */
function cpuShares(before: Map<string, number>, after: Map<string, number>, elapsedMs: number): Record<string, number> {
  const shares: Record<string, number> = {};
  for (const [name, ms] of after) {
    const start = before.get(name);
    if (start !== undefined) shares[name] = round((100 * (ms - start)) / elapsedMs, 1);
  }
  return shares;
}

interface RateResult {
  perSecond: number;
  /** Writes completed inside the window. */
  rows: number;
  errors: number;
  firstError?: string;
  /** Percent of one core per process during the window. */
  cpu: Record<string, number>;
  /** LiteFS transactions (commits) on the primary during the window, from its /events stream. */
  commits: number | null;
}

/** Forwarded writers split over the replicas; returns rows per second completed inside the window. */
interface RateOptions {
  readYourWrites?: boolean;
  /** Run on each replica's second instance (openAlt). */
  alt?: boolean;
  timeOrderedKeys?: boolean;
}

async function forwardedRate(replicas: ClusterNode[], writers: number, durationMs: number, options: RateOptions = {}, primary?: ClusterNode): Promise<RateResult> {
  const split = replicas.map((_, i) => Math.floor(writers / replicas.length) + (i < writers % replicas.length ? 1 : 0));
  const startAt = epochNow() + 150;
  // Without `primary`, the replicas are all the nodes but the primary.
  const primaryLog = primary !== undefined ? eventLogs.get(primary.name) : cluster!.nodes.filter((node) => !replicas.includes(node) && node.litefsRunning).map((node) => eventLogs.get(node.name))[0];
  let cpuBefore = new Map<string, number>();
  let txBefore = 0;
  const mark = sleep(150 - 5).then(() => {
    cpuBefore = processCpu();
    txBefore = primaryLog?.txEvents ?? 0;
  });
  const runs = await Promise.all(
    replicas.map((node, i) =>
      split[i]! > 0
        ? app(node).call<ThroughputRun>('throughput', { variant: 'lib', writers: split[i]!, startAt, durationMs, ...options }, durationMs + 120_000)
        : Promise.resolve<ThroughputRun>({ count: 0, errors: 0, start: startAt, end: startAt }),
    ),
  );
  await mark;
  const elapsed = Math.max(...runs.map((run) => run.end)) - startAt;
  const cpu = cpuShares(cpuBefore, processCpu(), elapsed);
  const commits = primaryLog === undefined ? null : primaryLog.txEvents - txBefore;
  const count = runs.reduce((sum, run) => sum + run.count, 0);
  const errors = runs.reduce((sum, run) => sum + run.errors, 0);
  const firstError = runs.find((run) => run.firstError !== undefined)?.firstError;
  return { perSecond: (count * 1000) / durationMs, rows: count, errors, cpu, commits, ...(firstError === undefined ? {} : { firstError }) };
}

async function rawRate(primary: ClusterNode, durationMs: number): Promise<number> {
  const run = await app(primary).call<ThroughputRun>('throughput', { variant: 'raw', writers: 1, startAt: epochNow() + 50, durationMs }, durationMs + 120_000);
  return (run.count * 1000) / durationMs;
}

/** Several windows of the same configuration as one: mean rate, summed rows and commits, mean CPU shares. */
function combine(results: RateResult[]): RateResult & { windows: number[] } {
  const cpu: Record<string, number> = {};
  for (const name of new Set(results.flatMap((result) => Object.keys(result.cpu)))) cpu[name] = round(mean(results.map((result) => result.cpu[name] ?? 0)), 1);
  const commits = results.every((result) => result.commits !== null) ? results.reduce((sum, result) => sum + result.commits!, 0) : null;
  const firstError = results.find((result) => result.firstError !== undefined)?.firstError;
  return {
    perSecond: mean(results.map((result) => result.perSecond)),
    rows: results.reduce((sum, result) => sum + result.rows, 0),
    errors: results.reduce((sum, result) => sum + result.errors, 0),
    cpu,
    commits,
    windows: results.map((result) => Math.round(result.perSecond)),
    ...(firstError === undefined ? {} : { firstError }),
  };
}

function rowsPerCommit(result: RateResult): number | null {
  return result.commits ? round(result.rows / result.commits, 1) : null;
}

let baseline64 = Number.NaN;

async function throughputPhase(): Promise<void> {
  const { primary, replicas } = await currentRoles();
  const { warmupMs } = P.throughput;
  // Short windows, alternating: the primary alone, forwarded, alone, forwarded, alone. Shared load drifts by tens
  // of percent within seconds here; interleaving puts both sides under the same drift.
  const windowMs = Math.round(P.throughput.durationMs / 2);
  const rows: Record<string, unknown>[] = [];
  for (const writers of P.throughput.writers) {
    await forwardedRate(replicas, writers, warmupMs);
    const raws: number[] = [];
    const forwardedRuns: RateResult[] = [];
    raws.push(await rawRate(primary, windowMs));
    for (let i = 0; i < 2; i++) {
      forwardedRuns.push(await forwardedRate(replicas, writers, windowMs));
      raws.push(await rawRate(primary, windowMs));
    }
    const forwarded = combine(forwardedRuns);
    const baseline = mean(raws);
    if (writers === 64) baseline64 = baseline;
    const ratio = forwarded.perSecond / baseline;
    rows.push({
      writers,
      replicas: replicas.map((node) => node.name),
      forwardedPerSecond: Math.round(forwarded.perSecond),
      forwardedWindows: forwarded.windows,
      baselinePerSecond: Math.round(baseline),
      baselineWindows: raws.map(Math.round),
      ratio: round(ratio, 3),
      errors: forwarded.errors,
      firstError: forwarded.firstError,
      primaryCommits: forwarded.commits,
      rowsPerCommit: rowsPerCommit(forwarded),
      cpuPercentOfOneCore: forwarded.cpu,
    });
    figures.push(
      figure(`throughput.w${writers}.ratio`, 'throughput', `throughput, ${writers} forwarding writer(s) / primary alone (${Math.round(forwarded.perSecond)} vs ${Math.round(baseline)} rows/s)`, ratio, 'x', writers === 64 ? ge(1.0, '≥ 1.0x') : null, {
        errors: forwarded.errors,
        rowsPerCommit: rowsPerCommit(forwarded),
      }),
    );
  }
  // For information, 64 writers in variants, interleaved in rounds with the default: without the read-your-writes
  // wait, with time-ordered idempotency keys (what a UUIDv7 key would do to the ledger), and without the ledger.
  const variants: { id: string; label: string; options: RateOptions }[] = [
    { id: 'w64-default', label: 'default options', options: {} },
    { id: 'w64-no-ryw', label: 'readYourWrites off', options: { readYourWrites: false } },
    { id: 'w64-time-ordered-keys', label: 'time-ordered idempotency keys (UUIDv7-like)', options: { timeOrderedKeys: true } },
    { id: 'w64-no-ledger', label: 'exactlyOnce off (no ledger)', options: { alt: true } },
  ];
  const runs = new Map<string, RateResult[]>(variants.map((variant) => [variant.id, []]));
  await Promise.all(replicas.map((node) => app(node).call('openAlt', { options: { exactlyOnce: false } }, 90_000)));
  try {
    for (let round = 0; round < P.throughput.variantRounds; round++) {
      for (let i = 0; i < variants.length; i++) {
        const variant = variants[(i + round) % variants.length]!;
        await forwardedRate(replicas, 64, 300, variant.options);
        runs.get(variant.id)!.push(await forwardedRate(replicas, 64, windowMs, variant.options));
      }
    }
  } finally {
    await Promise.all(replicas.map((node) => app(node).call('closeAlt')));
  }
  const defaultRate = combine(runs.get('w64-default')!).perSecond;
  for (const variant of variants) {
    const result = combine(runs.get(variant.id)!);
    rows.push({
      writers: 64,
      variant: variant.label,
      forwardedPerSecond: Math.round(result.perSecond),
      forwardedWindows: result.windows,
      vsDefault: round(result.perSecond / defaultRate, 3),
      vsBaseline: round(result.perSecond / baseline64, 3),
      errors: result.errors,
      primaryCommits: result.commits,
      rowsPerCommit: rowsPerCommit(result),
      cpuPercentOfOneCore: result.cpu,
    });
    if (variant.id === 'w64-default') continue;
    figures.push(
      figure(`throughput.${variant.id}.vs-default`, 'throughput', `throughput, 64 writers, ${variant.label} / default (${Math.round(result.perSecond)} vs ${Math.round(defaultRate)} rows/s)`, result.perSecond / defaultRate, 'x', null, {
        rowsPerCommit: rowsPerCommit(result),
        vsBaseline: round(result.perSecond / baseline64, 3),
      }),
    );
  }
  sections['throughput'] = {
    windowMs,
    baseline: 'raw better-sqlite3 autocommit inserts, sequential, on the primary through LiteFS, in windows alternating with the forwarded ones (alone, forwarded, alone, forwarded, alone)',
    forwarded: 'N writers, each awaiting one db.run() after another, split evenly over the replicas; default options (readYourWrites on, exactlyOnce on, groupCommit {maxSize: 64, maxWaitMs: 0})',
    variants: `64 writers, ${P.throughput.variantRounds} round(s) of every variant in rotating order, ${windowMs} ms each after a 300 ms warm-up`,
    rows,
  };
  const chartRows = rows.filter((row) => row['variant'] === undefined);
  panels.push({
    kind: 'bars',
    title: 'Throughput: forwarded vs primary alone',
    unit: 'rows/s',
    categories: chartRows.map((row) => `${row['writers']} writer(s)`),
    series: [
      { name: 'primary alone, raw sequential', values: chartRows.map((row) => row['baselinePerSecond'] as number) },
      { name: 'forwarded from 2 replicas', values: chartRows.map((row) => row['forwardedPerSecond'] as number) },
    ],
  });
  const variantRows = rows.filter((row) => row['variant'] !== undefined);
  panels.push({
    kind: 'bars',
    title: 'Throughput, 64 forwarding writers: variants',
    unit: 'rows/s',
    categories: variantRows.map((row) => String(row['variant']).replace(' idempotency keys (UUIDv7-like)', ' keys').replace(' (no ledger)', '').replace(' options', '')),
    series: [{ name: 'forwarded rows/s (interleaved rounds)', values: variantRows.map((row) => row['forwardedPerSecond'] as number) }],
  });
}

async function groupCommitPhase(): Promise<void> {
  const { primary, replicas } = await currentRoles();
  const configs: { name: string; groupCommit: false | { maxSize: number; maxWaitMs: number } }[] = [
    { name: 'default {maxSize: 64, maxWaitMs: 0}', groupCommit: { maxSize: 64, maxWaitMs: 0 } },
    { name: 'off (groupCommit: false)', groupCommit: false },
    { name: '{maxSize: 256, maxWaitMs: 0}', groupCommit: { maxSize: 256, maxWaitMs: 0 } },
    { name: '{maxSize: 64, maxWaitMs: 1}', groupCommit: { maxSize: 64, maxWaitMs: 1 } },
  ];
  const windowMs = Math.round(P.throughput.durationMs / 2);
  const runs = new Map<string, RateResult[]>(configs.map((config) => [config.name, []]));
  try {
    for (let round = 0; round < P.throughput.variantRounds; round++) {
      for (let i = 0; i < configs.length; i++) {
        const config = configs[(i + round) % configs.length]!;
        await app(primary).call('reopen', { options: { groupCommit: config.groupCommit } }, 60_000);
        await forwardedRate(replicas, 64, P.throughput.warmupMs);
        runs.get(config.name)!.push(await forwardedRate(replicas, 64, windowMs));
      }
    }
  } finally {
    await app(primary).call('reopen', { options: {} }, 60_000);
  }
  const defaultRate = combine(runs.get(configs[0]!.name)!).perSecond;
  const rows: Record<string, unknown>[] = [];
  for (const config of configs) {
    const result = combine(runs.get(config.name)!);
    rows.push({
      config: config.name,
      forwardedPerSecond: Math.round(result.perSecond),
      forwardedWindows: result.windows,
      vsDefault: round(result.perSecond / defaultRate, 3),
      vsBaseline: round(result.perSecond / baseline64, 3),
      errors: result.errors,
      primaryCommits: result.commits,
      rowsPerCommit: rowsPerCommit(result),
      cpuPercentOfOneCore: result.cpu,
    });
    if (config === configs[0]) continue;
    figures.push(
      figure(`groupcommit.${slug(config.name)}`, 'group commit', `64 writers, groupCommit ${config.name} / default (${Math.round(result.perSecond)} vs ${Math.round(defaultRate)} rows/s)`, result.perSecond / defaultRate, 'x', null, {
        rowsPerCommit: rowsPerCommit(result),
      }),
    );
  }
  sections['groupCommit'] = { windowMs, rounds: P.throughput.variantRounds, baselinePerSecond: Math.round(baseline64), rows };
}

// --- LiteFS's halt lock (issue 15) -----------------------------------------------------------------------------
// LiteFS's own write forwarding, measured against litefs-forward on the same cluster, in the same run: a replica
// takes an OFD write lock on byte 72 of `<db>-lock`, which halts the primary and lends the replica its write lock,
// writes locally, and releases. The lock is held by bench/halt-lock/halt-lock.c (Node cannot take OFD locks); the
// replica's app process writes with its own better-sqlite3 connection meanwhile.

let haltLockDir: string | undefined;
let haltLockBinary: string | undefined;

/** Builds the helper before the cluster starts, so that a machine without gcc fails in a second, not minutes. */
async function haltLockBuildPhase(): Promise<void> {
  haltLockDir = mkdtempSync(join(tmpdir(), 'litefs-forward-halt-lock-'));
  // shutdown() removes it too; this covers the exits that skip it (a signal the harness turns into process.exit).
  const dir = haltLockDir;
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  haltLockBinary = compileHaltLockHelper(haltLockDir);
  log(`halt-lock helper built: ${haltLockBinary}`);
}

interface HaltProbe {
  withoutLock: string;
  underHelperLock: string;
}

interface SequentialVariant {
  id: string;
  label: string;
  short: string;
  run: (n: number, warmup: number) => Promise<number[]>;
}

/** Blocks of every variant, the order rotated each round (as the latency phase does); samples per variant. */
async function interleavedBlocks(variants: SequentialVariant[], rounds: number, block: number): Promise<Map<string, number[]>> {
  const samples = new Map<string, number[]>(variants.map((variant) => [variant.id, []]));
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < variants.length; i++) {
      const variant = variants[(i + round) % variants.length]!;
      samples.get(variant.id)!.push(...(await variant.run(block, round === 0 ? 10 : 2)));
    }
  }
  return samples;
}

/** The halt-lock side of a variant: keeps the parts (lock wait, local work, release) of every sample. */
function haltVariant(replica: ClusterNode, cmd: 'haltLatency' | 'haltTransaction', binary: string, parts: HaltSamples[]): SequentialVariant['run'] {
  return async (n, warmup) => {
    const result = await app(replica).call<HaltSamples>(cmd, { binary, n, warmup }, 300_000);
    parts.push(result);
    return result.samples;
  };
}

function haltParts(parts: HaltSamples[]): Record<'lockWait' | 'localWork' | 'release' | 'helperPipes', Summary> {
  return {
    lockWait: summarize(parts.flatMap((part) => part.lockMs)),
    localWork: summarize(parts.flatMap((part) => part.bodyMs)),
    release: summarize(parts.flatMap((part) => part.unlockMs)),
    helperPipes: summarize(parts.flatMap((part) => part.helperMs)),
  };
}

/** The last lines a node's LiteFS logged (about errors and locks only, with `filter`). */
function liteFSLogLines(node: ClusterNode, options: { max: number; filter?: RegExp }): string[] {
  try {
    const lines = readFileSync(node.litefsLogFile, 'utf8').split('\n');
    return lines
      .filter((line) => line !== '' && (options.filter === undefined || options.filter.test(line)))
      .slice(-options.max)
      .map((line) => `${node.name}: ${line}`);
  } catch (error) {
    return [`${node.name}: cannot read ${node.litefsLogFile}: ${errorMessage(error)}`];
  }
}

async function haltLockPhase(): Promise<void> {
  const { primary, replicas } = await currentRoles();
  const replica = replicas[0]!;
  try {
    await haltLockMeasurements(haltLockBinary!, primary, replica);
  } catch (error) {
    // What LiteFS logged tells a stalled halt lock from a failure of the library.
    sections['haltLock'] = { failed: errorMessage(error), liteFSLog: [replica, primary].flatMap((node) => liteFSLogLines(node, { max: 40 })) };
    throw error;
  }
}

async function haltLockMeasurements(binary: string, primary: ClusterNode, replica: ClusterNode): Promise<void> {
  // The premise, checked in every run: LiteFS refuses this process's write without the lock and takes it while the
  // helper (another process) holds the lock.
  const probe = await app(replica).call<HaltProbe>('haltProbe', { binary }, 60_000);
  if (probe.withoutLock === 'accepted') throw new Error(`${replica.name} took a local write without the halt lock: it is not a replica`);
  if (probe.underHelperLock !== 'accepted') {
    throw new Error(`LiteFS refused a write from the app process on ${replica.name} while the helper held the halt lock (${probe.underHelperLock}): the helper would have to write itself`);
  }
  log(`halt lock on ${replica.name}: a write without it fails (${probe.withoutLock}), a write from this app process while the helper holds it is accepted`);

  // 1. One write at a time.
  const singleParts: HaltSamples[] = [];
  const single: SequentialVariant[] = [
    { id: 'raw-primary', label: 'raw better-sqlite3 on the primary (local reference)', short: 'raw prim.', run: (n, warmup) => app(primary).call<number[]>('latency', { variant: 'raw', n, warmup }, 300_000) },
    { id: 'lib-primary', label: 'library on the primary (local reference)', short: 'lib prim.', run: (n, warmup) => app(primary).call<number[]>('latency', { variant: 'lib', n, warmup }, 300_000) },
    {
      id: 'forwarded-ryw',
      label: 'forwarded from a replica, RYW on',
      short: 'fwd+RYW',
      run: (n, warmup) => app(replica).call<number[]>('latency', { variant: 'lib', readYourWrites: true, n, warmup }, 300_000),
    },
    // What the read-your-writes wait adds here: the halt lock's write is visible locally at once, so RYW on is the fair side.
    { id: 'forwarded', label: 'forwarded from a replica, RYW off', short: 'fwd', run: (n, warmup) => app(replica).call<number[]>('latency', { variant: 'lib', readYourWrites: false, n, warmup }, 300_000) },
    { id: 'halt-lock', label: 'halt lock from a replica (lock, INSERT, unlock)', short: 'halt lock', run: haltVariant(replica, 'haltLatency', binary, singleParts) },
  ];
  const singleSamples = await interleavedBlocks(single, P.halt.rounds, P.halt.block);
  const s = Object.fromEntries(single.map((variant) => [variant.id, summarize(singleSamples.get(variant.id)!)])) as Record<string, Summary>;
  const singleBreakdown = haltParts(singleParts);
  // The halt lock as a native addon would take it: each sample without its two pipe round trips to the helper.
  const haltWithoutHelper = summarize(singleParts.flatMap((part) => part.samples.map((sample, i) => sample - part.helperMs[i]!)));
  log(`single write p50: forwarded (RYW) ${s['forwarded-ryw']!.p50} ms, halt lock ${s['halt-lock']!.p50} ms, local ${s['raw-primary']!.p50} ms`);
  figures.push(
    figure('halt.single.p50-ratio', 'halt-lock', `single write p50: forwarded (RYW on) / halt lock (${s['forwarded-ryw']!.p50} vs ${s['halt-lock']!.p50} ms)`, s['forwarded-ryw']!.p50 / s['halt-lock']!.p50, 'x', le(0.4, '≤ 0.4x'), {
      forwardedRywP50: s['forwarded-ryw']!.p50,
      forwardedRywOffP50: s['forwarded']!.p50,
      localOnPrimaryP50: s['raw-primary']!.p50,
      haltLockP50: s['halt-lock']!.p50,
      haltLockParts: { lockWaitP50: singleBreakdown.lockWait.p50, insertP50: singleBreakdown.localWork.p50, releaseP50: singleBreakdown.release.p50 },
    }),
    figure(
      'halt.single.p50-ratio-without-helper',
      'halt-lock',
      `single write p50: forwarded (RYW on) / halt lock minus the helper's pipe round trips (${haltWithoutHelper.p50} ms)`,
      s['forwarded-ryw']!.p50 / haltWithoutHelper.p50,
      'x',
    ),
    // A forwarded write includes the primary's local commit: this is the ratio with nothing else in its path.
    figure('halt.single.local-floor-ratio', 'halt-lock', `single write p50: local commit on the primary / halt lock (the forwarded ratio's floor)`, s['raw-primary']!.p50 / s['halt-lock']!.p50, 'x'),
    figure('halt.single.p99-ratio', 'halt-lock', `single write p99: forwarded (RYW on) / halt lock (${s['forwarded-ryw']!.p99} vs ${s['halt-lock']!.p99} ms)`, s['forwarded-ryw']!.p99 / s['halt-lock']!.p99, 'x'),
  );
  for (const variant of single) {
    figures.push(figure(`halt.single.${variant.id}.p50`, 'halt-lock', `single write p50: ${variant.label}`, s[variant.id]!.p50, 'ms'));
    figures.push(figure(`halt.single.${variant.id}.p99`, 'halt-lock', `single write p99: ${variant.label}`, s[variant.id]!.p99, 'ms'));
  }
  figures.push(
    figure('halt.single.halt-lock.lock-wait.p50', 'halt-lock', 'halt lock, of which taking the lock (primary halted, replica caught up), p50', singleBreakdown.lockWait.p50, 'ms'),
    figure('halt.single.halt-lock.insert.p50', 'halt-lock', 'halt lock, of which the INSERT on the replica (its commit ships the LTX to the primary), p50', singleBreakdown.localWork.p50, 'ms'),
    figure('halt.single.halt-lock.release.p50', 'halt-lock', 'halt lock, of which the release, p50', singleBreakdown.release.p50, 'ms'),
    figure('halt.single.halt-lock.helper.p50', 'halt-lock', 'halt lock, of lock + release: the pipe round trips to the helper (outside fcntl), p50', singleBreakdown.helperPipes.p50, 'ms'),
  );

  // 2. 1, 8 and 64 concurrent writers on the replica: forwarded windows on both sides of each halt-lock run.
  const windowMs = Math.round(P.throughput.durationMs / 2);
  const rateRows: Record<string, unknown>[] = [];
  for (const writers of P.throughput.writers) {
    await forwardedRate([replica], writers, P.throughput.warmupMs, {}, primary);
    const before = await forwardedRate([replica], writers, windowMs, {}, primary);
    const rowsPerWriter = Math.max(2, Math.ceil(P.halt.rows / writers));
    const halt = await app(replica).call<HaltThroughputResult>('haltThroughput', { binary, writers, rowsPerWriter, capMs: P.halt.capMs }, P.halt.capMs + 120_000);
    const after = await forwardedRate([replica], writers, windowMs, {}, primary);
    const forwarded = combine([before, after]);
    const ratio = forwarded.perSecond / halt.perSecond;
    log(`${writers} writer(s) on ${replica.name}: forwarded ${Math.round(forwarded.perSecond)} rows/s, halt lock ${round(halt.perSecond, 1)} rows/s (${halt.rows} rows in ${Math.round(halt.elapsedMs)} ms, ${halt.errors} errors)`);
    rateRows.push({
      writers,
      forwardedPerSecond: Math.round(forwarded.perSecond),
      forwardedWindows: forwarded.windows,
      forwardedErrors: forwarded.errors,
      forwardedRowsPerCommit: rowsPerCommit(forwarded),
      haltLock: { ...halt, perSecond: round(halt.perSecond, 2), elapsedMs: Math.round(halt.elapsedMs), rowsPerWriter },
      ratio: round(ratio, 2),
    });
    figures.push(
      figure(
        `halt.throughput.w${writers}.ratio`,
        'halt-lock',
        `throughput, ${writers} writer(s) on one replica: forwarded / halt lock (${Math.round(forwarded.perSecond)} vs ${round(halt.perSecond, 1)} rows/s)`,
        ratio,
        'x',
        writers === 64 ? ge(20, '≥ 20x') : null,
        {
          forwardedErrors: forwarded.errors,
          forwardedRowsPerCommit: rowsPerCommit(forwarded),
          forwardedCpuPercentOfOneCore: forwarded.cpu,
          haltLockErrors: halt.errors,
          haltLockCappedWriters: halt.cappedWriters,
          haltLockWait: halt.lockWait,
        },
      ),
      figure(`halt.throughput.w${writers}.halt-lock`, 'halt-lock', `halt-lock throughput, ${writers} writer(s), rows/s (${halt.errors} errors)`, halt.perSecond, '/s'),
    );
  }

  // 3. The interactive read-then-write transaction: counter + 1.
  const counterBefore = (await app(primary).call<{ n: number }>('counterValue')).n;
  const txParts: HaltSamples[] = [];
  let increments = 0;
  const counted = (run: SequentialVariant['run']): SequentialVariant['run'] => async (n, warmup) => {
    const samples = await run(n, warmup);
    increments += n + warmup;
    return samples;
  };
  const transactions: SequentialVariant[] = [
    { id: 'raw-primary', label: 'BEGIN IMMEDIATE … COMMIT, raw on the primary (local reference)', short: 'local prim.', run: counted((n, warmup) => app(primary).call<number[]>('counterTransactions', { variant: 'raw', n, warmup }, 300_000)) },
    {
      id: 'forwarded',
      label: 'db.transaction() from a replica (remote session), RYW on',
      short: 'fwd tx',
      run: counted((n, warmup) => app(replica).call<number[]>('counterTransactions', { variant: 'lib', readYourWrites: true, n, warmup }, 300_000)),
    },
    // Its increments are the transactions that committed under the lock (a refused lock is retried).
    { id: 'halt-lock', label: 'halt lock around BEGIN IMMEDIATE … COMMIT on a replica', short: 'halt lock tx', run: haltVariant(replica, 'haltTransaction', binary, txParts) },
  ];
  const txSamples = await interleavedBlocks(transactions, P.halt.txRounds, P.halt.txBlock);
  increments += txParts.reduce((sum, part) => sum + part.bodies, 0);
  const t = Object.fromEntries(transactions.map((variant) => [variant.id, summarize(txSamples.get(variant.id)!)])) as Record<string, Summary>;
  const counterAfter = (await app(primary).call<{ n: number }>('counterValue')).n;
  const lostUpdates = counterBefore + increments - counterAfter;
  log(`read-then-write transaction p50: forwarded ${t['forwarded']!.p50} ms, halt lock ${t['halt-lock']!.p50} ms; counter ${counterBefore} → ${counterAfter} after ${increments} increments`);
  figures.push(
    figure('halt.tx.p50-ratio', 'halt-lock', `read-then-write transaction p50: forwarded (RYW on) / halt lock (${t['forwarded']!.p50} vs ${t['halt-lock']!.p50} ms)`, t['forwarded']!.p50 / t['halt-lock']!.p50, 'x'),
    figure('halt.tx.p99-ratio', 'halt-lock', `read-then-write transaction p99: forwarded (RYW on) / halt lock (${t['forwarded']!.p99} vs ${t['halt-lock']!.p99} ms)`, t['forwarded']!.p99 / t['halt-lock']!.p99, 'x'),
    figure('halt.tx.lost-updates', 'halt-lock', `read-then-write transaction: lost counter updates, all variants (${increments} increments)`, lostUpdates, 'updates'),
  );
  for (const variant of transactions) {
    figures.push(figure(`halt.tx.${variant.id}.p50`, 'halt-lock', `transaction p50: ${variant.label}`, t[variant.id]!.p50, 'ms'));
    figures.push(figure(`halt.tx.${variant.id}.p99`, 'halt-lock', `transaction p99: ${variant.label}`, t[variant.id]!.p99, 'ms'));
  }

  // LiteFS refusing a halt lock is part of what it is: counted, with what LiteFS logged about it.
  const refusals = [...singleParts, ...txParts].reduce((sum, part) => sum + part.errors, 0) + rateRows.reduce((sum, row) => sum + (row['haltLock'] as HaltThroughputResult).errors, 0);
  const firstRefusal = [...singleParts, ...txParts].find((part) => part.firstError !== undefined)?.firstError ?? rateRows.map((row) => (row['haltLock'] as HaltThroughputResult).firstError).find((error) => error !== undefined);
  figures.push(figure('halt.errors', 'halt-lock', `halt-lock attempts LiteFS refused, all parts${firstRefusal === undefined ? '' : ` (first: ${firstRefusal})`}`, refusals, 'attempts'));
  const local = s['raw-primary']!.p50;
  sections['haltLock'] = {
    // In units of this run's local commit on the primary, which every forwarded write includes.
    note: `p50 in units of the primary's local commit (${local} ms): forwarded with RYW ${round(s['forwarded-ryw']!.p50 / local, 2)}x, without ${round(s['forwarded']!.p50 / local, 2)}x, halt lock ${round(s['halt-lock']!.p50 / local, 2)}x; ≤ 0.4x the halt lock means forwarded ≤ ${round((0.4 * s['halt-lock']!.p50) / local, 2)}x the local commit`,
    refusals,
    firstRefusal,
    liteFSLogOnRefusals: refusals === 0 ? [] : [replica, primary].flatMap((node) => liteFSLogLines(node, { max: 20, filter: /error|halt|lock/i })),
    primary: primary.name,
    replica: replica.name,
    helper: 'bench/halt-lock/halt-lock.c, built with gcc at the start of the run; one process per writer, each holding one open <db>-lock and taking F_OFD_SETLKW {F_WRLCK, l_start 72, l_len 1} on "lock", F_UNLCK on "unlock" (stdin/stdout lines)',
    probe: { ...probe, note: 'the app process writes with its own better-sqlite3 connection while the helper, another process, holds the lock' },
    method: [
      'Single writes: blocks of one single-row insert at a time per variant, order rotated each round; the halt-lock sample is lock + INSERT + unlock, timed in the replica app process (including the stdin/stdout round trips to the helper, as an app using a helper would pay).',
      'Throughput: all writers on one replica. Forwarded: N writers each awaiting one db.run() after another (library defaults: readYourWrites on, group commit), a window before and one after the halt-lock run. Halt lock: N helper processes, each writer taking the lock, inserting one row, releasing, rowsPerWriter times or until the cap; rows per second from the common start to the last release.',
      'Transaction: read the counter, write counter + 1; forwarded as db.transaction() (a remote session on the primary), halt lock around BEGIN IMMEDIATE … COMMIT on the replica; blocks rotated. The counter on the primary afterwards must equal its start + every increment (lostUpdates).',
    ],
    single: {
      rounds: P.halt.rounds,
      block: P.halt.block,
      variants: single.map((variant) => ({ id: variant.id, label: variant.label, ...s[variant.id] })),
      haltLockParts: singleBreakdown,
      haltLockWithoutHelperPipes: haltWithoutHelper,
    },
    throughput: { windowMs, capMs: P.halt.capMs, rows: rateRows },
    transaction: {
      rounds: P.halt.txRounds,
      block: P.halt.txBlock,
      variants: transactions.map((variant) => ({ id: variant.id, label: variant.label, ...t[variant.id] })),
      haltLockParts: haltParts(txParts),
      counterBefore,
      counterAfter,
      increments,
      lostUpdates,
    },
  };
  panels.push(
    {
      kind: 'bars',
      title: 'Single write: forwarded vs LiteFS halt lock',
      unit: 'ms',
      categories: single.map((variant) => variant.short),
      series: [
        { name: 'p50', values: single.map((variant) => s[variant.id]!.p50) },
        { name: 'p99', values: single.map((variant) => s[variant.id]!.p99) },
      ],
    },
    {
      kind: 'bars',
      title: 'Throughput on one replica: forwarded vs halt lock',
      unit: 'rows/s (log)',
      categories: rateRows.map((row) => `${row['writers']} writer(s)`),
      series: [
        { name: 'forwarded (library defaults)', values: rateRows.map((row) => row['forwardedPerSecond'] as number) },
        { name: 'halt lock', values: rateRows.map((row) => (row['haltLock'] as { perSecond: number }).perSecond) },
      ],
      log: true,
    },
    {
      kind: 'bars',
      title: 'Read-then-write transaction: forwarded vs halt lock',
      unit: 'ms',
      categories: transactions.map((variant) => variant.short),
      series: [
        { name: 'p50', values: transactions.map((variant) => t[variant.id]!.p50) },
        { name: 'p99', values: transactions.map((variant) => t[variant.id]!.p99) },
      ],
    },
  );
}

const LEDGER_SHORT: Record<string, string> = {
  'no ledger': 'none',
  'current: random UUIDv4 key + created_at index': 'v4 + idx (now)',
  'time-ordered key + created_at index': 'v7 + idx',
  'time-ordered key, no index (purge by key range)': 'v7, no idx',
  'random UUIDv4 key, no index': 'v4, no idx',
};

async function ledgerPhase(): Promise<void> {
  const { primary } = await currentRoles();
  const single = await app(primary).call<Record<string, { p50Ms: number; p90Ms: number; walFramesPerCommit: number | null }>>('ledger', { ...P.ledger, groupSize: 1 }, 600_000);
  const group = await app(primary).call<Record<string, { p50Ms: number; p90Ms: number; walFramesPerCommit: number | null }>>(
    'ledger',
    { ...P.ledger, samples: Math.max(20, Math.round(P.ledger.samples / 4)), groupSize: 32 },
    600_000,
  );
  sections['ledger'] = {
    method:
      'raw better-sqlite3 on the primary through LiteFS, bench-only tables shaped like <tableName>_requests (key TEXT PRIMARY KEY, result TEXT, created_at INTEGER) WITHOUT ROWID, prefilled; each transaction = the benchmark insert + one ledger row per insert; designs interleaved',
    prefilledRows: P.ledger.prefill,
    singleWrite: single,
    groupOf32: group,
  };
  const none = single['no ledger']!;
  for (const [design, value] of Object.entries(single)) {
    if (design === 'no ledger') continue;
    figures.push(
      figure(`ledger.single.${slug(design)}`, 'ledger', `ledger, 1 write/commit, ${design}: p50 − none (${value.walFramesPerCommit ?? '?'} vs ${none.walFramesPerCommit ?? '?'} pages)`, value.p50Ms - none.p50Ms, 'ms'),
    );
  }
  const groupNone = group['no ledger']!;
  for (const [design, value] of Object.entries(group)) {
    if (design === 'no ledger') continue;
    figures.push(
      figure(`ledger.group.${slug(design)}`, 'ledger', `ledger, 32 writes/commit, ${design}: p50 / none (${value.walFramesPerCommit ?? '?'} vs ${groupNone.walFramesPerCommit ?? '?'} pages)`, value.p50Ms / groupNone.p50Ms, 'x'),
    );
  }
  const designs = Object.keys(single);
  panels.push({
    kind: 'bars',
    title: 'Ledger designs on LiteFS: commit p50',
    unit: 'ms',
    categories: designs.map((design) => LEDGER_SHORT[design] ?? design),
    series: [
      { name: '1 write per commit', values: designs.map((design) => single[design]!.p50Ms) },
      { name: '32 writes per commit', values: designs.map((design) => group[design]?.p50Ms ?? null) },
    ],
  });
}

async function memoryPhase(): Promise<void> {
  const { primary, replicas } = await currentRoles();
  const replica = replicas[replicas.length - 1]!;
  const port = await freePort();
  const child = forkApp(replica, { port, execArgv: ['--expose-gc'], label: `${replica.name}-memory` });
  try {
    await child.call('open', {}, 90_000);
    const primaryBefore = await app(primary).call<{ memory: MemorySample }>('usage', { gc: true });
    const sampleEvery = Math.max(500, Math.round(P.memory.total / 50));
    const result = await child.call<{ gcAvailable: boolean; opened: MemorySample; base: MemorySample; end: MemorySample; samples: MemorySample[]; durationMs: number; errors: number; firstError?: string }>(
      'memory',
      { ...P.memory, sampleEvery },
      15 * 60_000,
    );
    const primaryAfter = await app(primary).call<{ memory: MemorySample }>('usage', { gc: true });
    const growth = result.end.rssMB - result.base.rssMB;
    const peak = Math.max(...result.samples.map((sample) => sample.rssMB)) - result.base.rssMB;
    // Least-squares slope of RSS over the second half of the run: what keeps growing once the heap has its size.
    const half = result.samples.filter((sample) => sample.writes >= P.memory.total / 2);
    const slope = slopePer10k(half.map((sample) => [sample.writes, sample.rssMB]));
    sections['memory'] = {
      process: `a fresh replica app process on ${replica.name} (node --expose-gc), alone in its process`,
      writes: P.memory.total,
      concurrency: P.memory.concurrency,
      warmupWrites: P.memory.warmup,
      durationMs: Math.round(result.durationMs),
      writesPerSecond: Math.round((P.memory.total * 1000) / result.durationMs),
      errors: result.errors,
      firstError: result.firstError,
      gcAvailable: result.gcAvailable,
      opened: result.opened,
      base: result.base,
      end: result.end,
      samples: result.samples,
      primary: { before: primaryBefore.memory, after: primaryAfter.memory },
      unit: 'MB = 10^6 bytes',
    };
    figures.push(
      figure('memory.rss-growth', 'memory', `replica RSS growth over ${P.memory.total.toLocaleString('en-US')} forwarded writes (after warm-up, GC)`, growth, 'MB', le(20, '≤ 20 MB'), {
        baseRssMB: result.base.rssMB,
        endRssMB: result.end.rssMB,
        errors: result.errors,
      }),
      figure('memory.rss-slope', 'memory', 'replica RSS slope, second half (leak indicator)', slope, 'MB per 10k writes'),
      figure('memory.rss-growth-from-open', 'memory', `replica RSS growth from a fresh open (incl. ${P.memory.warmup.toLocaleString('en-US')}-write warm-up)`, result.end.rssMB - result.opened.rssMB, 'MB'),
      figure('memory.rss-peak-growth', 'memory', 'replica RSS peak growth during the run (no GC)', peak, 'MB'),
      figure('memory.heap-growth', 'memory', 'replica V8 heap growth (after GC)', result.end.heapUsedMB - result.base.heapUsedMB, 'MB'),
      figure('memory.primary-rss-growth', 'memory', 'primary RSS growth over the same writes (after GC)', primaryAfter.memory.rssMB - primaryBefore.memory.rssMB, 'MB'),
    );
    const line: LinePanel = {
      kind: 'line',
      title: `Replica memory, ${P.memory.total.toLocaleString('en-US')} forwarded writes`,
      xLabel: 'forwarded writes',
      unit: 'MB',
      series: [
        { name: 'RSS', points: result.samples.map((sample) => [sample.writes, sample.rssMB]) },
        { name: 'V8 heap used', points: result.samples.map((sample) => [sample.writes, sample.heapUsedMB]) },
      ],
    };
    panels.push(line);
  } finally {
    await child.close();
  }
}

// --- Reaction and failover -----------------------------------------------------------------------------------

interface ReactionSample {
  node: string;
  change: string;
  reason: string;
  reactionMs: number | null;
  event?: LeaseEvent;
  trigger: string;
  /** A replica's "no primary known", reported only once it has lasted UNKNOWN_DEBOUNCE_MS (issue 9, finding 19). */
  debounced: boolean;
}

const reactionSamples: ReactionSample[] = [];

function matches(change: RoleChangeRecord, event: LeaseEvent): boolean {
  if (event.type !== 'primaryChange') return false;
  if (change.to === 'primary') return event.isPrimary;
  if (change.to === 'replica') return !event.isPrimary && event.hostname === change.primary;
  if (change.to === 'unknown') return !event.isPrimary && event.hostname === '';
  return false;
}

/** Pairs each library role change with the LiteFS event it answers, on the same node. */
function reactions(node: string, changes: RoleChangeRecord[], after: number, trigger: string): void {
  const events = eventLogs.get(node)?.since(after) ?? [];
  for (const change of changes.filter((c) => c.via === 'onRoleChange' && c.t >= after)) {
    // The event this change answers: the latest matching one that came before it (a 5 ms allowance for the two
    // processes seeing the same line in either order).
    const candidates = events.filter((event) => matches(change, event) && event.t <= change.t + 5);
    const event = candidates[candidates.length - 1];
    const sample: ReactionSample = {
      node,
      change: `${change.from} → ${change.to}${change.primary ? ` (${change.primary})` : ''}`,
      reason: change.reason,
      reactionMs: event === undefined ? null : round(change.t - event.t, 3),
      trigger,
      debounced: change.from === 'replica' && change.to === 'unknown',
    };
    if (event !== undefined) sample.event = event;
    reactionSamples.push(sample);
  }
}

async function startEventLogs(): Promise<void> {
  for (const node of cluster!.nodes) {
    let eventLog = eventLogs.get(node.name);
    if (eventLog === undefined) {
      eventLog = new LiteFSEventLog(node.name, node.httpUrl);
      eventLogs.set(node.name, eventLog);
    }
    eventLog.start();
  }
  await sleep(300);
}

async function waitForRecord(child: ChildHandle, query: { after: number; forwarded?: boolean }, timeoutMs: number): Promise<LoopRecord> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const record = await child.call<LoopRecord | null>('loopFirst', query);
    if (record !== null) return record;
    if (Date.now() > deadline) throw new Error(`${child.name}: no successful write after the change within ${timeoutMs} ms`);
    await sleep(20);
  }
}

interface Transition {
  kind: 'graceful' | 'kill';
  from: string;
  to: string;
  replica: string;
  /** Epoch ms when the old primary was stopped (SIGTERM to LiteFS) or killed (SIGKILL to app and LiteFS). */
  at: number;
  litefsPromotionMs: number | null;
  litefsReplicaKnowsMs: number | null;
  newPrimaryLibraryRoleMs: number | null;
  firstLocalWriteOnNewPrimaryMs: number | null;
  firstForwardedWriteMs: number;
  failedCallsMeanwhile: number;
}

/** Stops (gracefully) or kills the current primary while both replicas keep writing; measures the switch. */
async function transition(kind: 'graceful' | 'kill'): Promise<Transition> {
  const { primary, replicas } = await currentRoles();
  for (const node of cluster!.nodes.filter((n) => n.litefsRunning)) await app(node).call('roleChanges');
  for (const node of replicas) await app(node).call('loopStart', {});
  await sleep(400);
  const old = app(primary);
  let at: number;
  if (kind === 'graceful') {
    // A graceful stop of the node: its app first (it holds files in the mount), then LiteFS, which hands over.
    await old.close();
    at = epochNow();
    await primary.stopLiteFS();
  } else {
    at = epochNow();
    old.killNow();
    await primary.kill();
  }
  const next = await cluster!.waitForPrimary({ exclude: primary, timeoutMs: 120_000 });
  const replica = replicas.find((node) => node !== next)!;
  const forwarded = await waitForRecord(app(replica), { after: at, forwarded: true }, 120_000);
  const local = await waitForRecord(app(next), { after: at, forwarded: false }, 30_000).catch(() => undefined);
  const loops = await Promise.all(replicas.map((node) => app(node).call<LoopRecord[]>('loopStop')));
  const failed = loops.flat().filter((record) => !record.ok && record.start >= at).length;
  const changes = new Map<string, RoleChangeRecord[]>();
  for (const node of replicas) changes.set(node.name, await app(node).call<RoleChangeRecord[]>('roleChanges'));
  for (const [name, list] of changes) reactions(name, list, at, kind === 'graceful' ? `graceful stop of ${primary.name}` : `kill -9 of ${primary.name}`);
  const promotion = eventLogs.get(next.name)?.since(at).find((event) => event.type === 'primaryChange' && event.isPrimary);
  const known = eventLogs.get(replica.name)?.since(at).find((event) => event.type === 'primaryChange' && event.hostname === next.name);
  const libraryRole = changes.get(next.name)?.find((change) => change.via === 'onRoleChange' && change.to === 'primary');
  const result: Transition = {
    kind,
    from: primary.name,
    to: next.name,
    replica: replica.name,
    at,
    litefsPromotionMs: promotion === undefined ? null : round(promotion.t - at, 1),
    litefsReplicaKnowsMs: known === undefined ? null : round(known.t - at, 1),
    newPrimaryLibraryRoleMs: libraryRole === undefined ? null : round(libraryRole.t - at, 1),
    firstLocalWriteOnNewPrimaryMs: local === undefined ? null : round(local.end - at, 1),
    firstForwardedWriteMs: round(forwarded.end - at, 1),
    failedCallsMeanwhile: failed,
  };
  log(`${kind}: ${primary.name} → ${next.name}: LiteFS promoted at +${result.litefsPromotionMs} ms, first forwarded write from ${replica.name} at +${result.firstForwardedWriteMs} ms`);
  // Bring the old primary back as a replica for the next round.
  await primary.startLiteFS({ wait: 'connected', timeoutMs: 60_000 });
  await startApp(primary);
  return result;
}

async function reactionPhase(): Promise<void> {
  await startEventLogs();
  const transitions: Transition[] = [];
  for (let i = 0; i < P.handovers; i++) transitions.push(await transition('graceful'));
  sections['handover'] = { transitions };
  figures.push(
    figure('handover.new-primary-resume', 'reaction', 'graceful handover: new primary’s library role → its own first local write (worst)', worstOf(transitions.map((t) => delta(t.firstLocalWriteOnNewPrimaryMs, t.newPrimaryLibraryRoleMs))), 'ms'),
  );
  figures.push(
    figure('handover.first-forwarded-write', 'reaction', 'graceful handover: LiteFS stop → first forwarded write (median)', median(transitions.map((t) => t.firstForwardedWriteMs)), 'ms', null, {
      litefsPromotionMs: transitions.map((t) => t.litefsPromotionMs),
    }),
  );
}

async function failoverPhase(): Promise<void> {
  await startEventLogs();
  const ttlMs = parseDurationMs(args.leaseTtl);
  const lockDelayMs = parseDurationMs(args.lockDelay);
  const transitions: Transition[] = [];
  for (let i = 0; i < P.failovers; i++) transitions.push(await transition('kill'));
  const overheads = transitions.map((t) => (t.litefsPromotionMs === null ? Number.NaN : t.firstForwardedWriteMs - t.litefsPromotionMs));
  figures.push(
    figure('failover.new-primary-resume', 'failover', 'failover: new primary’s library role → its own first local write (worst)', worstOf(transitions.map((t) => delta(t.firstLocalWriteOnNewPrimaryMs, t.newPrimaryLibraryRoleMs))), 'ms', null, {
      note: 'a call that was retrying towards the dead primary sleeps out its backoff (up to 500 ms) before it notices this node became primary',
    }),
    figure('failover.replica-forward-after-known', 'failover', 'failover: replica’s LiteFS knows the new primary → its first forwarded write (worst)', worstOf(transitions.map((t) => delta(t.firstForwardedWriteMs, t.litefsReplicaKnowsMs))), 'ms'),
  );
  const worst = overheads.some(Number.isNaN) ? Number.NaN : Math.max(...overheads);
  sections['failover'] = {
    leaseTtl: args.leaseTtl,
    lockDelay: args.lockDelay,
    nominalFloorMs: ttlMs + lockDelayMs,
    consulBoundMs: 2 * ttlMs + lockDelayMs,
    floorDefinition:
      'the measured floor is LiteFS itself: kill -9 → the new primary’s LiteFS emitting primaryChange{isPrimary:true} on /events. Consul expires a session between TTL and 2×TTL after its last renewal, then holds the lock for lock-delay; nothing above LiteFS can write before that.',
    transitions,
  };
  figures.push(
    figure('failover.overhead', 'failover', `failover: first forwarded write − LiteFS promotion (worst of ${transitions.length})`, worst, 'ms', le(500, '≤ floor + 500 ms'), {
      perRun: overheads.map((value) => round(value, 1)),
    }),
    figure('failover.total', 'failover', `failover: kill -9 → first forwarded write (median; TTL ${args.leaseTtl}, lock-delay ${args.lockDelay})`, median(transitions.map((t) => t.firstForwardedWriteMs)), 'ms'),
    figure('failover.floor', 'failover', 'failover floor: kill -9 → LiteFS promotion event (median)', median(transitions.map((t) => t.litefsPromotionMs ?? Number.NaN)), 'ms', null, {
      nominalTtlPlusLockDelayMs: ttlMs + lockDelayMs,
      consulBound2TtlPlusLockDelayMs: 2 * ttlMs + lockDelayMs,
    }),
    figure('failover.total-vs-nominal', 'failover', `failover − nominal TTL + lock-delay (${ttlMs + lockDelayMs} ms), median`, median(transitions.map((t) => t.firstForwardedWriteMs)) - (ttlMs + lockDelayMs), 'ms'),
  );
  panels.push({
    kind: 'bars',
    title: `Failover after kill -9 (TTL ${args.leaseTtl}, lock-delay ${args.lockDelay})`,
    unit: 'ms after the kill',
    categories: transitions.map((t, i) => `#${i + 1} ${t.from}→${t.to}`),
    series: [
      { name: 'nominal TTL + lock-delay', values: transitions.map(() => ttlMs + lockDelayMs) },
      { name: 'LiteFS promotion (floor)', values: transitions.map((t) => t.litefsPromotionMs) },
      { name: 'first forwarded write', values: transitions.map((t) => t.firstForwardedWriteMs) },
    ],
  });
}

function reactionFigures(): void {
  // The ≤ 50 ms target is for changes a caller acts on; "no primary known" waits out LiteFS's reconnect beats first.
  const measured = reactionSamples.filter((sample) => sample.reactionMs !== null && !sample.debounced).map((sample) => sample.reactionMs!);
  const debounced = reactionSamples.filter((sample) => sample.reactionMs !== null && sample.debounced).map((sample) => sample.reactionMs!);
  const unmatched = reactionSamples.filter((sample) => sample.reactionMs === null);
  sections['reaction'] = {
    definition:
      'LiteFS /events primaryChange (timestamped by the benchmark driver’s own subscription to each node) → the library’s onRoleChange on that node (its app process; the litefs-forward:role-change channel fires in the same call). Clocks: performance.timeOrigin + performance.now() in both processes. The two processes read the same line from two sockets, so a small negative value means the app process was scheduled first: the skew between processes is part of each sample (about ±2 ms on a loaded 2-core machine).',
    samples: reactionSamples,
    unmatched: unmatched.length,
  };
  if (reactionSamples.length === 0) return;
  figures.push(
    figure('reaction.max', 'reaction', `reaction: LiteFS primaryChange → library role switch (worst of ${measured.length})`, measured.length === 0 ? null : Math.max(...measured), 'ms', le(50, '≤ 50 ms'), {
      unmatchedChanges: unmatched.map((sample) => `${sample.node}: ${sample.change} (${sample.reason})`),
    }),
    figure('reaction.p50', 'reaction', 'reaction: LiteFS primaryChange → library role switch (median)', median(measured), 'ms'),
    figure(
      'reaction.unknown-debounced',
      'reaction',
      `reaction: a replica's "no primary known", debounced by design (worst of ${debounced.length})`,
      debounced.length === 0 ? null : Math.max(...debounced),
      'ms',
      le(UNKNOWN_DEBOUNCE_MS + 50, `≈ ${UNKNOWN_DEBOUNCE_MS} ms, the debounce`),
    ),
  );
  const kinds = [
    { name: 'graceful handover', match: (sample: ReactionSample) => sample.trigger.startsWith('graceful') },
    { name: 'kill -9 failover', match: (sample: ReactionSample) => sample.trigger.startsWith('kill') },
  ];
  const stat = (kind: (typeof kinds)[number], f: (values: number[]) => number): number | null => {
    const values = reactionSamples.filter((sample) => kind.match(sample) && sample.reactionMs !== null && !sample.debounced).map((sample) => sample.reactionMs!);
    return values.length === 0 ? null : f(values);
  };
  panels.push({
    kind: 'bars',
    title: 'Reaction: LiteFS primaryChange → role switch',
    unit: 'ms',
    categories: kinds.map((kind) => `${kind.name} (${reactionSamples.filter(kind.match).length})`),
    series: [
      { name: 'median', values: kinds.map((kind) => stat(kind, median)) },
      { name: 'p90', values: kinds.map((kind) => stat(kind, (values) => percentile(values, 90))) },
      { name: 'worst', values: kinds.map((kind) => stat(kind, (values) => Math.max(...values))) },
    ],
  });
}

function delta(a: number | null, b: number | null): number | null {
  return a === null || b === null ? null : round(a - b, 1);
}

function worstOf(values: (number | null)[]): number | null {
  const known = values.filter((value): value is number => value !== null);
  return known.length === 0 ? null : Math.max(...known);
}

function slopePer10k(points: [number, number][]): number {
  if (points.length < 2) return Number.NaN;
  const mx = mean(points.map((p) => p[0]));
  const my = mean(points.map((p) => p[1]));
  const num = points.reduce((sum, p) => sum + (p[0] - mx) * (p[1] - my), 0);
  const den = points.reduce((sum, p) => sum + (p[0] - mx) ** 2, 0);
  return den === 0 ? Number.NaN : (num / den) * 10_000;
}

function slug(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
}

// ---------------------------------------------------------------------------------------------------------------
// Network RTT (issue 12): a second cluster with every node and Consul in its own network namespace and Toxiproxy on
// every path between nodes (replication, Consul, forwarding), measured at each RTT of --rtt in turn, in one run.

const RTT_FORWARD_PORT = 20203;

async function rttPhase(): Promise<void> {
  const net = await Cluster.start({
    nodes: 3,
    lease: 'consul',
    network: 'netns',
    toxiproxy: { forwardPort: RTT_FORWARD_PORT },
    dbName: 'bench.db',
    leaseTtl: args.leaseTtl,
    lockDelay: args.lockDelay,
    ...(args.verbose ? { log: (line: string) => log(line) } : {}),
  });
  const children = new Map<string, ChildHandle>();
  try {
    const toxi = net.toxiproxy!;
    const namespaces = net.network!;
    const start = async (node: ClusterNode): Promise<ChildHandle> => {
      // Each node's app in its node's namespace, its endpoint on the node's own address, reached through its proxy.
      const config: NodeAppConfig = {
        name: node.name,
        dbPath: node.dbPath,
        mountDir: node.mountDir,
        litefsUrl: node.httpUrl,
        port: RTT_FORWARD_PORT,
        secret: SECRET,
        host: node.address,
        advertiseUrl: node.forwardProxyUrl!,
      };
      const child = ChildHandle.fork(NODE_APP, {
        name: `rtt-${node.name}`,
        env: { ...process.env, BENCH_NODE: JSON.stringify(config), [CLUSTER_ROOT_ENV]: net.rootDir },
        logFile: join(node.dir, 'bench-rtt.log'),
        wrap: (command, argv) => namespaces.wrap(node.name, command, argv),
      });
      children.set(node.name, child);
      await child.call('open', {}, 90_000);
      return child;
    };
    const primary = await net.waitForAgreement({ timeoutMs: 60_000 });
    const primaryApp = await start(primary);
    await primaryApp.call('schema');
    const [replica, other] = net.nodes.filter((node) => node !== primary) as [ClusterNode, ClusterNode];
    const [replicaApp, otherApp] = await Promise.all([start(replica), start(other)]);
    for (const child of [replicaApp, otherApp]) {
      const deadline = Date.now() + 30_000;
      while ((await child.call<{ role: string }>('role')).role !== 'replica') {
        if (Date.now() > deadline) throw new Error(`${child.name} never became a replica`);
        await sleep(50);
      }
    }
    const pingUrl = `${primary.forwardProxyUrl}${PING_PATH}`;
    const rows: Record<string, unknown>[] = [];
    for (const rtt of args.rtts) {
      await toxi.clear();
      if (rtt > 0) await toxi.setLatency({ rttMs: rtt });
      // Interleaved blocks, order rotated each round, as in the loopback latency phase.
      const variants = [
        { id: 'local', call: () => primaryApp.call<number[]>('latency', { variant: 'lib', n: P.rtt.block, warmup: 3 }, 300_000) },
        { id: 'local-key', call: () => primaryApp.call<number[]>('latency', { variant: 'lib', withKey: true, n: P.rtt.block, warmup: 3 }, 300_000) },
        { id: 'ping', call: () => replicaApp.call<number[]>('ping', { url: pingUrl, n: P.rtt.block, warmup: 2 }, 300_000) },
        { id: 'forwarded', call: () => replicaApp.call<number[]>('latency', { variant: 'lib', readYourWrites: false, n: P.rtt.block, warmup: 3 }, 300_000) },
        { id: 'forwarded-ryw', call: () => replicaApp.call<number[]>('latency', { variant: 'lib', readYourWrites: true, n: P.rtt.block, warmup: 3 }, 300_000) },
      ];
      const samples = new Map<string, number[]>([...variants.map((variant): [string, number[]] => [variant.id, []]), ['endpoint', []]]);
      for (let round = 0; round < P.rtt.rounds; round++) {
        for (let i = 0; i < variants.length; i++) {
          const variant = variants[(i + round) % variants.length]!;
          await primaryApp.call('serverTimes');
          samples.get(variant.id)!.push(...(await variant.call()));
          // Time inside the primary's endpoint per forwarded call (warm-up calls dropped): splits the gap to the floor.
          const endpoint = await primaryApp.call<number[]>('serverTimes');
          if (variant.id === 'forwarded') samples.get('endpoint')!.push(...endpoint.slice(3));
        }
      }
      const s = Object.fromEntries([...samples].map(([id, values]) => [id, summarize(values)])) as Record<string, Summary>;
      // 64 writers (library defaults, read-your-writes on) split over the two replicas, forwarding.
      const startAt = epochNow() + 200;
      const runs = await Promise.all(
        [replicaApp, otherApp].map((child) => child.call<ThroughputRun>('throughput', { variant: 'lib', writers: 32, startAt, durationMs: P.rtt.throughputMs }, P.rtt.throughputMs + 120_000)),
      );
      const writes = runs.reduce((sum, run) => sum + run.count, 0);
      const errors = runs.reduce((sum, run) => sum + run.errors, 0);
      const perSecond = (writes * 1000) / P.rtt.throughputMs;
      const floor = s['ping']!.p50 + s['local']!.p50;
      const row = {
        rttMs: rtt,
        pingP50: s['ping']!.p50,
        localP50: s['local']!.p50,
        localWithKeyP50: s['local-key']!.p50,
        floorP50: round(floor, 3),
        insidePrimaryEndpoint: s['endpoint'],
        forwarded: s['forwarded'],
        forwardedRyw: s['forwarded-ryw'],
        ping: s['ping'],
        local: s['local'],
        throughput64: { perSecond: Math.round(perSecond), writes, errors, latencyBoundPerSecond: Math.round((64 * 1000) / s['forwarded-ryw']!.p50) },
      };
      rows.push(row);
      log(`rtt ${rtt} ms: ping p50 ${s['ping']!.p50} ms, local ${s['local']!.p50} ms, forwarded p50 ${s['forwarded']!.p50} / p99 ${s['forwarded']!.p99} ms, RYW p50 ${s['forwarded-ryw']!.p50} ms, 64 writers ${Math.round(perSecond)}/s`);
      const at = `at ${rtt} ms RTT`;
      figures.push(
        figure(`rtt.${rtt}.forwarded.p50-over-floor`, 'network RTT', `forwarded write p50 − floor (one RTT + local commit, ${round(floor, 2)} ms) ${at}`, s['forwarded']!.p50 - floor, 'ms', le(1, '≤ 1 ms'), {
          forwardedP50: s['forwarded']!.p50,
          rttP50: s['ping']!.p50,
          localCommitP50: s['local']!.p50,
        }),
        figure(`rtt.${rtt}.forwarded.p99-over-floor`, 'network RTT', `forwarded write p99 − floor ${at} (p99 ${s['forwarded']!.p99} ms)`, s['forwarded']!.p99 - floor, 'ms'),
        figure(`rtt.${rtt}.forwarded.p50`, 'network RTT', `forwarded write p50 ${at} (RYW off)`, s['forwarded']!.p50, 'ms'),
        figure(`rtt.${rtt}.rtt.p50`, 'network RTT', `measured round trip to the primary's endpoint, p50, ${at}`, s['ping']!.p50, 'ms'),
        figure(`rtt.${rtt}.ledger.p50`, 'network RTT', `of which the ledger row ${at}: local commit with a key − without`, s['local-key']!.p50 - s['local']!.p50, 'ms'),
        figure(`rtt.${rtt}.endpoint.p50`, 'network RTT', `of which the primary's endpoint ${at}: time inside it − local commit with a key`, s['endpoint']!.p50 - s['local-key']!.p50, 'ms'),
        figure(`rtt.${rtt}.replica-side.p50`, 'network RTT', `of which the replica side and the wire ${at}: forwarded − round trip − time inside the endpoint`, s['forwarded']!.p50 - s['ping']!.p50 - s['endpoint']!.p50, 'ms'),
        figure(`rtt.${rtt}.ryw.p50-cost`, 'network RTT', `read-your-writes cost p50 ${at}: with wait − without`, s['forwarded-ryw']!.p50 - s['forwarded']!.p50, 'ms'),
        figure(`rtt.${rtt}.throughput.w64`, 'network RTT', `64 forwarding writers ${at}, writes/s (${errors} errors)`, perSecond, '/s'),
      );
    }
    const base = rows.find((row) => row['rttMs'] === 0) as { throughput64: { perSecond: number } } | undefined;
    if (base) {
      for (const row of rows as Array<{ rttMs: number; throughput64: { perSecond: number } }>) {
        if (row.rttMs !== 0) figures.push(figure(`rtt.${row.rttMs}.throughput.w64-vs-0`, 'network RTT', `64 forwarding writers at ${row.rttMs} ms / at 0 ms RTT`, row.throughput64.perSecond / base.throughput64.perSecond, 'x'));
      }
    }
    sections['rtt'] = {
      cluster: 'LiteFS v0.5.14 + Consul v1.16.1, 3 nodes and Consul each in its own network namespace (test/harness/netns.ts), Toxiproxy in front of every LiteFS, Consul and forwarding endpoint',
      method: [
        'Per RTT: Toxiproxy latency of RTT/2 each way on every proxy; then rounds of interleaved blocks (order rotated): the library on the primary (local commit, without and with an idempotency key), an HTTP round trip from a replica to the primary endpoint through its proxy (answered without the library: the network floor), and a forwarded single-row insert with read-your-writes off and on.',
        'floor = measured round trip p50 + local commit p50 (no key); forwarded writes carry an idempotency key, so the gap splits into the ledger row, the primary endpoint (time inside it − local commit with a key) and the replica side + wire (forwarded − round trip − time inside the endpoint).',
        '64 writers: 32 on each replica, library defaults (read-your-writes on); latencyBoundPerSecond = 64 / forwarded-with-RYW p50.',
      ],
      rounds: P.rtt.rounds,
      block: P.rtt.block,
      rows,
    };
    panels.push({
      kind: 'bars',
      title: 'Forwarded write against the floor, by RTT',
      unit: 'ms',
      categories: args.rtts.map((rtt) => `${rtt} ms RTT`),
      series: [
        { name: 'floor (RTT + local)', values: rows.map((row) => row['floorP50'] as number) },
        { name: 'forwarded p50', values: rows.map((row) => (row['forwarded'] as Summary).p50) },
        { name: 'forwarded p99', values: rows.map((row) => (row['forwarded'] as Summary).p99) },
        { name: 'with RYW p50', values: rows.map((row) => (row['forwardedRyw'] as Summary).p50) },
      ],
    });
  } finally {
    await Promise.all([...children.values()].map((child) => child.close().catch(() => undefined)));
    await net.close();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Main

async function shutdown(): Promise<void> {
  for (const eventLog of eventLogs.values()) await eventLog.stop();
  await Promise.all([...apps.values()].map((child) => child.close().catch(() => undefined)));
  await cluster?.close();
  if (haltLockDir !== undefined) rmSync(haltLockDir, { recursive: true, force: true });
}

async function main(): Promise<void> {
  const machine = machineInfo();
  log(`${args.quick ? 'quick' : 'full'} run on ${machine.cpuModel} × ${machine.cores}, Node ${machine.nodeVersion}`);
  const loadBefore = await backgroundLoad(1_000);
  log(`machine busy before the run: ${loadBefore}% (others)`);

  const clusterTargets: Expected[] = [
    ['reads.ratio', 'reads', 'reads: library / raw better-sqlite3 time, query mix', 'x', le(1.05, '≤ 1.05x')],
    ['latency.forwarded.p50-overhead', 'latency', 'write p50 overhead: forwarded (RYW off) − local on primary', 'ms', le(0.5, '≤ 0.5 ms')],
    ['latency.forwarded-ryw.p50-overhead', 'latency', 'write p50 overhead: forwarded (RYW on) − local on primary', 'ms', le(0.5, '≤ 0.5 ms')],
    ['throughput.w64.ratio', 'throughput', 'write throughput, 64 forwarding writers / primary alone', 'x', ge(1.0, '≥ 1.0x')],
    ['halt.single.p50-ratio', 'halt-lock', 'single write p50: forwarded (RYW on) / halt lock', 'x', le(0.4, '≤ 0.4x')],
    ['halt.throughput.w64.ratio', 'halt-lock', 'throughput, 64 writers on one replica: forwarded / halt lock', 'x', ge(20, '≥ 20x')],
    ['memory.rss-growth', 'memory', 'replica RSS growth over forwarded writes', 'MB', le(20, '≤ 20 MB')],
    ['reaction.max', 'reaction', 'reaction: LiteFS primaryChange → library role switch', 'ms', le(50, '≤ 50 ms')],
    ['failover.overhead', 'failover', 'failover: first forwarded write after kill -9 − LiteFS promotion', 'ms', le(500, '≤ floor + 500 ms')],
  ];
  const pick = (ids: string[]): Expected[] => clusterTargets.filter((e) => ids.some((id) => e[0].startsWith(id)));

  try {
    if (wanted('codec')) await phase('wire codec (micro)', [], codecPhase);
    if (wanted('transport')) await phase('transport (micro)', [], transportPhase);
    // Before the cluster starts: without gcc the phase fails at once.
    if (wanted('halt-lock')) await phase('halt-lock helper (gcc)', pick(['halt.']), haltLockBuildPhase);
    const haltLockReady = wanted('halt-lock') && haltLockBinary !== undefined;
    const needsCluster = haltLockReady || ['reads', 'latency', 'throughput', 'ledger', 'memory', 'reaction', 'failover'].some(wanted);
    if (needsCluster) {
      await phase('cluster start', pick(['reads', 'latency', 'throughput', 'halt.', 'memory', 'reaction', 'failover']).filter((e) => wanted(e[1])), setupPhase);
    }
    if (cluster !== undefined) {
      if (wanted('reads')) await phase('reads', pick(['reads']), readsPhase);
      if (wanted('latency')) await phase('single-write latency', pick(['latency']), latencyPhase);
      if (wanted('throughput')) {
        await phase('write throughput', pick(['throughput']), throughputPhase);
        if (P.groupCommitSweep && Number.isFinite(baseline64)) await phase('group-commit settings', [], groupCommitPhase);
      }
      if (haltLockReady) await phase('halt lock (LiteFS write forwarding)', pick(['halt.']), haltLockPhase);
      if (wanted('ledger')) await phase('ledger designs', [], ledgerPhase);
      if (wanted('memory')) await phase('memory', pick(['memory']), memoryPhase);
      if (wanted('reaction')) await phase('reaction (graceful handovers)', [], reactionPhase);
      if (wanted('failover')) await phase('failover (kill -9)', pick(['failover']), failoverPhase);
      if (wanted('reaction') || wanted('failover')) {
        reactionFigures();
        if (!figures.some((f) => f.id === 'reaction.max')) figures.push(failedFigure(...clusterTargets[5]!, 'no role change was observed'));
      }
    }
  } finally {
    await phase('shutdown', [], shutdown);
  }
  if (args.rtts.length > 0 && wanted('rtt')) {
    const expected = args.rtts.map((rtt): Expected => [`rtt.${rtt}.forwarded.p50-over-floor`, 'network RTT', `forwarded write p50 − floor at ${rtt} ms RTT`, 'ms', le(1, '≤ 1 ms')]);
    await phase(`network RTT ${args.rtts.join(', ')} ms (netns)`, expected, rttPhase);
  }
  const loadAfter = await backgroundLoad(1_000);

  // Targeted figures first, in the brief's order; the rest after.
  const order = ['reads', 'latency', 'throughput', 'read-your-writes', 'halt-lock', 'network RTT', 'reaction', 'failover', 'memory', 'ledger', 'group commit', 'codec', 'transport'];
  figures.sort((a, b) => (a.target === null ? 1 : 0) - (b.target === null ? 1 : 0) || order.indexOf(a.section) - order.indexOf(b.section));
  const targeted = figures.filter((f) => f.target !== null);
  const finishedAt = epochNow();
  const document = {
    schema: 1,
    tool: 'litefs-forward bench (npm run bench)',
    mode: args.quick ? 'quick' : 'full',
    startedAt: new Date(runStartedAt).toISOString(),
    finishedAt: new Date(finishedAt).toISOString(),
    durationSeconds: round((finishedAt - runStartedAt) / 1000, 1),
    machine: {
      ...machine,
      loadavgAtEnd: loadavg().map((value) => round(value, 2)),
      busyPercentBeforeRun: loadBefore,
      busyPercentAfterRun: loadAfter,
      note: 'A shared 2-core machine: other sessions may have been using the CPU during the run (see busyPercentBeforeRun/AfterRun, measured over 1 s with nothing of ours running, and each phase’s machineBusyPct, which includes our own cluster). Every figure is a ratio or percentile measured side by side in this run, so shared load hits both sides of each comparison.',
    },
    summary: {
      targets: targeted.length,
      met: targeted.filter((f) => f.met === true).length,
      missed: targeted.filter((f) => f.met === false).map((f) => f.id),
      informational: figures.length - targeted.length,
    },
    figures,
    sections,
    phases,
    chart: { panels },
  };
  mkdirSync(args.outDir, { recursive: true });
  const json = `${JSON.stringify(document, (_key, value) => (typeof value === 'bigint' ? value.toString() : value), 2)}\n`;
  writeFileSync(join(args.outDir, 'latest.json'), json);
  const svg = renderChart({
    title: `litefs-forward benchmark (${document.mode}) — ${document.summary.met}/${document.summary.targets} targets met`,
    subtitle: `${document.startedAt} · ${machine.cpuModel} × ${machine.cores} · Node ${machine.nodeVersion} · LiteFS v0.5.14 + Consul v1.16.1, 3 nodes ${[cluster !== undefined ? 'on loopback' : '', args.rtts.length > 0 && wanted('rtt') ? `in network namespaces at ${args.rtts.join('/')} ms RTT` : ''].filter(Boolean).join(', then ')}, lease TTL ${args.leaseTtl} · ${document.durationSeconds} s`,
    figures,
    panels,
  });
  writeFileSync(join(args.outDir, 'latest.svg'), svg);
  process.stdout.write(`\n${table(figures)}\n\n`);
  process.stdout.write(`${document.summary.met}/${document.summary.targets} targets met${document.summary.missed.length > 0 ? `; missed: ${document.summary.missed.join(', ')}` : ''}\n`);
  process.stdout.write(`machine: ${machine.cpuModel} × ${machine.cores}, Node ${machine.nodeVersion}; busy before/after the run (others): ${loadBefore}% / ${loadAfter}%\n`);
  process.stdout.write(`wrote ${join(args.outDir, 'latest.json')} and ${join(args.outDir, 'latest.svg')} in ${document.durationSeconds} s\n`);
  process.exitCode = targeted.some((f) => f.error !== undefined) ? 1 : 0;
}

await main();
