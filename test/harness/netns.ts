/**
 * Test hosts in network namespaces: one namespace per LiteFS node and one for
 * Consul, each with a veth pair into a bridge the harness creates, on the
 * private subnet 10.213.0.0/24. The bridge itself holds 10.213.0.1 in the
 * root namespace: that is where the test driver (the "client") sits. No
 * namespace has a default route, so nothing they send can leave the subnet.
 *
 * Processes run inside a namespace through `nsenter --net=/run/netns/<ns>`,
 * which enters only the network namespace. (`ip netns exec` also unshares the
 * mount namespace with slave propagation, so a FUSE mount made inside would
 * be invisible to the test driver and to the harness's mount cleanup.)
 *
 * Partitions are nftables rules in the receiving namespace's input hook
 * (`ip saddr <peer> drop`): packets vanish, as on a real partition, instead
 * of failing fast with EPERM as an output-hook drop would. The driver
 * (10.213.0.1) is never cut off.
 *
 * Everything carries the prefix `lff-`. One netns cluster at a time per
 * machine: the owner's pid is kept in /run/lff-netns.owner; at start, when
 * that owner is gone, every `lff-` namespace (and the processes in it) and
 * link is removed.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { pidAlive, processCommandLine } from './processes.js';

export const NETNS_PREFIX = 'lff-';
/** The first three octets of the harness subnet (a /24). */
export const NETNS_SUBNET = '10.213.0';
export const NETNS_DRIVER_ADDRESS = `${NETNS_SUBNET}.1`;
const BRIDGE = `${NETNS_PREFIX}br0`;
const OWNER_FILE = '/run/lff-netns.owner';
const TABLE = 'lff';

export interface NetnsHost {
  /** Logical name: "consul", "node1", ... */
  readonly name: string;
  /** Namespace name, e.g. "lff-node1". */
  readonly ns: string;
  /** Its address on the subnet. */
  readonly address: string;
  /** The root-namespace end of its veth pair (a bridge port). */
  readonly veth: string;
}

interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], input?: string): RunResult {
  const result = spawnSync(command, args, { input, encoding: 'utf8', timeout: 10_000 });
  return { status: result.status, stdout: result.stdout ?? '', stderr: result.stderr ?? String(result.error ?? '') };
}

function must(command: string, args: string[], input?: string): string {
  const result = run(command, args, input);
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} failed (exit ${result.status}): ${result.stderr.trim()}`);
  }
  return result.stdout;
}

/** Names of the namespaces with the harness prefix. */
export function harnessNamespaces(): string[] {
  const out = run('ip', ['netns', 'list']).stdout;
  return out
    .split('\n')
    .map((line) => line.split(' ')[0] ?? '')
    .filter((name) => name.startsWith(NETNS_PREFIX));
}

/** Names of the root-namespace links with the harness prefix. */
export function harnessLinks(): string[] {
  const out = run('ip', ['-o', 'link', 'show']).stdout;
  const names: string[] = [];
  for (const line of out.split('\n')) {
    const name = /^\d+: ([^:@]+)[:@]/.exec(line)?.[1];
    if (name?.startsWith(NETNS_PREFIX)) names.push(name);
  }
  return names;
}

function killNamespaceProcesses(ns: string): void {
  const pids = run('ip', ['netns', 'pids', ns])
    .stdout.split('\n')
    .filter((line) => /^\d+$/.test(line))
    .map(Number);
  for (const pid of pids) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // Not a group leader, or gone.
    }
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Gone.
    }
  }
  const deadline = Date.now() + 5_000;
  while (pids.some(pidAlive) && Date.now() < deadline) spawnSync('sleep', ['0.05']);
}

/** Kills the processes in every harness namespace, deletes the namespaces and links. Synchronous. */
export function destroyHarnessNetworkSync(): { namespaces: string[]; links: string[] } {
  const namespaces = harnessNamespaces();
  for (const ns of namespaces) {
    killNamespaceProcesses(ns);
    run('ip', ['netns', 'delete', ns]);
  }
  // Deleting a namespace deletes its veth ends, and with them their peers; the bridge stays.
  const links = harnessLinks();
  for (const link of links) run('ip', ['link', 'delete', link]);
  return { namespaces, links };
}

function ownerAlive(): number | undefined {
  if (!existsSync(OWNER_FILE)) return undefined;
  const pid = Number(readFileSync(OWNER_FILE, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return undefined;
  if (!pidAlive(pid) || !(processCommandLine(pid)?.[0] ?? '').includes('node')) return undefined;
  return pid;
}

/** Partition rule: packets from `from` to `to` are dropped (and the reverse when symmetric). */
export interface PartitionSpec {
  from: string | readonly string[];
  to: string | readonly string[];
  /** Default true. */
  symmetric?: boolean;
}

/** The namespaces of one cluster; create with `NetworkNamespaces.create`, release with `destroy`. */
export class NetworkNamespaces {
  readonly hosts: ReadonlyMap<string, NetnsHost>;
  private destroyed = false;
  /** Active drops, as "from>to" pairs (receiver-side rules). */
  private readonly drops = new Set<string>();
  private readonly log: (line: string) => void;

  private constructor(hosts: Map<string, NetnsHost>, log: (line: string) => void) {
    this.hosts = hosts;
    this.log = log;
  }

  /**
   * Creates the bridge and one namespace per name (addresses in order:
   * `names[0]` gets .2, the next .3, ...). Clears stale harness namespaces
   * first; refuses when another live process owns them.
   */
  static create(names: readonly string[], log: (line: string) => void): NetworkNamespaces {
    if (process.getuid?.() !== 0) throw new Error('network: netns needs root (ip netns add)');
    for (const tool of ['ip', 'nft', 'nsenter']) {
      if (run('sh', ['-c', `command -v ${tool}`]).status !== 0) {
        throw new Error(`network: netns needs \`${tool}\`: run \`bash scripts/install-cluster-tools.sh\` (as root) first`);
      }
    }
    const owner = ownerAlive();
    if (owner !== undefined) {
      throw new Error(`network: netns: process ${owner} runs a netns cluster (see ${OWNER_FILE}); only one at a time per machine`);
    }
    const stale = destroyHarnessNetworkSync();
    if (stale.namespaces.length + stale.links.length > 0) {
      log(`netns: removed stale ${[...stale.namespaces, ...stale.links].join(', ')}`);
    }
    if (names.length > 250) throw new Error('network: netns supports at most 250 hosts');
    writeFileSync(OWNER_FILE, `${process.pid}\n`);
    const hosts = new Map<string, NetnsHost>();
    const net = new NetworkNamespaces(hosts, log);
    try {
      must('ip', ['link', 'add', BRIDGE, 'type', 'bridge']);
      must('ip', ['addr', 'add', `${NETNS_DRIVER_ADDRESS}/24`, 'dev', BRIDGE]);
      must('ip', ['link', 'set', BRIDGE, 'up']);
      names.forEach((name, i) => {
        if (!/^[a-z0-9]{1,9}$/.test(name)) throw new Error(`network: host name ${name} must be 1-9 of [a-z0-9]`);
        const host: NetnsHost = { name, ns: `${NETNS_PREFIX}${name}`, address: `${NETNS_SUBNET}.${i + 2}`, veth: `${NETNS_PREFIX}v-${name}` };
        const peer = `${NETNS_PREFIX}p-${name}`;
        hosts.set(name, host);
        must('ip', ['netns', 'add', host.ns]);
        must('ip', ['link', 'add', host.veth, 'type', 'veth', 'peer', 'name', peer]);
        must('ip', ['link', 'set', peer, 'netns', host.ns]);
        must('ip', ['link', 'set', host.veth, 'master', BRIDGE, 'up']);
        must('ip', ['-n', host.ns, 'link', 'set', peer, 'name', 'eth0']);
        must('ip', ['-n', host.ns, 'addr', 'add', `${host.address}/24`, 'dev', 'eth0']);
        must('ip', ['-n', host.ns, 'link', 'set', 'eth0', 'up']);
        must('ip', ['-n', host.ns, 'link', 'set', 'lo', 'up']);
        must('nsenter', [`--net=/run/netns/${host.ns}`, 'nft', '-f', '-'], net.ruleset());
        log(`netns: ${host.ns} at ${host.address} (${host.veth} on ${BRIDGE})`);
      });
    } catch (error) {
      net.destroySync();
      throw error;
    }
    return net;
  }

  host(name: string): NetnsHost {
    const host = this.hosts.get(name);
    if (!host) throw new Error(`network: no host ${name} (hosts: ${[...this.hosts.keys()].join(', ')})`);
    return host;
  }

  /** The command line that runs `command args` inside `name`'s network namespace (same pid: nsenter execs). */
  wrap(name: string, command: string, args: readonly string[]): { command: string; args: string[] } {
    return { command: 'nsenter', args: [`--net=/run/netns/${this.host(name).ns}`, '--', command, ...args] };
  }

  /** Drops packets between hosts (receiver side, silently). Adds to the partitions already in place. */
  partition(spec: PartitionSpec): void {
    const list = (value: string | readonly string[]): string[] => (typeof value === 'string' ? [value] : [...value]);
    const from = list(spec.from);
    const to = list(spec.to);
    for (const a of from) {
      for (const b of to) {
        if (a === b) continue;
        this.host(a);
        this.host(b);
        this.drops.add(`${a}>${b}`);
        if (spec.symmetric ?? true) this.drops.add(`${b}>${a}`);
      }
    }
    this.apply();
    this.log(`netns: partition ${from.join(',')} ${spec.symmetric ?? true ? '<->' : '->'} ${to.join(',')}`);
  }

  /** Removes every partition. */
  heal(): void {
    this.drops.clear();
    this.apply();
    this.log('netns: healed');
  }

  /** The active drops as [from, to] pairs. */
  partitions(): Array<[string, string]> {
    return [...this.drops].map((pair) => pair.split('>') as [string, string]);
  }

  private ruleset(receiver?: string): string {
    const sources = receiver === undefined ? [] : this.partitions().filter(([, to]) => to === receiver).map(([from]) => this.host(from).address);
    const rules = sources.map((address) => `    ip saddr ${address} drop`).join('\n');
    return [
      `table inet ${TABLE}`,
      `delete table inet ${TABLE}`,
      `table inet ${TABLE} {`,
      '  chain input {',
      '    type filter hook input priority 0; policy accept;',
      rules,
      '  }',
      '}',
      '',
    ].join('\n');
  }

  private apply(): void {
    if (this.destroyed) throw new Error('network: the namespaces are already destroyed');
    for (const host of this.hosts.values()) {
      must('nsenter', [`--net=/run/netns/${host.ns}`, 'nft', '-f', '-'], this.ruleset(host.name));
    }
  }

  /** Kills what runs in the namespaces and deletes them, the veths and the bridge. Idempotent. */
  destroySync(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const host of this.hosts.values()) {
      killNamespaceProcesses(host.ns);
      run('ip', ['netns', 'delete', host.ns]);
      run('ip', ['link', 'delete', host.veth]);
    }
    run('ip', ['link', 'delete', BRIDGE]);
    try {
      if (existsSync(OWNER_FILE) && Number(readFileSync(OWNER_FILE, 'utf8').trim()) === process.pid) rmSync(OWNER_FILE);
    } catch {
      // Best effort.
    }
    this.log('netns: removed namespaces, veths and bridge');
  }
}
