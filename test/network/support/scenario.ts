// Shared by the network scenarios: a 3-node cluster in network namespaces running test/network/support/app.ts, writers that
// record what each caller saw, and the count of acknowledged, present, lost and duplicated rows on every node.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { Cluster, type ClusterNode, type ClusterOptions } from '../../harness/cluster.js';
import { sleep, waitFor } from '../../harness/util.js';

export const SECRET = 'network-scenario-secret-0123456789abcdef';
export const FORWARD_PORT = 20203;
const APP = fileURLToPath(new URL('./app.js', import.meta.url));

export function appSpec(node: ClusterNode, env: Record<string, string> = {}) {
  return {
    command: process.execPath,
    args: [APP],
    env: { LITEFS_FORWARD_SECRET: SECRET, FORWARD_PORT: String(FORWARD_PORT), ...env },
    port: node.appPort,
    readyPath: '/health',
  };
}

export function startCluster(signal: AbortSignal, options: Partial<ClusterOptions> = {}): Promise<Cluster> {
  return Cluster.start({
    nodes: 3,
    lease: 'consul',
    network: 'netns',
    leaseTtl: '2s',
    dbName: 'net.db',
    app: (node) => appSpec(node),
    signal,
    log: process.env['HARNESS_VERBOSE'] ? (line) => console.log(line) : undefined,
    ...options,
  });
}

export type Outcome = { kind: 'acked'; ms: number; appMs: number; role: string; seen: number } | { kind: 'failed'; code: string; ms: number } | { kind: 'unknown'; error: string; ms: number };

/** POSTs `body` to `url`; 'unknown' when no answer came (the write may or may not have happened). */
export async function post(url: string, body: unknown, timeoutMs = 30_000): Promise<Outcome> {
  const started = performance.now();
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    // biome-ignore lint/suspicious/noExplicitAny: JSON from the scenario app
    const json: any = await response.json();
    const ms = performance.now() - started;
    if (response.status === 201) return { kind: 'acked', ms, appMs: Number(json.ms ?? ms), role: String(json.role ?? ''), seen: Number(json.seen ?? 1) };
    return { kind: 'failed', code: String(json.code ?? `HTTP ${response.status}`), ms };
  } catch (error) {
    return { kind: 'unknown', error: (error as Error).message, ms: performance.now() - started };
  }
}

export interface LedgerEntry {
  via: string;
  outcome: Outcome;
  phase: string;
  at: number;
  retry?: Outcome;
}

/** Every write a scenario attempted, by idempotency key. */
export class Ledger {
  /**
   * `outcome` is what the caller saw first, `at` when it saw it (epoch ms); `retry` is the outcome of its retry with
   * the same key after the heal.
   */
  readonly outcomes = new Map<string, LedgerEntry>();
  record(key: string, via: string, phase: string, outcome: Outcome, at = Date.now()): void {
    this.outcomes.set(key, { via, outcome, phase, at });
  }
  keys(filter: (entry: LedgerEntry) => boolean = () => true): string[] {
    return [...this.outcomes].filter(([, entry]) => filter(entry)).map(([key]) => key);
  }
  /** Keys acknowledged at the first attempt or on the retry. */
  get acknowledged(): string[] {
    return this.keys((entry) => entry.outcome.kind === 'acked' || entry.retry?.kind === 'acked');
  }
  /** What the callers saw, per node they wrote to and phase: acked / failed (by code) / unknown. */
  summary(): string {
    const groups = new Map<string, Map<string, number>>();
    for (const { via, outcome, phase, retry } of this.outcomes.values()) {
      const group = `${phase} via ${via}`;
      const counts = groups.get(group) ?? new Map<string, number>();
      const first = outcome.kind === 'failed' ? `failed ${outcome.code}` : outcome.kind;
      const label = retry ? `${first} (then ${retry.kind} on retry)` : first;
      counts.set(label, (counts.get(label) ?? 0) + 1);
      groups.set(group, counts);
    }
    return [...groups]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([group, counts]) => `#   ${group}: ${[...counts].map(([label, n]) => `${label} ${n}`).join(', ')}`)
      .join('\n');
  }
}

/** `writers` concurrent callers per node, each writing new keys to that node's app until `stop()` is true. */
export async function runWriters(options: {
  nodes: readonly ClusterNode[];
  writers: number;
  prefix: string;
  phase: () => string;
  ledger: Ledger;
  stop: () => boolean;
  pauseMs?: number;
  timeoutMs?: number;
}): Promise<void> {
  let counter = 0;
  const loops = options.nodes.flatMap((node) =>
    Array.from({ length: options.writers }, async () => {
      while (!options.stop()) {
        const key = `${options.prefix}-${node.name}-${counter++}`;
        const phase = options.phase();
        const outcome = await post(`${node.appUrl}/write`, { key }, options.timeoutMs);
        options.ledger.record(key, node.name, phase, outcome);
        if (outcome.kind !== 'acked') await sleep(100);
        else if (options.pauseMs) await sleep(options.pauseMs);
      }
    }),
  );
  await Promise.all(loops);
}

/**
 * After a heal: a caller that got no answer (or an error) retries with the same key through `via` until the write is
 * acknowledged. Returns the number of keys that could not be acknowledged by the deadline.
 */
export async function retryUnacknowledged(ledger: Ledger, via: ClusterNode, deadlineMs = 60_000): Promise<{ retried: number; unresolved: number }> {
  const pending = ledger.keys((entry) => entry.outcome.kind !== 'acked');
  const deadline = Date.now() + deadlineMs;
  let unresolved = 0;
  for (const key of pending) {
    for (;;) {
      const outcome = await post(`${via.appUrl}/write`, { key });
      if (outcome.kind === 'acked') {
        ledger.outcomes.get(key)!.retry = outcome;
        break;
      }
      if (Date.now() > deadline) {
        unresolved++;
        break;
      }
      await sleep(200);
    }
  }
  return { retried: pending.length, unresolved };
}

const position = (node: ClusterNode): string => {
  const file = `${node.dbPath}-pos`;
  return existsSync(file) ? readFileSync(file, 'latin1').trim() : '';
};

/** Waits until one primary is agreed on and every node has its replication position. Returns the primary. */
export async function settle(cluster: Cluster, timeoutMs = 90_000): Promise<ClusterNode> {
  const primary = await cluster.waitForAgreement({ timeoutMs });
  for (const node of cluster.nodes) {
    await waitFor(() => position(node) !== '' && position(node) === position(primary), {
      timeoutMs,
      description: `${node.name} reaches ${primary.name}'s position`,
    });
  }
  return primary;
}

function keyCounts(node: ClusterNode, prefix: string): Map<string, number> {
  if (!existsSync(node.dbPath)) return new Map();
  const db = new Database(node.dbPath, { readonly: true, fileMustExist: true, timeout: 5_000 });
  try {
    const rows = db.prepare('SELECT key, count(*) AS n FROM rows WHERE key LIKE ? GROUP BY key').all(`${prefix}-%`) as Array<{ key: string; n: number }>;
    return new Map(rows.map((row) => [row.key, row.n]));
  } finally {
    db.close();
  }
}

export interface NodeCount {
  node: string;
  acknowledged: number;
  present: number;
  lost: string[];
  duplicated: string[];
  /** Rows whose write was not acknowledged (it failed or no answer came) but that are there. */
  unacknowledgedPresent: number;
}

/** Counts rows of `prefix` on every node against the ledger, and prints one line per node. */
export function count(cluster: Cluster, ledger: Ledger, prefix: string, label: string): NodeCount[] {
  const acked = new Set(ledger.acknowledged.filter((key) => key.startsWith(`${prefix}-`)));
  const results: NodeCount[] = [];
  for (const node of cluster.nodes) {
    const counts = keyCounts(node, prefix);
    const lost = [...acked].filter((key) => !counts.has(key));
    const duplicated = [...counts].filter(([, n]) => n > 1).map(([key]) => key);
    const unacknowledgedPresent = [...counts.keys()].filter((key) => !acked.has(key)).length;
    const result = { node: node.name, acknowledged: acked.size, present: acked.size - lost.length, lost, duplicated, unacknowledgedPresent };
    results.push(result);
    console.log(
      `# ${label} ${node.name}: acknowledged ${result.acknowledged}, present ${result.present}, lost ${lost.length}, duplicated ${duplicated.length}, present-but-unacknowledged ${unacknowledgedPresent}`,
    );
  }
  return results;
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export interface LeaseWatch {
  /** Every primaryChange from every node's LiteFS /events, stamped when it arrived (epoch ms). */
  readonly changes: Array<{ node: string; at: number; isPrimary: boolean; hostname: string }>;
  /** When Consul's lease key was first seen without a session (the lock released), and by which session it was held. */
  readonly consul: { heldBy: string | undefined; releasedAt: number | undefined; reacquiredAt: number | undefined };
  stop(): Promise<void>;
}

/**
 * Follows the lease from outside: every node's /events (a demotion followed by a re-acquisition can last a few ms,
 * which polling /info misses) and, every 100 ms, who holds Consul's lease key.
 */
export function watchLease(cluster: Cluster): LeaseWatch {
  const abort = new AbortController();
  const changes: LeaseWatch['changes'] = [];
  const consul: LeaseWatch['consul'] = { heldBy: undefined, releasedAt: undefined, reacquiredAt: undefined };
  const follow = async (node: ClusterNode): Promise<void> => {
    while (!abort.signal.aborted) {
      try {
        const response = await fetch(`${node.httpUrl}/events`, { signal: abort.signal });
        const decoder = new TextDecoder();
        let buffered = '';
        const reader = response.body!.getReader();
        for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
          const at = Date.now();
          buffered += decoder.decode(chunk.value, { stream: true });
          for (let newline = buffered.indexOf('\n'); newline !== -1; newline = buffered.indexOf('\n')) {
            const line = buffered.slice(0, newline);
            buffered = buffered.slice(newline + 1);
            if (!line.includes('"primaryChange"')) continue;
            const event = JSON.parse(line) as { data?: { isPrimary?: boolean; hostname?: string } };
            changes.push({ node: node.name, at, isPrimary: event.data?.isPrimary === true, hostname: event.data?.hostname ?? '' });
          }
        }
      } catch {
        // Reconnect below, unless stopped.
      }
      await sleep(50);
    }
  };
  const pollConsul = async (): Promise<void> => {
    const url = `${cluster.consul!.url}/v1/kv/${cluster.leaseKey}`;
    while (!abort.signal.aborted) {
      try {
        const response = await fetch(url, { signal: AbortSignal.timeout(1_000) });
        const session = response.status === 200 ? ((await response.json()) as Array<{ Session?: string }>)[0]?.Session : undefined;
        const now = Date.now();
        if (consul.heldBy === undefined && session !== undefined && consul.releasedAt === undefined) consul.heldBy = session;
        if (session === undefined && consul.heldBy !== undefined) consul.releasedAt ??= now;
        if (session !== undefined && consul.releasedAt !== undefined) consul.reacquiredAt ??= now;
      } catch {
        // Consul is the driver's to reach; a slow answer is just a missed sample.
      }
      await sleep(100);
    }
  };
  const loops = [...cluster.nodes.map(follow), pollConsul()];
  return {
    changes,
    consul,
    async stop() {
      abort.abort();
      await Promise.all(loops);
    },
  };
}
