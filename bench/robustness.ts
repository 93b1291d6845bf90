// Robustness figure (issue 9): 1,000 unauthenticated connections hold partial bodies (and, second, partial
// headers) against a real primary process. Reports, as JSON, the primary's RSS growth (target ≤ 64 MB) and a
// legitimate forwarded write's p99 under attack against idle (target ≤ 2x). Run with `npm run robustness`.
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { RpcClient } from '../src/replica/rpc-client.js';
import { freePort, startNode, TEST_SECRET } from '../test/support/fake-cluster.js';
import { FakeLiteFS } from '../test/support/fake-litefs.js';
import { TEST_RPC_PATH as RPC_PATH } from '../test/support/rpc-post.js';
import { percentile, sleep } from './util.js';

const CONNECTIONS = Number(process.env.ROBUSTNESS_CONNECTIONS ?? 1_000);
const WRITES = Number(process.env.ROBUSTNESS_WRITES ?? 300);
const DECLARED_BODY = 4 * 1024 * 1024;
const PARTIAL_BODY = 64 * 1024;
const RSS_TARGET_MB = 64;
const P99_TARGET_RATIO = 2;

function softFdLimit(): number {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    const soft = line?.split(/\s{2,}/)[1];
    return soft === undefined || soft === 'unlimited' ? Number.POSITIVE_INFINITY : Number(soft);
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}

function rssMb(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'));
  return Number(line?.match(/(\d+)/)?.[1] ?? Number.NaN) / 1024;
}

async function writeLatencies(client: RpcClient, url: string, label: string): Promise<number[]> {
  const latencies: number[] = [];
  for (let i = 0; i < WRITES; i++) {
    const started = performance.now();
    await client.call(url, { op: 'query', mode: 'run', sql: 'INSERT INTO items (name) VALUES (?)', params: { p: [`${label}-${i}`] }, timeoutMs: 10_000 }, AbortSignal.timeout(10_000));
    latencies.push(performance.now() - started);
  }
  return latencies;
}

interface Attack {
  opened: number;
  failedToOpen: number;
  closedByServer: number;
  answered401: number;
}

/** Opens `CONNECTIONS` sockets and sends each `payload`; keeps them open (never sends the rest). */
async function attack(port: number, payload: (i: number) => Buffer[]): Promise<{ sockets: Socket[]; stats: Attack }> {
  const stats: Attack = { opened: 0, failedToOpen: 0, closedByServer: 0, answered401: 0 };
  const sockets: Socket[] = [];
  await Promise.all(
    Array.from(
      { length: CONNECTIONS },
      (_, i) =>
        new Promise<void>((resolve) => {
          const socket = connect(port, '127.0.0.1');
          let answered = false;
          socket.on('data', (chunk: Buffer) => {
            if (!answered && chunk.toString('latin1').startsWith('HTTP/1.1 401')) stats.answered401++;
            answered = true;
          });
          socket.on('error', () => {});
          socket.once('close', () => stats.closedByServer++);
          let connected = false;
          socket.once('connect', () => {
            connected = true;
            stats.opened++;
            for (const part of payload(i)) socket.write(part);
            resolve();
          });
          socket.once('error', () => {
            // A reset after the server answered is the refusal itself, not a failure to connect.
            if (!connected) stats.failedToOpen++;
            resolve();
          });
          sockets.push(socket);
        }),
    ),
  );
  return { sockets, stats };
}

function summary(values: number[]): { p50: number; p99: number } {
  return { p50: round(percentile(values, 50)), p99: round(percentile(values, 99)) };
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

async function main(): Promise<void> {
  const limit = softFdLimit();
  if (limit < 2 * CONNECTIONS + 200) {
    console.error(
      `This process may open only ${limit} files, and the figure needs about ${2 * CONNECTIONS + 200}. Raise the limit (\`ulimit -n ${2 * CONNECTIONS + 500}\`) and run again.`,
    );
    process.exit(2);
  }
  const litefs = await FakeLiteFS.start({ isPrimary: true });
  const port = await freePort();
  const primary = await startNode('node-a', litefs, { listen: { host: '127.0.0.1', port }, advertiseUrl: `http://127.0.0.1:${port}` });
  const url = `http://127.0.0.1:${port}`;
  const client = new RpcClient({ secret: Buffer.from(TEST_SECRET), hostname: 'robustness', databaseName: 'app.db' });
  try {
    await primary.process.call('exec', 'CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT)');
    await writeLatencies(client, url, 'warmup');
    const idle = await writeLatencies(client, url, 'idle');
    await sleep(200);
    const rssIdle = rssMb(primary.process.pid);

    // Phase 1: unsigned requests announcing 4 MiB, each sending 64 KiB of it and then nothing more.
    const partialBodies = await attack(port, () => [
      Buffer.from(`POST ${RPC_PATH} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${DECLARED_BODY}\r\n\r\n`),
      Buffer.alloc(PARTIAL_BODY, 'a'),
    ]);
    await sleep(1_000);
    const rssBodies = rssMb(primary.process.pid);
    const underBodies = await writeLatencies(client, url, 'bodies');
    const rssBodiesPeak = Math.max(rssBodies, rssMb(primary.process.pid));
    for (const socket of partialBodies.sockets) socket.destroy();
    await sleep(500);

    // Phase 2: requests whose headers never finish (slowloris), held until the header timeout.
    const partialHeaders = await attack(port, (i) => [Buffer.from(`POST ${RPC_PATH} HTTP/1.1\r\nhost: x\r\nx-litefs-forward-signature: v2=${i}\r\n`)]);
    await sleep(1_000);
    const rssHeaders = rssMb(primary.process.pid);
    const underHeaders = await writeLatencies(client, url, 'headers');
    for (const socket of partialHeaders.sockets) socket.destroy();

    const idleP99 = percentile(idle, 99);
    const report = {
      connections: CONNECTIONS,
      writesPerPhase: WRITES,
      rssMb: { idle: round(rssIdle), partialBodies: round(rssBodiesPeak), partialHeaders: round(rssHeaders) },
      rssGrowthMb: round(Math.max(rssBodiesPeak, rssHeaders) - rssIdle),
      writeLatencyMs: { idle: summary(idle), partialBodies: summary(underBodies), partialHeaders: summary(underHeaders) },
      p99Ratio: round(Math.max(percentile(underBodies, 99), percentile(underHeaders, 99)) / idleP99),
      attack: { partialBodies: partialBodies.stats, partialHeaders: partialHeaders.stats },
      targets: { rssGrowthMb: RSS_TARGET_MB, p99Ratio: P99_TARGET_RATIO },
      pass: false,
    };
    report.pass = report.rssGrowthMb <= RSS_TARGET_MB && report.p99Ratio <= P99_TARGET_RATIO;
    console.log(JSON.stringify(report, null, 2));
    process.exitCode = report.pass ? 0 : 1;
  } finally {
    client.close();
    await primary.process.stop();
    await litefs.close();
  }
}

await main();
