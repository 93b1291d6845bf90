import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { LiteFSDatabase } from '../database.js';
import { CHANNELS, type ForwardContext, type RoleChangeEvent } from '../diagnostics.js';
import type { Role, Status } from '../types.js';

/** prom-client, passed in so that it stays an optional peer dependency. */
export interface PromClient {
  Counter: typeof Counter;
  Gauge: typeof Gauge;
  Histogram: typeof Histogram;
  register: Registry;
}

export interface MetricsOptions {
  /** Registry to register into. Default: prom-client's global registry. */
  registry?: Registry;
  /** Metric name prefix. Default `litefs_forward_`. */
  prefix?: string;
  /** Duration buckets in seconds for forwarded calls. */
  buckets?: number[];
}

export interface LiteFSForwardMetrics {
  /** Unsubscribes from the diagnostics channels and removes the metrics from the registry. */
  close(): void;
  [Symbol.dispose](): void;
}

const ROLES: readonly Role[] = ['primary', 'replica', 'unknown', 'standalone'];

/**
 * Prometheus metrics for one database, fed by litefs-forward's diagnostics channels:
 * `<prefix>forwarded_total{kind,outcome}`, `<prefix>forward_duration_seconds{kind}`, `<prefix>role_changes_total`,
 * `<prefix>role{role}` (1 for the current role), `<prefix>forward_in_flight`, `<prefix>remote_transactions` and
 * `<prefix>replication_lag_seconds`.
 *
 * ```ts
 * import * as client from 'prom-client';
 * const metrics = createMetrics(client, db);
 * ```
 */
export function createMetrics(client: PromClient, database: LiteFSDatabase, options: MetricsOptions = {}): LiteFSForwardMetrics {
  const registry = options.registry ?? client.register;
  const prefix = options.prefix ?? 'litefs_forward_';
  const registers = [registry];
  const forwarded = new client.Counter({ name: `${prefix}forwarded_total`, help: 'Calls forwarded to the primary, by kind and outcome (ok or an error code).', labelNames: ['kind', 'outcome'], registers });
  const duration = new client.Histogram({
    name: `${prefix}forward_duration_seconds`,
    help: 'Duration of forwarded calls, retries and the read-your-writes wait included.',
    labelNames: ['kind'],
    buckets: options.buckets ?? [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5, 15],
    registers,
  });
  const roleChanges = new client.Counter({ name: `${prefix}role_changes_total`, help: 'Changes of role or primary seen by this node.', registers });
  const role = new client.Gauge({
    name: `${prefix}role`,
    help: 'This node’s role: 1 for the current one.',
    labelNames: ['role'],
    registers,
    collect() {
      for (const name of ROLES) this.set({ role: name }, database.role === name ? 1 : 0);
    },
  });
  const fromStatus = (name: string, help: string, read: (status: Status) => number | undefined): Gauge =>
    new client.Gauge({
      name: `${prefix}${name}`,
      help,
      registers,
      async collect() {
        const value = read(await database.status());
        if (value !== undefined) this.set(value);
      },
    });
  const inFlight = fromStatus('forward_in_flight', 'Forwarded calls waiting for the primary.', (status) => status.forwarding.inFlight);
  const sessions = fromStatus('remote_transactions', 'Replicas’ transactions open on this primary.', (status) => status.forwarding.sessions);
  const lag = fromStatus('replication_lag_seconds', 'Time since this node last heard from the primary, from LiteFS’s .lag file.', (status) =>
    status.lagMs === undefined ? undefined : status.lagMs / 1000,
  );
  const lineageChanges = fromStatus('lineage_changes', 'Lineage changes this node has seen since it opened (a failover to a node that was behind).', (status) => status.lineageChanges);
  const resent = fromStatus('resent_writes', 'Acknowledged writes lost in a failover and sent again under their key, since this instance opened.', (status) => status.forwarding.resent);

  const mine = (event: { node: string; database: string }): boolean => event.node === database.hostname && event.database === database.databaseName;
  const onEnd = (message: unknown): void => {
    const context = message as ForwardContext;
    // tracePromise ends a failed call with asyncEnd too, after its error event: that one counts it.
    if (!mine(context) || 'error' in context) return;
    forwarded.inc({ kind: context.kind, outcome: 'ok' });
    if (context.durationMs !== undefined) duration.observe({ kind: context.kind }, context.durationMs / 1000);
  };
  const onError = (message: unknown): void => {
    const context = message as ForwardContext;
    if (!mine(context)) return;
    const code = (context.error as { code?: unknown } | undefined)?.code;
    forwarded.inc({ kind: context.kind, outcome: typeof code === 'string' ? code : 'error' });
    if (context.durationMs !== undefined) duration.observe({ kind: context.kind }, context.durationMs / 1000);
  };
  const onRoleChange = (message: unknown): void => {
    if (mine(message as RoleChangeEvent)) roleChanges.inc();
  };
  const endChannel = `tracing:${CHANNELS.forward}:asyncEnd`;
  const errorChannel = `tracing:${CHANNELS.forward}:error`;
  subscribe(endChannel, onEnd);
  subscribe(errorChannel, onError);
  subscribe(CHANNELS.roleChange, onRoleChange);

  const close = (): void => {
    unsubscribe(endChannel, onEnd);
    unsubscribe(errorChannel, onError);
    unsubscribe(CHANNELS.roleChange, onRoleChange);
    for (const metric of [forwarded, duration, roleChanges, role, inFlight, sessions, lag, lineageChanges, resent]) registry.removeSingleMetric((metric as unknown as { name: string }).name);
  };
  return { close, [Symbol.dispose]: close };
}
