// `litefs-forward status`: asks nodes' forwarding endpoints for their status (the signed `status` RPC) and
// renders the answers. Kept free of process-level side effects so main.ts stays a thin shell.
import { isLiteFSForwardError } from '../errors.js';
import { ConnectionFailure, RpcClient } from '../replica/rpc-client.js';
import type { SignalStatus, Status } from '../types.js';

/** The hostname the CLI signs its requests with (LiteFS's hostnames never look like this). */
export const CLI_NODE_NAME = 'litefs-forward-cli';

export interface NodeError {
  /** A library error code (`UNAUTHORIZED`, `PROTOCOL_ERROR`, …), or `UNREACHABLE` / `TIMEOUT` / `INVALID_URL`. */
  code: string;
  message: string;
}

export type NodeReport = { url: string; ok: true; status: Status } | { url: string; ok: false; error: NodeError };

export interface StatusQueryOptions {
  secret: string;
  /** The database whose endpoint is asked (its file name in the mount). */
  database: string;
  timeoutMs: number;
}

/** Queries every URL in parallel; never throws: a node that fails is a report with `ok: false`. */
export async function queryStatuses(urls: readonly string[], options: StatusQueryOptions): Promise<NodeReport[]> {
  const client = new RpcClient({ secret: Buffer.from(options.secret), hostname: CLI_NODE_NAME, databaseName: options.database });
  try {
    return await Promise.all(urls.map((url) => queryOne(client, url, options.timeoutMs)));
  } finally {
    client.close();
  }
}

async function queryOne(client: RpcClient, url: string, timeoutMs: number): Promise<NodeReport> {
  if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) {
    return { url, ok: false, error: { code: 'INVALID_URL', message: `${JSON.stringify(url)} is not an http(s) URL` } };
  }
  const timeout = new AbortController();
  const timer = setTimeout(() => timeout.abort(new Error('timeout')), timeoutMs);
  try {
    const response = await client.call(url, { op: 'status', timeoutMs }, timeout.signal);
    const status = response.status as Status | undefined;
    if (status === null || typeof status !== 'object' || typeof status.role !== 'string') {
      return { url, ok: false, error: { code: 'PROTOCOL_ERROR', message: 'the answer holds no status' } };
    }
    return { url, ok: true, status };
  } catch (error) {
    if (timeout.signal.aborted) return { url, ok: false, error: { code: 'TIMEOUT', message: `no answer within ${timeoutMs} ms` } };
    return { url, ok: false, error: describeError(error) };
  } finally {
    clearTimeout(timer);
  }
}

function describeError(error: unknown): NodeError {
  if (error instanceof ConnectionFailure) {
    const errno = (error.cause as NodeJS.ErrnoException | undefined)?.code;
    const reason = (error.cause as Error | undefined)?.message ?? error.message;
    return { code: 'UNREACHABLE', message: errno === undefined || reason.includes(errno) ? reason : `${errno}: ${reason}` };
  }
  if (isLiteFSForwardError(error)) return { code: error.code, message: error.message };
  const code = (error as { code?: unknown }).code;
  return { code: typeof code === 'string' ? code : 'ERROR', message: error instanceof Error ? error.message : String(error) };
}

const COLUMNS = ['NODE', 'HOSTNAME', 'ROLE', 'PRIMARY', 'EVENT STREAM', '.PRIMARY FILE', 'TRACKING TABLE', 'TXID', 'LAG'] as const;

/** The reports as an aligned plain-text table, one row per node; a failed node shows `ERROR(<code>)` as its role. */
export function formatTable(reports: readonly NodeReport[]): string {
  const rows: string[][] = [];
  for (const report of reports) {
    if (!report.ok) {
      rows.push([report.url, '-', `ERROR(${report.error.code})`, '-', '-', '-', '-', '-', '-']);
      continue;
    }
    const { status } = report;
    rows.push([
      report.url,
      status.hostname,
      status.role,
      status.primary?.hostname ?? '-',
      signal(status.signals.eventStream),
      signal(status.signals.primaryFile),
      signal(status.signals.trackingTable),
      status.txid ?? '-',
      status.lagMs === undefined ? '-' : `${status.lagMs} ms`,
    ]);
  }
  const widths = COLUMNS.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(COLUMNS), ...rows.map(line)].join('\n');
}

/** The state and what the signal says the primary is: `connected (self)`, `present (node1)`, `disabled`, `error: …`. */
function signal(value: SignalStatus): string {
  if (!value.enabled) return 'disabled';
  if (value.state === 'error' && value.lastError !== undefined) return `error: ${truncate(value.lastError, 40)}`;
  const says = value.isPrimary === true ? 'self' : value.primaryHostname;
  return says === undefined ? value.state : `${value.state} (${says})`;
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
