/**
 * A real LiteFS cluster on this machine, for end-to-end tests, the demo and
 * benchmarks. No Docker: it runs the `litefs` (v0.5.14) and `consul` (v1.16.1)
 * binaries that `bash scripts/install-cluster-tools.sh` builds into
 * `${LITEFS_FORWARD_TOOLS_DIR:-~/.cache/litefs-forward/bin}`. Needs root (or
 * FUSE access), /dev/fuse and `fusermount`.
 *
 * ```ts
 * import { Cluster } from '../harness/cluster.js';
 * await using cluster = await Cluster.start({ nodes: 3, signal: t.signal });
 * const primary = await cluster.primary();          // node1 right after start
 * const db = new Database(primary.dbPath);          // <mountDir>/db via FUSE
 * await primary.kill();                             // kill -9 app + LiteFS
 * const next = await cluster.waitForPrimary({ exclude: primary, timeoutMs: 60_000 });
 * ```
 *
 * What `Cluster.start` does:
 * - cleans what crashed earlier runs left under the base dir (default
 *   `<cwd>/.cluster`): kills their litefs/consul/app processes, lazily
 *   unmounts (`fusermount -uz`) their FUSE mounts, deletes their dirs;
 * - creates `<base>/run-<pid>-<n>/` with `consul/` and `node1..N/` (each:
 *   `litefs.yml`, `litefs.log`, `app.log`, `data/`, `litefs/` = FUSE mount);
 * - `lease: 'consul'` (default): one Consul dev agent on 127.0.0.1 (free HTTP,
 *   Serf LAN and server ports; DNS, gRPC, HTTPS, WAN off). Every node is a
 *   candidate with `lease.hostname` = `nodeN`, `advertise-url` =
 *   `http://127.0.0.1:<its port>`, a per-cluster key, `ttl` 10s and
 *   `lock-delay` 1s. Failover after a kill -9 of the primary takes ~21 s
 *   with the 10s TTL (Consul invalidates a session only after 2×TTL), ~5 s
 *   with `leaseTtl: '2s'` (the agent allows TTLs down to 1s); after a
 *   graceful stop the lease is released and a replica takes over in ~1 s;
 * - `lease: 'static'`: node1 is the fixed primary (no failover; see
 *   `promoteStatic` for a scripted one);
 * - starts node1 first and waits until its /info says isPrimary, then the
 *   others in parallel until each knows the primary; then each node's app
 *   (if `app` returns an AppSpec) and waits for `GET readyPath` = 200.
 *
 * Cleanup happens on every exit path: `close()` / `await using`, the
 * `signal` option (pass node:test's `t.signal`, which aborts on a test
 * timeout), SIGINT/SIGTERM (clean up, then exit 130/143), and
 * `process.on('exit')` (synchronous: SIGKILL the process groups,
 * `fusermount -uz`, remove the root). Set `keepRootDir` (or
 * LITEFS_FORWARD_KEEP_CLUSTER=1) to keep the logs after close.
 * Every process's output goes to a log file; `cluster.logs('node2')` and
 * `cluster.dumpLogs()` return the tails.
 */
import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { cleanupStaleRuns, destroyClusterDirs, register, removeDirSync, unregister } from './cleanup.js';
import { ConsulAgent } from './consul.js';
import { type AppSpec, ClusterNode, type NodeContext, type NodeInfo, type NodeLease } from './litefs-node.js';
import { fuseMountsUnder, unmountAllUnderSync } from './mounts.js';
import { NetworkNamespaces, type PartitionSpec } from './netns.js';
import { Toxiproxy } from './toxiproxy.js';
import { freePort } from './ports.js';
import { sleep, waitFor } from './util.js';

export type { AppSpec, NodeInfo, ReadyCondition } from './litefs-node.js';
export { ClusterNode } from './litefs-node.js';
export { fuseMountsUnder } from './mounts.js';
export { freePort, freePorts } from './ports.js';
export { toolPath, toolsDir } from './tools.js';

export type LeaseType = 'consul' | 'static';
export type { PartitionSpec } from './netns.js';
/** 'loopback' (default): every process on 127.0.0.1. 'netns': one network namespace per node and for Consul (see netns.ts). */
export type NetworkType = 'loopback' | 'netns';

export interface ClusterOptions {
  /** Number of LiteFS nodes (default 3). */
  nodes?: number;
  /** The cluster's own directory (default `<baseDir>/run-<pid>-<n>`). Emptied first if it exists. */
  rootDir?: string;
  /** Parent of the per-run dirs, cleaned of stale runs at start (default LITEFS_FORWARD_CLUSTER_DIR or `<cwd>/.cluster`). */
  baseDir?: string;
  /** Default 'consul'. */
  lease?: LeaseType;
  /** Builds the app for a node (use `node.appPort`), or undefined for no app on that node. */
  app?: (node: ClusterNode) => AppSpec | undefined;
  /** Database file name in the mount, for `node.dbPath` (default 'db'). */
  dbName?: string;
  /** Receives the harness's own progress lines (also written to `<root>/harness.log`). */
  log?: (line: string) => void;
  /** Closes the cluster when aborted (pass node:test's `t.signal`). */
  signal?: AbortSignal;
  /** Consul lease TTL (default '10s'). */
  leaseTtl?: string;
  /** Consul lease lock-delay (default '1s'). */
  lockDelay?: string;
  /** Per node readiness timeout (default 60 s). */
  startTimeoutMs?: number;
  /** Keep the root dir (logs, data) after close (default: LITEFS_FORWARD_KEEP_CLUSTER=1). */
  keepRootDir?: boolean;
  /** Default 'loopback'. 'netns' needs root, `ip`, `nft` and `nsenter`; one such cluster per machine at a time. */
  network?: NetworkType;
  /**
   * With network 'netns': run Toxiproxy in its own namespace and route LiteFS replication (advertise-url), Consul
   * (every lease URL) and, when `forwardPort` is given, each app's forwarding endpoint (`node.forwardProxyUrl`)
   * through it. Shape the links with `cluster.toxiproxy.setLatency(...)` / `addToxic(...)`.
   */
  toxiproxy?: { forwardPort?: number };
}

export interface WaitForPrimaryOptions {
  /** Nodes (or names) that must not be the answer, e.g. the primary that was just killed. */
  exclude?: ClusterNode | string | ReadonlyArray<ClusterNode | string>;
  /** Default 30 s. */
  timeoutMs?: number;
}

let clusterCounter = 0;

export class Cluster implements AsyncDisposable {
  readonly rootDir: string;
  /** Unique per cluster; part of the Consul key. */
  readonly id: string;
  readonly leaseType: LeaseType;
  readonly nodes: readonly ClusterNode[];
  /** The Consul agent (consul lease only). */
  readonly consul: ConsulAgent | undefined;
  /** The Consul key LiteFS holds its lease on (consul lease only). */
  readonly leaseKey: string | undefined;
  /** The namespaces (network: 'netns' only). */
  readonly network: NetworkNamespaces | undefined;
  /** The fault proxy (options.toxiproxy only). */
  readonly toxiproxy: Toxiproxy | undefined;
  private closing: Promise<void> | undefined;
  private readonly keepRootDir: boolean;
  private readonly userLog: ((line: string) => void) | undefined;
  private readonly harnessLog: string;
  private readonly signal: AbortSignal | undefined;
  private readonly onAbort = (): void => {
    this.log('abort signal received: closing the cluster');
    void this.close();
  };

  private constructor(init: {
    rootDir: string;
    id: string;
    leaseType: LeaseType;
    consul: ConsulAgent | undefined;
    leaseKey: string | undefined;
    keepRootDir: boolean;
    log: ((line: string) => void) | undefined;
    signal: AbortSignal | undefined;
  }) {
    this.rootDir = init.rootDir;
    this.id = init.id;
    this.leaseType = init.leaseType;
    this.consul = init.consul;
    this.leaseKey = init.leaseKey;
    this.keepRootDir = init.keepRootDir;
    this.userLog = init.log;
    this.signal = init.signal;
    this.harnessLog = join(this.rootDir, 'harness.log');
    this.nodes = [];
  }

  /** Starts Consul (consul lease) and `nodes` LiteFS nodes (+ apps), node1 as primary. */
  static async start(options: ClusterOptions = {}): Promise<Cluster> {
    const nodeCount = options.nodes ?? 3;
    if (!Number.isInteger(nodeCount) || nodeCount < 1) throw new Error(`nodes must be a positive integer, got ${nodeCount}`);
    const leaseType = options.lease ?? 'consul';
    const early = (line: string): void => options.log?.(`[harness] ${line}`);

    const baseDir = resolve(options.baseDir ?? (process.env['LITEFS_FORWARD_CLUSTER_DIR'] || join(process.cwd(), '.cluster')));
    let rootDir: string;
    if (options.rootDir) {
      rootDir = resolve(options.rootDir);
      // The root is deleted on close: refuse a directory that is not ours.
      if (existsSync(rootDir) && readdirSync(rootDir).length > 0 && !existsSync(join(rootDir, 'harness.log'))) {
        throw new Error(`rootDir ${rootDir} is not empty and is not a cluster harness root; refusing to use (and later delete) it`);
      }
      await destroyClusterDirs([rootDir], early);
    } else {
      await cleanupStaleRuns(baseDir, early);
      do {
        rootDir = join(baseDir, `run-${process.pid}-${++clusterCounter}`);
      } while (existsSync(rootDir));
    }
    mkdirSync(rootDir, { recursive: true });

    const id = `${basename(rootDir)}-${randomBytes(4).toString('hex')}`;
    const leaseKey = leaseType === 'consul' ? `litefs-forward/${id}/primary` : undefined;
    const cluster = new Cluster({
      rootDir,
      id,
      leaseType,
      consul: undefined,
      leaseKey,
      keepRootDir: options.keepRootDir ?? process.env['LITEFS_FORWARD_KEEP_CLUSTER'] === '1',
      log: options.log,
      signal: options.signal,
    });
    register(cluster);
    try {
      if (options.signal?.aborted) throw new Error('aborted before the cluster started', { cause: options.signal.reason });
      options.signal?.addEventListener('abort', cluster.onAbort, { once: true });
      await cluster.boot(nodeCount, options);
      return cluster;
    } catch (error) {
      const logs = cluster.dumpLogs(40);
      await cluster.close().catch(() => undefined);
      const message = error instanceof Error ? error.message : String(error);
      throw new Error(`Cluster.start failed: ${message}\n${logs}`, { cause: error });
    }
  }

  private async boot(nodeCount: number, options: ClusterOptions): Promise<void> {
    const startedAt = Date.now();
    this.log(`root ${this.rootDir}, ${nodeCount} node(s), ${this.leaseType} lease, ${options.network ?? 'loopback'} network`);
    let net: NetworkNamespaces | undefined;
    if (options.network === 'netns') {
      const names = [
        ...(this.leaseType === 'consul' ? ['consul'] : []),
        ...Array.from({ length: nodeCount }, (_, i) => `node${i + 1}`),
        ...(options.toxiproxy ? ['toxi'] : []),
      ];
      net = NetworkNamespaces.create(names, (line) => this.log(line));
      (this as { network: NetworkNamespaces | undefined }).network = net;
    }
    const placement = (name: string) =>
      net ? { address: net.host(name).address, wrap: (command: string, args: readonly string[]) => net.wrap(name, command, args) } : {};
    if (options.toxiproxy && !net) throw new Error("toxiproxy needs network: 'netns'");
    const toxi = options.toxiproxy
      ? await Toxiproxy.start({
          dir: join(this.rootDir, 'toxiproxy'),
          clusterRoot: this.rootDir,
          log: (l) => this.log(l),
          address: net!.host('toxi').address,
          wrap: (command, args) => net!.wrap('toxi', command, args),
        })
      : undefined;
    (this as { toxiproxy: Toxiproxy | undefined }).toxiproxy = toxi;
    if (this.leaseType === 'consul') {
      const consul = new ConsulAgent({
        dir: join(this.rootDir, 'consul'),
        clusterRoot: this.rootDir,
        log: (l) => this.log(l),
        ...placement('consul'),
      });
      (this as { consul: ConsulAgent | undefined }).consul = consul;
      await consul.start();
    }

    const consulUrl = this.consul && toxi ? `http://${await toxi.createProxy('consul', `${this.consul.address}:${this.consul.httpPort}`)}` : this.consul?.url;
    const ctx = { clusterRoot: this.rootDir, dbName: options.dbName ?? 'db', log: (line: string) => this.log(line) };
    const nodes: ClusterNode[] = [];
    for (let index = 1; index <= nodeCount; index++) {
      const httpPort = await freePort();
      const appPort = await freePort();
      const lease: NodeLease =
        this.leaseType === 'consul'
          ? {
              type: 'consul',
              url: consulUrl!,
              key: this.leaseKey!,
              ttl: options.leaseTtl ?? '10s',
              lockDelay: options.lockDelay ?? '1s',
            }
          : // Rewritten below once node1's URL is known.
            { type: 'static', candidate: index === 1, primaryHostname: 'node1', primaryUrl: '' };
      const nodeCtx: NodeContext = { ...ctx, ...placement(`node${index}`) };
      if (toxi && nodeCtx.address) {
        nodeCtx.advertiseUrl = `http://${await toxi.createProxy(`litefs-node${index}`, `${nodeCtx.address}:${httpPort}`)}`;
        const forwardPort = options.toxiproxy?.forwardPort;
        if (forwardPort) nodeCtx.forwardProxyUrl = `http://${await toxi.createProxy(`forward-node${index}`, `${nodeCtx.address}:${forwardPort}`)}`;
      }
      nodes.push(new ClusterNode({ index, dir: join(this.rootDir, `node${index}`), httpPort, appPort, lease, ctx: nodeCtx }));
    }
    const first = nodes[0]!;
    if (this.leaseType === 'static') {
      for (const node of nodes) {
        node.setLease({ type: 'static', candidate: node === first, primaryHostname: first.name, primaryUrl: first.httpUrl });
      }
    }
    for (const node of nodes) node.appSpec = options.app?.(node);
    (this as { nodes: readonly ClusterNode[] }).nodes = nodes;

    const timeoutMs = options.startTimeoutMs ?? 60_000;
    await first.start({ wait: 'primary', timeoutMs });
    await Promise.all(nodes.slice(1).map((node) => node.startLiteFS({ wait: 'connected', timeoutMs })));
    await Promise.all(nodes.slice(1).map((node) => (node.appSpec ? node.startApp({ timeoutMs }) : undefined)));
    this.log(`cluster ready in ${Date.now() - startedAt}ms`);
  }

  /** Harness progress line: to `options.log` and `<root>/harness.log`. */
  log(line: string): void {
    const stamped = `${new Date().toISOString()} ${line}`;
    try {
      appendFileSync(this.harnessLog, `${stamped}\n`);
    } catch {
      // The root may already be gone.
    }
    this.userLog?.(`[harness] ${line}`);
  }

  /** A node by name ("node2") or 1-based index. */
  node(nameOrIndex: string | number): ClusterNode {
    const node = this.nodes.find((n) => n.name === nameOrIndex || n.index === nameOrIndex);
    if (!node) throw new Error(`no node ${String(nameOrIndex)} in this cluster`);
    return node;
  }

  /** The /info of every node whose LiteFS is running and answering. */
  async infos(): Promise<Map<ClusterNode, NodeInfo>> {
    const entries = await Promise.all(this.nodes.map(async (node) => [node, await node.tryInfo()] as const));
    const map = new Map<ClusterNode, NodeInfo>();
    for (const [node, info] of entries) if (info) map.set(node, info);
    return map;
  }

  /** The node whose /info says isPrimary (exactly one), polling until `timeoutMs` (default 30 s). */
  primary(options: { timeoutMs?: number } = {}): Promise<ClusterNode> {
    return this.waitForPrimary({ timeoutMs: options.timeoutMs });
  }

  /** Waits until exactly one node outside `exclude` says isPrimary, and returns it. */
  async waitForPrimary(options: WaitForPrimaryOptions = {}): Promise<ClusterNode> {
    const excluded = new Set(
      (Array.isArray(options.exclude) ? options.exclude : options.exclude === undefined ? [] : [options.exclude]).map(
        (item: ClusterNode | string) => (typeof item === 'string' ? item : item.name),
      ),
    );
    const timeoutMs = options.timeoutMs ?? 30_000;
    return waitFor(
      async () => {
        const primaries = [...(await this.infos())].filter(([, info]) => info.isPrimary).map(([node]) => node);
        if (primaries.length !== 1) return undefined;
        const [primary] = primaries;
        return primary && !excluded.has(primary.name) ? primary : undefined;
      },
      {
        timeoutMs,
        intervalMs: 100,
        signal: this.signal,
        description: `a primary${excluded.size > 0 ? ` other than ${[...excluded].join(', ')}` : ''}`,
      },
    ).catch((error: unknown) => {
      throw new Error(`${error instanceof Error ? error.message : String(error)}\n${this.dumpLogs(20)}`, { cause: error });
    });
  }

  /**
   * Waits until every running node's /info names the same primary (the
   * primary itself says isPrimary) and returns that node.
   */
  async waitForAgreement(options: { timeoutMs?: number } = {}): Promise<ClusterNode> {
    return waitFor(
      async () => {
        const running = this.nodes.filter((node) => node.litefsRunning);
        const infos = await this.infos();
        if (infos.size !== running.length) return undefined;
        const names = new Set([...infos.values()].map((info) => info.primary?.hostname ?? ''));
        const primaries = [...infos].filter(([, info]) => info.isPrimary);
        const [only] = names;
        const [primary] = primaries;
        if (names.size !== 1 || only === '' || primaries.length !== 1 || !primary) return undefined;
        return primary[0].name === only ? primary[0] : undefined;
      },
      { timeoutMs: options.timeoutMs ?? 30_000, intervalMs: 100, signal: this.signal, description: 'all nodes to agree on the primary' },
    );
  }

  /** Running nodes other than the current primary. */
  async replicas(): Promise<ClusterNode[]> {
    const primary = await this.primary();
    return this.nodes.filter((node) => node !== primary && node.litefsRunning);
  }

  /**
   * Static-lease fallback for a failover: rewrite every node's config so that
   * `target` is the static primary, restart `target` (it comes up as primary
   * with its own data), then restart every other running node as a replica
   * of it. Nodes that are stopped stay stopped (their config is updated).
   */
  async promoteStatic(target: ClusterNode, options: { timeoutMs?: number } = {}): Promise<void> {
    if (this.leaseType !== 'static') throw new Error('promoteStatic needs lease: static');
    const timeoutMs = options.timeoutMs ?? 60_000;
    const others = this.nodes.filter((node) => node !== target && node.litefsRunning);
    for (const node of this.nodes) {
      node.setLease({ type: 'static', candidate: node === target, primaryHostname: target.name, primaryUrl: target.httpUrl });
    }
    await Promise.all(others.map((node) => node.stop()));
    await target.stop();
    await target.start({ wait: 'primary', timeoutMs });
    await Promise.all(others.map((node) => node.start({ wait: 'connected', timeoutMs })));
    this.log(`static primary is now ${target.name}`);
  }

  private requireNetwork(): NetworkNamespaces {
    if (!this.network) throw new Error("partitions need Cluster.start({ network: 'netns' })");
    return this.network;
  }

  private hostName(item: ClusterNode | string): string {
    return typeof item === 'string' ? item : item.name;
  }

  /**
   * Drops packets from `from` to `to` (node names, nodes, or 'consul'), and
   * back unless `symmetric: false`. Adds to the partitions in place. The test
   * driver (this process) still reaches every host.
   */
  partition(spec: { from: ClusterNode | string | ReadonlyArray<ClusterNode | string>; to: ClusterNode | string | ReadonlyArray<ClusterNode | string>; symmetric?: boolean }): void {
    const list = (value: ClusterNode | string | ReadonlyArray<ClusterNode | string>): string[] =>
      (Array.isArray(value) ? value : [value]).map((item: ClusterNode | string) => this.hostName(item));
    const net = this.requireNetwork();
    const normalized: PartitionSpec = { from: list(spec.from), to: list(spec.to), symmetric: spec.symmetric ?? true };
    net.partition(normalized);
  }

  /** Cuts `node` off from every other host, Consul included, in both directions. */
  isolate(node: ClusterNode | string): void {
    const name = this.hostName(node);
    const net = this.requireNetwork();
    this.partition({ from: name, to: [...net.hosts.keys()].filter((host) => host !== name) });
  }

  /** Cuts `node` off from Consul only, in both directions. */
  cutFromConsul(node: ClusterNode | string): void {
    if (this.leaseType !== 'consul') throw new Error('cutFromConsul needs lease: consul');
    this.partition({ from: node, to: 'consul' });
  }

  /** Removes every partition. */
  heal(): void {
    this.requireNetwork().heal();
  }

  /** The last `lines` lines of a node's logs (LiteFS + app), or of 'consul' / 'harness'. */
  logs(name: string, lines = 50): string {
    if (name === 'consul') {
      const file = this.consul?.logFile;
      return file && existsSync(file) ? tailFile(file, lines) : '(no consul log)';
    }
    if (name === 'harness') return existsSync(this.harnessLog) ? tailFile(this.harnessLog, lines) : '(no harness log)';
    return this.node(name).logs(lines);
  }

  /** Tails of every log of the cluster, for failure messages. */
  dumpLogs(lines = 30): string {
    const parts: string[] = [];
    if (this.consul) parts.push(`----- consul (${this.consul.logFile}) -----`, this.logs('consul', lines));
    for (const node of this.nodes) parts.push(node.logs(lines));
    parts.push('----- harness -----', this.logs('harness', lines));
    return parts.join('\n');
  }

  /** Every process of the cluster that is still running. */
  livePids(): number[] {
    const procs = this.nodes.flatMap((node) => node.processes());
    const consul = this.consul?.process;
    if (consul?.running) procs.push(consul);
    const toxi = this.toxiproxy?.process;
    if (toxi?.running) procs.push(toxi);
    return procs.map((proc) => proc.pid);
  }

  /**
   * Stops every app and LiteFS (SIGTERM, then SIGKILL), Consul, unmounts every
   * FUSE mount under the root and removes the root. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private async doClose(): Promise<void> {
    this.signal?.removeEventListener('abort', this.onAbort);
    this.log('closing');
    await Promise.all(
      this.nodes.map(async (node) => {
        await node.stopApp().catch((error: unknown) => this.log(`${node.name}: stopApp: ${String(error)}`));
        await node.stopLiteFS().catch((error: unknown) => this.log(`${node.name}: stopLiteFS: ${String(error)}`));
      }),
    );
    await this.consul?.stop().catch((error: unknown) => this.log(`consul stop: ${String(error)}`));
    await this.toxiproxy?.stop().catch((error: unknown) => this.log(`toxiproxy stop: ${String(error)}`));
    this.toxiproxy?.killSync();
    // Anything still alive or mounted at this point gets the hard treatment.
    for (const node of this.nodes) node.killSync();
    this.consul?.killSync();
    for (let attempt = 0; attempt < 20 && this.livePids().length > 0; attempt++) await sleep(50);
    const remaining = unmountAllUnderSync(this.rootDir);
    this.network?.destroySync();
    this.log(remaining.length > 0 ? `could not unmount: ${remaining.join(', ')}` : 'closed');
    unregister(this);
    if (!this.keepRootDir) removeDirSync(this.rootDir);
  }

  /** Synchronous last-resort cleanup (process exit): SIGKILL, `fusermount -uz`, remove the root. */
  cleanupSync(): void {
    for (const node of this.nodes) node.killSync();
    this.consul?.killSync();
    this.toxiproxy?.killSync();
    unmountAllUnderSync(this.rootDir);
    try {
      this.network?.destroySync();
    } catch {
      // Keep going: the root dir still has to go.
    }
    unregister(this);
    if (!this.keepRootDir && fuseMountsUnder(this.rootDir).length === 0) {
      try {
        removeDirSync(this.rootDir);
      } catch {
        // Best effort on the way out.
      }
    }
  }
}

function tailFile(file: string, lines: number): string {
  return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
}
