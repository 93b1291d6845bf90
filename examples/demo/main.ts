// `npm run demo`: the example app (examples/app/server.ts) on a real LiteFS + Consul cluster, under a steady write
// workload sent to the replicas, through a kill -9 of the primary. Shows a live view of every node, the failover
// and the recovery, then checks every node's SQLite file: each acknowledged write must be there exactly once.
//
//   node dist/examples/demo/main.js [--quick] [--nodes N] [--rate W] [--lease-ttl 10s] [--rtt 80ms]
//
// Needs what the cluster harness needs (test/harness/cluster.ts): root or FUSE access, /dev/fuse, and the tools
// from `bash scripts/install-cluster-tools.sh`.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { Cluster, type ClusterNode, fuseMountsUnder } from '../../test/harness/cluster.js';
import { type Column, cell, RateMeter, Screen, styles } from './view.js';
import { type Target, Workload } from './workload.js';

const HELP = `Usage: node dist/examples/demo/main.js [options]

Starts a LiteFS + Consul cluster running examples/app, writes to the replicas at a steady rate,
kills the primary (kill -9 of its app and LiteFS), and shows the failover and the recovery. Then
checks that every acknowledged write is present exactly once on every surviving node.

Options:
  --quick            a shorter workload (5 s before the kill, 5 s after the recovery)
  --nodes <n>        number of nodes, at least 2 (default 3)
  --rate <w>         writes per second, over all replicas (default 40)
  --lease-ttl <ttl>  Consul lease TTL (default 10s; failover takes about 2 x TTL)
  --rtt <ms>         simulated regions: each node and Consul in its own network namespace, with this
                     round trip between them (e.g. 80ms; Toxiproxy on replication, Consul and forwarding)
  -h, --help         show this help
`;

interface AppStatus {
  role: string;
  hostname: string;
  primary?: { hostname: string };
  txid?: string;
  lagMs?: number;
  forwarding?: { forwarded: number; failed: number; inFlight: number };
  lastChange?: { reason: string };
}

interface NodeView {
  node: ClusterNode;
  killed: boolean;
  status: AppStatus | undefined;
  statusError: string | undefined;
  role: string;
  ackRate: RateMeter;
  fwdRate: RateMeter;
}

interface Verification {
  node: string;
  rows: number;
  present: number;
  missing: string[];
  duplicated: string[];
  wrongId: string[];
  unacknowledged: number;
}

const APP = fileURLToPath(new URL('../app/server.js', import.meta.url));
// With --rtt every node has its own address, so all apps can use one port; Toxiproxy fronts that port on each node.
const NETNS_APP_PORT = 8080;
const SECRET = `demo-${randomBytes(24).toString('hex')}`;

const start = performance.now();
const now = (): number => performance.now() - start;
const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
const stamp = (): string => `[${(now() / 1000).toFixed(1).padStart(5)}s]`;

function parseOptions() {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      nodes: { type: 'string', default: '3' },
      rate: { type: 'string', default: '40' },
      'lease-ttl': { type: 'string', default: '10s' },
      rtt: { type: 'string', default: '0ms' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const nodes = Number(values.nodes);
  const rate = Number(values.rate);
  if (!Number.isInteger(nodes) || nodes < 2 || nodes > 9) throw new UsageError(`--nodes must be an integer from 2 to 9, got ${values.nodes}`);
  if (!Number.isFinite(rate) || rate <= 0 || rate > 1000) throw new UsageError(`--rate must be a number of writes per second from 1 to 1000, got ${values.rate}`);
  if (!/^\d+(ms|s|m)$/.test(values['lease-ttl'])) throw new UsageError(`--lease-ttl must look like 10s, got ${values['lease-ttl']}`);
  if (!/^\d+ms$/.test(values.rtt)) throw new UsageError(`--rtt must look like 80ms, got ${values.rtt}`);
  const rttMs = Number.parseInt(values.rtt, 10);
  if (rttMs > 10_000) throw new UsageError(`--rtt must be at most 10000ms, got ${values.rtt}`);
  return {
    help: values.help,
    nodes,
    rate,
    leaseTtl: values['lease-ttl'],
    rttMs,
    beforeKillMs: values.quick ? 5_000 : 15_000,
    afterRecoveryMs: values.quick ? 5_000 : 10_000,
  };
}

class UsageError extends Error {}

function percentile(values: number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** "a", "a and b", "a, b and c". */
function listing(items: string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;
}

async function getStatus(node: ClusterNode): Promise<AppStatus> {
  const response = await fetch(`${node.appUrl}/status`, { signal: AbortSignal.timeout(1_500) });
  if (response.status !== 200) throw new Error(`HTTP_${response.status}`);
  return (await response.json()) as AppStatus;
}

/** Every row of this run's writes in a node's SQLite file, read through its LiteFS mount. */
function readRows(node: ClusterNode, prefix: string): Map<string, number[]> {
  const rows = new Map<string, number[]>();
  if (!existsSync(node.dbPath)) return rows;
  const db = new Database(node.dbPath, { readonly: true, fileMustExist: true, timeout: 5_000 });
  try {
    for (const row of db.prepare('SELECT id, name FROM items WHERE name LIKE ? ORDER BY id').iterate(`${prefix}%`) as Iterable<{ id: number; name: string }>) {
      const ids = rows.get(row.name);
      if (ids) ids.push(row.id);
      else rows.set(row.name, [row.id]);
    }
  } finally {
    db.close();
  }
  return rows;
}

function verify(node: ClusterNode, workload: Workload): Verification {
  const rows = readRows(node, `demo-${workload.runId}-`);
  const result: Verification = { node: node.name, rows: 0, present: 0, missing: [], duplicated: [], wrongId: [], unacknowledged: 0 };
  for (const [name, ids] of rows) {
    result.rows += ids.length;
    if (ids.length > 1) result.duplicated.push(name);
    if (!workload.acked.has(name)) result.unacknowledged++;
  }
  for (const [name, ack] of workload.acked) {
    const ids = rows.get(name);
    if (ids === undefined) result.missing.push(name);
    else if (ids.length === 1) {
      result.present++;
      if (ids[0] !== ack.id) result.wrongId.push(name);
    }
  }
  return result;
}

async function main(): Promise<number> {
  let options: ReturnType<typeof parseOptions>;
  try {
    options = parseOptions();
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (options.help) {
    process.stdout.write(HELP);
    return 0;
  }

  const screen = new Screen();
  const s = styles(screen.tty);
  const say = (line: string): void => screen.event(`${s.dim(stamp())} ${line}`);
  const abort = new AbortController();
  let cluster: Cluster | undefined;
  let workload: Workload | undefined;
  let poller: NodeJS.Timeout | undefined;

  // Registered before the harness's own handlers, so this runs first: stop the workload and the view. The harness
  // then closes the cluster (unmounts, stops every process) and exits with 130/143. Before the cluster starts and
  // after it is closed, the harness is not listening, and this handler exits.
  const onSignal = (signal: NodeJS.Signals): void => {
    if (abort.signal.aborted) return;
    abort.abort(new Error(signal));
    clearInterval(poller);
    workload?.stop();
    workload?.stopReading();
    screen.release();
    const tally = workload ? ` (${workload.acked.size} writes acknowledged so far)` : '';
    process.stdout.write(`\n${signal}: stopping the demo${tally} and closing the cluster...\n`);
    if (process.listenerCount(signal) === 1) process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const regions = options.rttMs > 0;
  const network = regions
    ? `a network namespace per node and for Consul, ${options.rttMs} ms RTT between them (Toxiproxy on replication, Consul and forwarding)`
    : 'loopback: every process on 127.0.0.1';
  process.stdout.write(
    `${s.bold('litefs-forward demo')}: ${options.nodes} LiteFS nodes (Consul lease, TTL ${options.leaseTtl}), the example app on each, ` +
      `${options.rate} writes/s to the replicas, then kill -9 of the primary.\nNetwork: ${network}.\n\n`,
  );
  try {
    say(`starting the cluster (LiteFS, Consul, ${options.nodes} app processes)...`);
    cluster = await Cluster.start({
      nodes: options.nodes,
      lease: 'consul',
      ...(regions ? { network: 'netns' as const, toxiproxy: { forwardPort: NETNS_APP_PORT } } : {}),
      leaseTtl: options.leaseTtl,
      dbName: 'app.db',
      signal: abort.signal,
      log: (line) => say(s.dim(line)),
      app: (node) => {
        const port = regions ? NETNS_APP_PORT : node.appPort;
        // Other nodes reach this one's forwarding endpoint through the proxy that adds the latency.
        const advertiseUrl = node.forwardProxyUrl ?? `http://127.0.0.1:${port}`;
        return {
          command: process.execPath,
          args: [APP],
          env: { LITEFS_FORWARD_SECRET: SECRET, NODE_NAME: node.name, APP_PORT: String(port), HOST: node.address, ADVERTISE_URL: advertiseUrl },
          port,
          readyPath: '/health',
        };
      },
    });
    const liveCluster = cluster;
    if (regions) {
      await liveCluster.toxiproxy!.setLatency({ rttMs: options.rttMs });
      say(`Toxiproxy: ${options.rttMs} ms round trip between nodes (${options.rttMs / 2} ms each way) on ${liveCluster.toxiproxy!.proxyNames().join(', ')}`);
    }
    const firstPrimary = await liveCluster.primary();
    const writers: Target[] = liveCluster.nodes.filter((node) => node !== firstPrimary).map((node) => ({ name: node.name, url: node.appUrl }));
    const load = new Workload({ writers, rate: options.rate, maxInFlight: 200, requestTimeoutMs: 30_000, now });
    workload = load;
    const views: NodeView[] = liveCluster.nodes.map((node) => ({
      node,
      killed: false,
      status: undefined,
      statusError: undefined,
      role: 'starting',
      ackRate: new RateMeter(),
      fwdRate: new RateMeter(),
    }));
    const readyAt = now();
    say(`cluster ready in ${seconds(readyAt)}: ${firstPrimary.name} is primary (root ${liveCluster.rootDir})`);

    // The failover, as it is observed.
    let phase = 'steady workload';
    let killedAt: number | undefined;
    let electedAt: number | undefined;
    let newPrimary: string | undefined;
    let appPrimaryAt: number | undefined;
    let firstAck: { at: number; via: string } | undefined;
    let firstForwarded: { at: number; via: string } | undefined;
    let retriesClearedAt: number | undefined;

    const observeFailover = (): void => {
      if (killedAt === undefined) return;
      if (newPrimary === undefined) {
        const primary = views.find((view) => !view.killed && view.role === 'primary');
        if (primary) {
          newPrimary = primary.node.name;
          appPrimaryAt = now();
        }
      }
      if (firstAck === undefined && load.acksAfterMark.length > 0) {
        const first = load.acksAfterMark.reduce((a, b) => (b.at < a.at ? b : a));
        firstAck = { at: first.at, via: first.via };
        say(s.green(`first write acknowledged after the kill: ${seconds(first.at - killedAt)} after it (via ${first.via})`));
      }
      if (firstForwarded === undefined && newPrimary !== undefined) {
        const forwarded = load.acksAfterMark.filter((ack) => ack.via !== newPrimary);
        if (forwarded.length > 0) {
          const first = forwarded.reduce((a, b) => (b.at < a.at ? b : a));
          firstForwarded = { at: first.at, via: first.via };
          say(s.green(`first forwarded write acknowledged after the kill: ${seconds(first.at - killedAt)} after it (${first.via} → ${newPrimary})`));
        }
      }
      if (retriesClearedAt === undefined && firstAck !== undefined && load.unresolved === 0) {
        retriesClearedAt = now();
        say(
          `recovered ${seconds(retriesClearedAt - killedAt)} after the kill: every write in flight then or failed since is acknowledged ` +
            `(${load.retried} retries, same keys)`,
        );
      }
    };

    const columns: Column[] = [
      { title: 'NODE', width: 6 },
      { title: 'ROLE', width: 8 },
      { title: 'PRIMARY', width: 7 },
      { title: 'TXID', width: 7, align: 'right' },
      { title: 'LAG', width: 7, align: 'right' },
      { title: 'ROWS', width: 6, align: 'right' },
      { title: 'ACK/s', width: 6, align: 'right' },
      { title: 'FWD/s', width: 6, align: 'right' },
      { title: 'ERRORS', width: 6, align: 'right' },
      { title: 'LAST ERROR', width: 20 },
    ];
    const render = (): void => {
      if (abort.signal.aborted) return;
      const ackRate = views.reduce((sum, view) => sum + view.ackRate.perSecond(), 0);
      const header = [
        `${s.bold(phase)}${killedAt === undefined ? '' : s.dim(` (${seconds(now() - killedAt)} since the kill)`)}${s.dim(regions ? ` · ${options.rttMs} ms RTT between nodes` : ' · loopback')}`,
        `writes ${s.bold(String(load.acked.size))} acknowledged, ${ackRate.toFixed(0)}/s, ${load.inFlight} in flight, ${load.pendingRetries} to retry, ${load.errors} failed attempts`,
        s.dim(columns.map((column) => cell(column.title, column)).join(' ')),
      ];
      const rows = views.map((view) => {
        const tally = load.tally(view.node.name);
        const status = view.status;
        const role = view.killed ? 'KILLED' : view.statusError !== undefined ? 'down' : view.role;
        const roleStyle = role === 'primary' ? s.green : role === 'KILLED' || role === 'down' ? s.red : role === 'replica' ? (t: string) => t : s.yellow;
        const live = !view.killed && status !== undefined;
        return [
          cell(view.node.name, columns[0]!, s.bold),
          cell(role, columns[1]!, roleStyle),
          cell(live ? (status.primary?.hostname ?? '?') : '-', columns[2]!),
          cell(live && status.txid !== undefined ? String(Number.parseInt(status.txid, 16)) : '-', columns[3]!),
          cell(live && status.lagMs !== undefined ? `${status.lagMs}ms` : '-', columns[4]!),
          cell(tally.rows === undefined || view.killed ? '-' : String(tally.rows), columns[5]!),
          cell(view.killed ? '-' : view.ackRate.perSecond().toFixed(0), columns[6]!),
          cell(view.killed ? '-' : view.fwdRate.perSecond().toFixed(0), columns[7]!),
          cell(String(tally.errors), columns[8]!, tally.errors > 0 ? s.red : undefined),
          cell(tally.lastError ?? '-', columns[9]!),
        ].join(' ');
      });
      screen.frame([...header, ...rows], () => {
        const nodes = views.map((view) => {
          if (view.killed) return `${view.node.name} KILLED`;
          const status = view.status;
          return `${view.node.name} ${view.statusError === undefined ? view.role : 'down'} tx=${status?.txid ? Number.parseInt(status.txid, 16) : '-'} ack=${view.ackRate.perSecond().toFixed(0)}/s fwd=${view.fwdRate.perSecond().toFixed(0)}/s err=${load.tally(view.node.name).errors}`;
        });
        return `${stamp()} ${phase} | acked ${load.acked.size} (${ackRate.toFixed(0)}/s) in-flight ${load.inFlight} retry ${load.pendingRetries} | ${nodes.join(' | ')}`;
      });
    };

    let polling = false;
    const poll = async (): Promise<void> => {
      if (polling) return;
      polling = true;
      try {
        await Promise.all(
          views.map(async (view) => {
            if (view.killed) return;
            try {
              const status = await getStatus(view.node);
              view.status = status;
              view.statusError = undefined;
              if (status.role !== view.role) {
                const before = view.role;
                view.role = status.role;
                if (before !== 'starting') {
                  const reason = status.lastChange?.reason ? s.dim(` (${status.lastChange.reason})`) : '';
                  say(`${view.node.name}: ${before} → ${status.role === 'primary' ? s.green('primary') : status.role}${reason}`);
                }
              }
              view.fwdRate.record(now(), status.forwarding?.forwarded ?? 0);
            } catch (error) {
              view.statusError = (error as Error).name === 'TimeoutError' ? 'timeout' : 'unreachable';
            }
            view.ackRate.record(now(), load.tally(view.node.name).acked);
          }),
        );
        observeFailover();
        render();
      } finally {
        polling = false;
      }
    };
    await poll();
    poller = setInterval(() => void poll(), 500);

    for (const view of views) load.startReading({ name: view.node.name, url: view.node.appUrl }, 1_000);
    load.start();
    say(`workload: ${options.rate} writes/s to ${listing(writers.map((w) => w.name))} (POST /items with an Idempotency-Key); GET /items on each node every 1 s`);
    await sleep(options.beforeKillMs, undefined, { signal: abort.signal });

    // The failover.
    phase = 'failover: waiting for a new primary';
    say(s.red(`kill -9 of ${firstPrimary.name} (the primary): its app and its LiteFS`));
    killedAt = now();
    load.mark(killedAt);
    const killedView = views.find((view) => view.node === firstPrimary)!;
    killedView.killed = true;
    load.stopReading(firstPrimary.name);
    await firstPrimary.kill();
    const elected = liveCluster.waitForPrimary({ exclude: firstPrimary, timeoutMs: 120_000 }).then((node) => {
      electedAt = now();
      say(`LiteFS: ${node.name} holds the Consul lease, ${seconds(electedAt - killedAt!)} after the kill`);
      return node;
    });
    elected.catch(() => undefined);
    const failoverDeadline = now() + 120_000;
    // With 2 nodes the only writer becomes the primary: nothing is forwarded any more, the first write is enough.
    const forwarding = writers.length > 1;
    while (electedAt === undefined || (forwarding ? firstForwarded : firstAck) === undefined) {
      if (now() > failoverDeadline) throw new Error(`no ${forwarding ? 'forwarded ' : ''}write succeeded within 120 s of the kill\n${liveCluster.dumpLogs(20)}`);
      await sleep(100, undefined, { signal: abort.signal });
    }
    await elected;

    phase = 'recovered: workload continues';
    await sleep(options.afterRecoveryMs, undefined, { signal: abort.signal });

    // Stop, let every failed write be retried (same key) until acknowledged, then read every file.
    phase = 'draining: retrying what failed';
    load.stop();
    const unresolved = await load.drain(now() + 40_000);
    load.stopReading();
    phase = 'checking every node';
    const survivors = views.filter((view) => !view.killed).map((view) => view.node);
    let checks: Verification[] = [];
    const convergeDeadline = now() + 20_000;
    for (;;) {
      checks = survivors.map((node) => verify(node, load));
      if (checks.every((check) => check.missing.length === 0) || now() > convergeDeadline) break;
      await sleep(250, undefined, { signal: abort.signal });
    }
    for (const check of checks) load.tally(check.node).rows = check.rows;
    phase = 'done';
    await poll();
    clearInterval(poller);
    screen.release();

    // The summary.
    const ok = checks.every((check) => check.missing.length === 0 && check.duplicated.length === 0 && check.wrongId.length === 0);
    const lines: string[] = [];
    const line = (text = ''): number => lines.push(text);
    const errorsByCode = [...load.errorsByCode].sort((a, b) => b[1] - a[1]);
    const reads = [...load.tallies.values()].reduce((sum, tally) => ({ ok: sum.ok + tally.reads, failed: sum.failed + tally.readErrors }), { ok: 0, failed: 0 });
    line();
    line(s.bold('Summary'));
    line(`  duration                 ${seconds(now())} (the cluster started in ${seconds(readyAt)})`);
    line(`  network                  ${network}`);
    const waits = [...load.acked.values()].filter((ack) => ack.at < killedAt!).map((ack) => ack.at - ack.sentAt);
    const ms = (value: number | undefined): string => (value === undefined ? '-' : `${value.toFixed(1)} ms`);
    line(`  write latency            p50 ${ms(percentile(waits, 50))}, p99 ${ms(percentile(waits, 99))} for the ${waits.length} writes acknowledged before the kill (client → replica → primary and back)`);
    line(`  writes acknowledged      ${load.acked.size} of ${load.sent.size} sent (${load.retried} retries with the same idempotency key${unresolved > 0 ? `, ${unresolved} never acknowledged` : ''})`);
    line(`  reads                    ${reads.ok} GET /items answered, ${reads.failed} failed`);
    line(`  failover                 ${firstPrimary.name} killed at +${seconds(killedAt)} → new primary ${newPrimary ?? '?'}`);
    line(`    LiteFS lease acquired  ${electedAt === undefined ? '-' : seconds(electedAt - killedAt)} after the kill (Consul invalidates the lost session after ~2 × TTL ${options.leaseTtl})`);
    line(`    app reports primary    ${appPrimaryAt === undefined ? '-' : seconds(appPrimaryAt - killedAt)} after the kill (status polled every 0.5 s)`);
    line(`    first write acked      ${firstAck === undefined ? '-' : `${seconds(firstAck.at - killedAt)} after the kill (via ${firstAck.via})`}`);
    line(`    first forwarded write  ${firstForwarded === undefined ? '-' : `${s.bold(seconds(firstForwarded.at - killedAt))} after the kill (${firstForwarded.via} → ${newPrimary})`}`);
    line(`    recovered              ${retriesClearedAt === undefined ? '-' : `${seconds(retriesClearedAt - killedAt)} after the kill: every write in flight at the kill or failed since was acknowledged`}`);
    line(`  errors by code           ${errorsByCode.length === 0 ? 'none' : `${errorsByCode.map(([code, count]) => `${code} ${count}`).join(', ')} (failed attempts, each retried)`}`);
    line(`  rows on every surviving node (its SQLite file, read through its LiteFS mount):`);
    for (const check of checks) {
      const problems = [
        check.missing.length > 0 ? s.red(`${check.missing.length} missing (e.g. ${check.missing.slice(0, 3).join(', ')})`) : '',
        check.duplicated.length > 0 ? s.red(`${check.duplicated.length} duplicated (e.g. ${check.duplicated.slice(0, 3).join(', ')})`) : '',
        check.wrongId.length > 0 ? s.red(`${check.wrongId.length} with another id than acknowledged`) : '',
        check.unacknowledged > 0 ? `${check.unacknowledged} applied but never acknowledged` : '',
      ].filter((text) => text !== '');
      line(
        `    ${check.node}  ${check.present}/${load.acked.size} acknowledged rows present exactly once, with the acknowledged id; ${check.rows} rows in all` +
          (problems.length > 0 ? `; ${problems.join('; ')}` : ''),
      );
    }
    line(
      ok
        ? s.green(`  OK: every acknowledged write is present exactly once on ${listing(checks.map((check) => check.node))}`)
        : s.red('  FAILED: see the counts above'),
    );
    process.stdout.write(`${lines.join('\n')}\n\n`);
    return ok ? 0 : 1;
  } catch (error) {
    clearInterval(poller);
    workload?.stop();
    workload?.stopReading();
    screen.release();
    if (abort.signal.aborted) return 130;
    process.stderr.write(`\ndemo failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    return 1;
  } finally {
    if (cluster) {
      const root = cluster.rootDir;
      process.stdout.write('closing the cluster...\n');
      await cluster.close();
      const mounts = fuseMountsUnder(root);
      const pids = cluster.livePids();
      process.stdout.write(
        mounts.length === 0 && pids.length === 0
          ? `cluster closed: no FUSE mount and no process left (${root} removed)\n`
          : `cluster closed, but ${mounts.length} FUSE mount(s) and ${pids.length} process(es) remain: ${[...mounts, ...pids].join(', ')}\n`,
      );
    }
  }
}

process.exit(await main());
