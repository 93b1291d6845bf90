import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from './ports.js';
import { CLUSTER_ROOT_ENV, ManagedProcess } from './processes.js';
import { toolPath } from './tools.js';
import { FatalWaitError, httpGet, httpRequest, waitFor } from './util.js';

export interface ConsulAgentOptions {
  /** Directory for the agent's config file and log. */
  dir: string;
  /** The cluster root (exported to the process as LITEFS_FORWARD_CLUSTER_ROOT). */
  clusterRoot: string;
  log: (line: string) => void;
  /** Address to bind and advertise (default 127.0.0.1; a netns host's address with `network: 'netns'`). */
  address?: string;
  /** Rewrites the command line, e.g. to run the agent inside a network namespace. */
  wrap?: CommandWrapper;
}

/** Rewrites a command line (e.g. `nsenter --net=... -- command args`). */
export type CommandWrapper = (command: string, args: readonly string[]) => { command: string; args: string[] };

/**
 * A single Consul agent in dev mode (in-memory server, its own leader) bound
 * to 127.0.0.1 on free ports, with DNS, gRPC, HTTPS and Serf WAN disabled.
 */
export class ConsulAgent {
  readonly dir: string;
  readonly logFile: string;
  readonly configFile: string;
  readonly nodeName = 'litefs-forward-consul';
  httpPort = 0;
  private proc: ManagedProcess | undefined;
  private readonly clusterRoot: string;
  private readonly log: (line: string) => void;
  readonly address: string;
  private readonly wrap: CommandWrapper | undefined;

  constructor(options: ConsulAgentOptions) {
    this.address = options.address ?? '127.0.0.1';
    this.wrap = options.wrap;
    this.dir = options.dir;
    this.clusterRoot = options.clusterRoot;
    this.log = options.log;
    this.logFile = join(this.dir, 'consul.log');
    this.configFile = join(this.dir, 'consul.json');
  }

  get url(): string {
    return `http://${this.address}:${this.httpPort}`;
  }

  get process(): ManagedProcess | undefined {
    return this.proc;
  }

  async start(timeoutMs = 30_000): Promise<void> {
    mkdirSync(this.dir, { recursive: true });
    const binary = toolPath('consul');
    this.httpPort = await freePort();
    const serfLanPort = await freePort({ udp: true });
    const serverPort = await freePort();
    writeFileSync(
      this.configFile,
      `${JSON.stringify(
        {
          disable_update_check: true,
          disable_anonymous_signature: true,
          // LiteFS's default lease TTL (10s) is Consul's default minimum; allow
          // shorter TTLs for tests that ask for them.
          session_ttl_min: '1s',
          log_level: 'INFO',
        },
        null,
        2,
      )}\n`,
    );
    const args = [
      'agent',
      '-dev',
      `-config-file=${this.configFile}`,
      `-node=${this.nodeName}`,
      '-disable-host-node-id',
      `-bind=${this.address}`,
      `-client=${this.address}`,
      `-advertise=${this.address}`,
      `-http-port=${this.httpPort}`,
      '-https-port=-1',
      '-dns-port=-1',
      '-grpc-port=-1',
      '-grpc-tls-port=-1',
      `-serf-lan-port=${serfLanPort}`,
      '-serf-wan-port=-1',
      `-server-port=${serverPort}`,
    ];
    this.log(`consul: starting on ${this.url}`);
    const command = this.wrap ? this.wrap(binary, args) : { command: binary, args };
    const proc = ManagedProcess.spawn({
      name: 'consul',
      command: command.command,
      args: command.args,
      cwd: this.dir,
      env: { ...process.env, [CLUSTER_ROOT_ENV]: this.clusterRoot },
      logFile: this.logFile,
    });
    this.proc = proc;
    // Ready when there is a raft leader and the agent's own node is in the
    // catalog (LiteFS creates its sessions against that node).
    await waitFor(
      async () => {
        if (!proc.running) {
          throw new FatalWaitError(`consul exited early (${JSON.stringify(proc.exitStatus)}); see ${this.logFile}`);
        }
        const leader = await httpGet(`${this.url}/v1/status/leader`);
        if (leader.status !== 200 || leader.body.replace(/"/g, '').trim() === '') return false;
        const node = await httpGet(`${this.url}/v1/catalog/node/${this.nodeName}`);
        return node.status === 200 && node.body.trim() !== 'null';
      },
      { timeoutMs, intervalMs: 100, description: `consul at ${this.url} to elect itself leader` },
    );
    this.log(`consul: ready (pid ${proc.pid})`);
  }

  /** The raw value stored at `key`, or undefined when the key does not exist. */
  async getKey(key: string): Promise<string | undefined> {
    const res = await httpGet(`${this.url}/v1/kv/${key}?raw`);
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw new Error(`consul GET ${key}: HTTP ${res.status} ${res.body}`);
    return res.body;
  }

  async deleteKey(key: string): Promise<void> {
    const res = await httpRequest(`${this.url}/v1/kv/${key}`, { method: 'DELETE' });
    if (res.status !== 200) throw new Error(`consul DELETE ${key}: HTTP ${res.status} ${res.body}`);
  }

  async stop(): Promise<void> {
    const proc = this.proc;
    if (!proc) return;
    await proc.stop(10_000, 'SIGTERM');
    this.log(`consul: stopped`);
  }

  killSync(): void {
    this.proc?.killSync();
  }
}
