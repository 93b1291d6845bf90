import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CommandWrapper } from './consul.js';
import { isFuseMount, unmount } from './mounts.js';
import { CLUSTER_ROOT_ENV, ManagedProcess } from './processes.js';
import { toolPath } from './tools.js';
import { FatalWaitError, httpGet, waitFor } from './util.js';

/** What an application process for one node looks like; built by `ClusterOptions.app`. */
export interface AppSpec {
  command: string;
  args: string[];
  /** Extra environment, on top of the harness's own variables (which it may override). */
  env: Record<string, string>;
  /** The port the app listens on (normally `node.appPort`). */
  port: number;
  /** Path answered with HTTP 200 once the app is ready, e.g. "/healthz". */
  readyPath: string;
}

/** LiteFS's `GET /info` answer. */
export interface NodeInfo {
  clusterID?: string;
  isPrimary: boolean;
  candidate: boolean;
  path: string;
  primary?: { hostname: string };
}

/** Lease settings for one node's litefs.yml. */
export type NodeLease =
  | { type: 'consul'; url: string; key: string; ttl: string; lockDelay: string }
  | { type: 'static'; candidate: boolean; primaryHostname: string; primaryUrl: string };

/**
 * What `startLiteFS` waits for after the FUSE mount is up and /info answers:
 * - 'connected' (default): this node is primary or knows the primary;
 * - 'primary': this node is primary;
 * - 'mounted': nothing more.
 */
export type ReadyCondition = 'connected' | 'primary' | 'mounted';

export interface NodeContext {
  /** Address LiteFS binds and advertises, and the app's host (default 127.0.0.1). */
  address?: string;
  /** Runs each process through this (e.g. inside the node's network namespace). */
  wrap?: CommandWrapper;
  /** LiteFS's advertise-url when it differs from its own URL (a Toxiproxy proxy in front of it). */
  advertiseUrl?: string;
  /** A Toxiproxy proxy in front of the app's forwarding endpoint (ClusterOptions.toxiproxy.forwardPort). */
  forwardProxyUrl?: string;
  clusterRoot: string;
  dbName: string;
  log: (line: string) => void;
}

function yamlString(value: string): string {
  return JSON.stringify(value);
}

function tail(file: string, lines: number): string {
  if (!existsSync(file)) return `(no ${file})`;
  const text = readFileSync(file, 'utf8').trimEnd().split('\n');
  return text.slice(-lines).join('\n');
}

/** One LiteFS node (and optionally its application process). */
export class ClusterNode {
  /** "node1" … "nodeN"; also LiteFS's `lease.hostname` in consul mode. */
  readonly name: string;
  /** 1-based. */
  readonly index: number;
  /** The node's directory (config, logs, data dir, mount dir). */
  readonly dir: string;
  readonly dataDir: string;
  /** The LiteFS FUSE mount. */
  readonly mountDir: string;
  readonly configPath: string;
  readonly litefsLogFile: string;
  readonly appLogFile: string;
  readonly httpPort: number;
  /** A free port reserved for this node's app (use it in the AppSpec). */
  readonly appPort: number;
  /** The app built for this node, if any (set by the cluster right after construction). */
  appSpec: AppSpec | undefined;
  private lease: NodeLease;
  private litefsProc: ManagedProcess | undefined;
  private appProc: ManagedProcess | undefined;
  private readonly ctx: NodeContext;

  /** This node's address: 127.0.0.1, or its namespace's address with `network: 'netns'`. */
  get address(): string {
    return this.ctx.address ?? '127.0.0.1';
  }

  /** The Toxiproxy proxy in front of this node's forwarding endpoint, to use as the app's advertiseUrl (or undefined). */
  get forwardProxyUrl(): string | undefined {
    return this.ctx.forwardProxyUrl;
  }

  constructor(options: { index: number; dir: string; httpPort: number; appPort: number; lease: NodeLease; ctx: NodeContext }) {
    this.index = options.index;
    this.name = `node${options.index}`;
    this.dir = options.dir;
    this.dataDir = join(this.dir, 'data');
    this.mountDir = join(this.dir, 'litefs');
    this.configPath = join(this.dir, 'litefs.yml');
    this.litefsLogFile = join(this.dir, 'litefs.log');
    this.appLogFile = join(this.dir, 'app.log');
    this.httpPort = options.httpPort;
    this.appPort = options.appPort;
    this.lease = options.lease;
    this.ctx = options.ctx;
    mkdirSync(this.dataDir, { recursive: true });
    mkdirSync(this.mountDir, { recursive: true });
    this.writeConfig();
  }

  /** LiteFS's HTTP API, e.g. http://127.0.0.1:20202 (also its advertise-url). */
  get httpUrl(): string {
    return `http://${this.address}:${this.httpPort}`;
  }

  /** The app's base URL (uses AppSpec.port when an app is configured). */
  get appUrl(): string {
    return `http://${this.address}:${this.appSpec?.port ?? this.appPort}`;
  }

  /** `<mountDir>/<dbName>`: the database path through the FUSE mount. */
  get dbPath(): string {
    return join(this.mountDir, this.ctx.dbName);
  }

  get litefsRunning(): boolean {
    return this.litefsProc?.running ?? false;
  }

  get appRunning(): boolean {
    return this.appProc?.running ?? false;
  }

  get litefsPid(): number | undefined {
    return this.litefsProc?.running ? this.litefsProc.pid : undefined;
  }

  get appPid(): number | undefined {
    return this.appProc?.running ? this.appProc.pid : undefined;
  }

  /** Processes of this node that are still running. */
  processes(): ManagedProcess[] {
    return [this.litefsProc, this.appProc].filter((p): p is ManagedProcess => p?.running ?? false);
  }

  /** Replaces the lease settings and rewrites litefs.yml (takes effect at the next start). */
  setLease(lease: NodeLease): void {
    this.lease = lease;
    this.writeConfig();
  }

  private writeConfig(): void {
    const lease = this.lease;
    const lines = [
      '# Written by test/harness (litefs-forward). LiteFS v0.5.14 config.',
      'exit-on-error: true',
      'fuse:',
      `  dir: ${yamlString(this.mountDir)}`,
      'data:',
      `  dir: ${yamlString(this.dataDir)}`,
      'http:',
      `  addr: ${yamlString(`${this.address}:${this.httpPort}`)}`,
      'log:',
      '  timestamp: true',
      'lease:',
    ];
    if (lease.type === 'consul') {
      lines.push(
        '  type: "consul"',
        `  hostname: ${yamlString(this.name)}`,
        `  advertise-url: ${yamlString(this.ctx.advertiseUrl ?? this.httpUrl)}`,
        '  candidate: true',
        '  consul:',
        `    url: ${yamlString(lease.url)}`,
        `    key: ${yamlString(lease.key)}`,
        `    ttl: ${yamlString(lease.ttl)}`,
        `    lock-delay: ${yamlString(lease.lockDelay)}`,
      );
    } else {
      // Static leases name the primary on every node: hostname/advertise-url
      // are the primary's, and only the primary has candidate: true.
      lines.push(
        '  type: "static"',
        `  hostname: ${yamlString(lease.primaryHostname)}`,
        `  advertise-url: ${yamlString(lease.primaryUrl)}`,
        `  candidate: ${lease.candidate}`,
      );
    }
    writeFileSync(this.configPath, `${lines.join('\n')}\n`);
  }

  /** LiteFS's `GET /info`. Throws when LiteFS does not answer. */
  async info(timeoutMs = 2_000): Promise<NodeInfo> {
    const res = await httpGet(`${this.httpUrl}/info`, timeoutMs);
    if (res.status !== 200) throw new Error(`${this.name}: GET /info: HTTP ${res.status} ${res.body}`);
    return JSON.parse(res.body) as NodeInfo;
  }

  /** `info()`, or undefined when LiteFS is not running or does not answer. */
  async tryInfo(timeoutMs = 1_000): Promise<NodeInfo | undefined> {
    if (!this.litefsRunning) return undefined;
    try {
      return await this.info(timeoutMs);
    } catch {
      return undefined;
    }
  }

  /** True if this node's /info says it is primary. */
  async isPrimary(): Promise<boolean> {
    return (await this.tryInfo())?.isPrimary ?? false;
  }

  /** Starts LiteFS (same config and data as before) and waits until it is ready. */
  async startLiteFS(options: { wait?: ReadyCondition; timeoutMs?: number } = {}): Promise<void> {
    if (this.litefsRunning) throw new Error(`${this.name}: LiteFS is already running`);
    // A mount left by a killed LiteFS would make the new one fail.
    if (isFuseMount(this.mountDir)) await unmount(this.mountDir);
    this.writeConfig();
    const litefs = this.wrapCommand(toolPath('litefs'), ['mount', '-config', this.configPath, '-no-expand-env']);
    const proc = ManagedProcess.spawn({
      name: `${this.name}/litefs`,
      command: litefs.command,
      args: litefs.args,
      cwd: this.dir,
      env: { ...process.env, [CLUSTER_ROOT_ENV]: this.ctx.clusterRoot },
      logFile: this.litefsLogFile,
    });
    this.litefsProc = proc;
    this.ctx.log(`${this.name}: litefs started (pid ${proc.pid}, ${this.httpUrl}, mount ${this.mountDir})`);
    const wait = options.wait ?? 'connected';
    await waitFor(
      async () => {
        if (!proc.running) {
          throw new FatalWaitError(
            `${this.name}: litefs exited during startup (${JSON.stringify(proc.exitStatus)})\n${this.logs(30)}`,
          );
        }
        if (!isFuseMount(this.mountDir)) return false;
        const info = await this.info(1_000);
        if (wait === 'mounted') return true;
        if (wait === 'primary') return info.isPrimary;
        return info.isPrimary || (info.primary?.hostname ?? '') !== '';
      },
      {
        timeoutMs: options.timeoutMs ?? 60_000,
        intervalMs: 100,
        description: `${this.name}: litefs to be ${wait}`,
      },
    );
    this.ctx.log(`${this.name}: litefs ready (${wait})`);
  }

  private wrapCommand(command: string, args: readonly string[]): { command: string; args: string[] } {
    return this.ctx.wrap ? this.ctx.wrap(command, args) : { command, args: [...args] };
  }

  /** SIGTERM, wait (SIGKILL after `timeoutMs`), then make sure the mount is gone. */
  async stopLiteFS(timeoutMs = 10_000): Promise<void> {
    const proc = this.litefsProc;
    if (proc?.running) {
      const status = await proc.stop(timeoutMs, 'SIGTERM');
      this.ctx.log(`${this.name}: litefs stopped (${JSON.stringify(status)})`);
    }
    await this.ensureUnmounted();
  }

  /** SIGKILL LiteFS, then `fusermount -uz` its mount. */
  async killLiteFS(): Promise<void> {
    const proc = this.litefsProc;
    if (proc?.running) {
      await proc.kill();
      this.ctx.log(`${this.name}: litefs killed`);
    }
    await this.ensureUnmounted();
  }

  private async ensureUnmounted(): Promise<void> {
    if (isFuseMount(this.mountDir) && !(await unmount(this.mountDir))) {
      throw new Error(`${this.name}: cannot unmount ${this.mountDir}`);
    }
  }

  /** Starts the app (needs an AppSpec) and waits for `GET <readyPath>` to answer 200. */
  async startApp(options: { timeoutMs?: number } = {}): Promise<void> {
    const spec = this.appSpec;
    if (!spec) throw new Error(`${this.name}: no app configured`);
    if (this.appRunning) throw new Error(`${this.name}: app is already running`);
    const app = this.wrapCommand(spec.command, spec.args);
    const proc = ManagedProcess.spawn({
      name: `${this.name}/app`,
      command: app.command,
      args: app.args,
      env: {
        ...process.env,
        LITEFS_MOUNT_DIR: this.mountDir,
        LITEFS_HTTP_URL: this.httpUrl,
        NODE_NAME: this.name,
        NODE_ADDRESS: this.address,
        APP_PORT: String(spec.port),
        ...spec.env,
        [CLUSTER_ROOT_ENV]: this.ctx.clusterRoot,
      },
      logFile: this.appLogFile,
    });
    this.appProc = proc;
    this.ctx.log(`${this.name}: app started (pid ${proc.pid}, ${this.appUrl})`);
    await waitFor(
      async () => {
        if (!proc.running) {
          throw new FatalWaitError(
            `${this.name}: app exited during startup (${JSON.stringify(proc.exitStatus)})\n${tail(this.appLogFile, 30)}`,
          );
        }
        const res = await httpGet(`${this.appUrl}${spec.readyPath}`, 1_000);
        return res.status === 200;
      },
      { timeoutMs: options.timeoutMs ?? 30_000, intervalMs: 100, description: `${this.name}: app at ${this.appUrl}${spec.readyPath}` },
    );
    this.ctx.log(`${this.name}: app ready`);
  }

  /** SIGTERM the app's process group, SIGKILL after `timeoutMs`. */
  async stopApp(timeoutMs = 5_000): Promise<void> {
    const proc = this.appProc;
    if (!proc?.running) return;
    const status = await proc.stop(timeoutMs, 'SIGTERM');
    this.ctx.log(`${this.name}: app stopped (${JSON.stringify(status)})`);
  }

  async killApp(): Promise<void> {
    const proc = this.appProc;
    if (!proc?.running) return;
    await proc.kill();
    this.ctx.log(`${this.name}: app killed`);
  }

  /** Starts LiteFS, then the app if one is configured. */
  async start(options: { wait?: ReadyCondition; timeoutMs?: number } = {}): Promise<void> {
    if (!this.litefsRunning) await this.startLiteFS(options);
    if (this.appSpec && !this.appRunning) await this.startApp({ timeoutMs: options.timeoutMs });
  }

  /** Graceful stop: the app, then LiteFS. */
  async stop(): Promise<void> {
    await this.stopApp();
    await this.stopLiteFS();
  }

  /** kill -9 the app and LiteFS at the same moment ("the machine died"), then unmount. */
  async kill(): Promise<void> {
    const procs = this.processes();
    for (const proc of procs) proc.killSync();
    await Promise.all(procs.map((proc) => proc.kill()));
    this.ctx.log(`${this.name}: killed (app and litefs, SIGKILL)`);
    await this.ensureUnmounted();
  }

  /** Graceful stop, then start again with the same config and data. */
  async restart(options: { wait?: ReadyCondition; timeoutMs?: number } = {}): Promise<void> {
    await this.stop();
    await this.start(options);
  }

  /** SIGKILLs everything without waiting (synchronous exit paths). */
  killSync(): void {
    this.appProc?.killSync();
    this.litefsProc?.killSync();
  }

  /** The last `lines` lines of this node's LiteFS log and (if any) app log. */
  logs(lines = 50): string {
    const parts = [`----- ${this.name} litefs (${this.litefsLogFile}) -----`, tail(this.litefsLogFile, lines)];
    if (this.appSpec || existsSync(this.appLogFile)) {
      parts.push(`----- ${this.name} app (${this.appLogFile}) -----`, tail(this.appLogFile, lines));
    }
    return parts.join('\n');
  }
}
