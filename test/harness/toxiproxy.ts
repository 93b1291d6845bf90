/**
 * Toxiproxy (github.com/Shopify/toxiproxy, built by scripts/install-cluster-tools.sh) in its own network
 * namespace, for delay, jitter, bandwidth limits and connection resets on the links between nodes. The kernel here
 * has no netem, so this is where latency comes from.
 *
 * A proxy is per target: `litefs-nodeN` (replication and LiteFS's HTTP API, used through the node's LiteFS
 * advertise-url), `consul` (every LiteFS's lease traffic) and `forward-nodeN` (the library's forwarding channel,
 * used through the app's advertiseUrl). A toxic on a proxy shapes everything sent to that target. Latency is
 * applied to both directions, so `setLatency({ rttMs: 80 })` adds 40 ms each way.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { CommandWrapper } from './consul.js';
import { CLUSTER_ROOT_ENV, ManagedProcess } from './processes.js';
import { toolsDir } from './tools.js';
import { FatalWaitError, httpRequest, waitFor } from './util.js';

export const TOXIPROXY_API_PORT = 8474;

export interface ToxicSpec {
  type: 'latency' | 'bandwidth' | 'reset_peer' | 'timeout' | 'slow_close' | 'slicer' | 'limit_data';
  stream?: 'upstream' | 'downstream';
  /** Probability (0..1) that a connection gets the toxic. Default 1. */
  toxicity?: number;
  attributes: Record<string, number>;
}

export class Toxiproxy {
  readonly address: string;
  readonly apiUrl: string;
  private proc: ManagedProcess | undefined;
  private nextPort = 21_000;
  private readonly proxies = new Map<string, { listen: string; upstream: string }>();
  private toxicCounter = 0;

  private constructor(address: string) {
    this.address = address;
    this.apiUrl = `http://${address}:${TOXIPROXY_API_PORT}`;
  }

  /** Starts `toxiproxy-server` on `address` (inside a namespace through `wrap`) and waits for its API. */
  static async start(options: { dir: string; address: string; wrap?: CommandWrapper; clusterRoot: string; log: (line: string) => void }): Promise<Toxiproxy> {
    mkdirSync(options.dir, { recursive: true });
    const binary = join(toolsDir(), 'toxiproxy-server');
    const args = ['-host', options.address, '-port', String(TOXIPROXY_API_PORT)];
    const command = options.wrap ? options.wrap(binary, args) : { command: binary, args };
    const toxi = new Toxiproxy(options.address);
    const proc = ManagedProcess.spawn({
      name: 'toxiproxy',
      command: command.command,
      args: command.args,
      env: { ...process.env, [CLUSTER_ROOT_ENV]: options.clusterRoot },
      logFile: join(options.dir, 'toxiproxy.log'),
    });
    toxi.proc = proc;
    await waitFor(
      async () => {
        if (!proc.running) throw new FatalWaitError(`toxiproxy exited early (${JSON.stringify(proc.exitStatus)}); run \`bash scripts/install-cluster-tools.sh\``);
        return (await httpRequest(`${toxi.apiUrl}/version`, { timeoutMs: 1_000 })).status === 200;
      },
      { timeoutMs: 15_000, intervalMs: 100, description: `toxiproxy at ${toxi.apiUrl}` },
    );
    options.log(`toxiproxy: ready at ${toxi.apiUrl} (pid ${proc.pid})`);
    return toxi;
  }

  get process(): ManagedProcess | undefined {
    return this.proc;
  }

  private async api(method: string, path: string, body?: unknown): Promise<string> {
    const res = await httpRequest(`${this.apiUrl}${path}`, {
      method,
      body: body === undefined ? undefined : JSON.stringify(body),
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      timeoutMs: 5_000,
    });
    if (res.status < 200 || res.status >= 300) throw new Error(`toxiproxy ${method} ${path}: HTTP ${res.status} ${res.body}`);
    return res.body;
  }

  /** Creates proxy `name` to `upstream` ("host:port") and returns the "host:port" it listens on. */
  async createProxy(name: string, upstream: string): Promise<string> {
    const listen = `${this.address}:${this.nextPort++}`;
    await this.api('POST', '/proxies', { name, listen, upstream, enabled: true });
    this.proxies.set(name, { listen, upstream });
    return listen;
  }

  /** "host:port" of proxy `name`. */
  listenAddress(name: string): string {
    const proxy = this.proxies.get(name);
    if (!proxy) throw new Error(`toxiproxy: no proxy ${name} (proxies: ${[...this.proxies.keys()].join(', ')})`);
    return proxy.listen;
  }

  proxyNames(): string[] {
    return [...this.proxies.keys()];
  }

  /** Adds a toxic to each of `proxies` (default: all); returns nothing, remove with `clear`. */
  async addToxic(spec: ToxicSpec, proxies: readonly string[] = this.proxyNames()): Promise<void> {
    for (const proxy of proxies) {
      const streams = spec.stream ? [spec.stream] : (['upstream', 'downstream'] as const);
      for (const stream of streams) {
        await this.api('POST', `/proxies/${proxy}/toxics`, {
          name: `${spec.type}-${stream}-${++this.toxicCounter}`,
          type: spec.type,
          stream,
          toxicity: spec.toxicity ?? 1,
          attributes: spec.attributes,
        });
      }
    }
  }

  /** Round-trip latency through each proxy: half of `rttMs` (and of `jitterMs`) each way. */
  setLatency(options: { rttMs: number; jitterMs?: number }, proxies?: readonly string[]): Promise<void> {
    return this.addToxic({ type: 'latency', attributes: { latency: Math.round(options.rttMs / 2), jitter: Math.round((options.jitterMs ?? 0) / 2) } }, proxies);
  }

  /** Removes every toxic and re-enables every proxy. */
  async clear(): Promise<void> {
    await this.api('POST', '/reset');
  }

  async stop(): Promise<void> {
    await this.proc?.stop(5_000, 'SIGTERM');
  }

  killSync(): void {
    this.proc?.killSync();
  }
}
