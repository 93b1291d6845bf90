import { hostname as osHostname } from 'node:os';
import { basename, dirname } from 'node:path';
import { ConfigError } from './errors.js';
import { type Logger, silentLogger } from './logger.js';

export const MODES = ['auto', 'litefs', 'local'] as const;
export type Mode = (typeof MODES)[number];

export const DRIVER_NAMES = ['better-sqlite3', 'node:sqlite'] as const;
export type DriverName = (typeof DRIVER_NAMES)[number];

export interface GroupCommitOptions {
  /** Most calls committed in one SQLite transaction. Default 64. */
  maxSize?: number;
  /** How long the first call of a group waits for company, in ms. Default 0: group only what queued up meanwhile. */
  maxWaitMs?: number;
}

export interface LiteFSForwardOptions {
  /** Path of the SQLite database file inside the LiteFS mount, e.g. `/litefs/app.db`. */
  path: string;
  /** `litefs` requires a LiteFS mount, `local` never forwards (development), `auto` picks by looking for the mount. */
  mode?: Mode;
  /** LiteFS's `.primary` file. Default `/litefs/.primary`. */
  primaryFile?: string;
  /** How often the `.primary` file is read, in ms. Default 30 000. */
  pollInterval?: number;
  /** LiteFS's event stream, or `false` to rely on the `.primary` file alone. Default `http://localhost:20202/events`. */
  eventStreamUrl?: string | false;
  /** LiteFS's `/info`, used to confirm a missing `.primary` file. Default: next to `eventStreamUrl`, or `http://localhost:20202/info`. */
  infoUrl?: string | false;
  /** Replicated table where the primary publishes its RPC address. Default `_litefs_forward_primary`. */
  tableName?: string;
  /** How long a replica trusts its cached copy of the tracking table, in ms. Default 5 000. */
  cacheTtl?: number;
  /**
   * Deadline of a forwarded call, retries included, in ms. Default 30 000: longer than a LiteFS failover with
   * Consul's minimum lease (TTL 10 s + lock-delay 1 s, measured 18–20 s from kill -9 to a new primary), so a write
   * in flight during a failover waits for the new primary instead of failing. Rule: TTL + lock-delay + 10 s or more.
   */
  rpcTimeout?: number;
  /** This node's LiteFS hostname (`lease.hostname`). Default: the OS hostname. */
  hostname?: string;
  /** URL at which other nodes reach this node's forwarding endpoint, e.g. `http://10.0.0.5:20203`. */
  advertiseUrl?: string;
  /** Where the built-in endpoint listens, or `false` to mount `db.rpcHandler` in your own HTTP server. Default: `advertiseUrl`'s host and port. */
  listen?: { host?: string; port?: number } | false;
  /** Shared secret of the cluster, at least 32 bytes. Required in `litefs` mode. */
  secret?: string | Uint8Array;
  /** A pino-compatible logger. Silent by default. */
  logger?: Logger;
  /**
   * The SQLite binding: `better-sqlite3` (the default, an optional peer dependency) or `node:sqlite`, built into
   * Node 24 and later, for an app with no native dependency. Both behave alike; run the same one on every node.
   */
  driver?: DriverName;
  /** Return INTEGER values as bigint, like better-sqlite3's `safeIntegers(true)`. Default false. */
  safeIntegers?: boolean;
  /** Wait for forwarded writes to replicate to this node before returning. Default true. */
  readYourWrites?: boolean;
  /** Longest wait for read-your-writes, in ms. Default 5 000. */
  readYourWritesTimeout?: number;
  /** Keep `false` to skip idempotency records; default true records each forwarded write's key and result. */
  exactlyOnce?: boolean;
  /** How long the primary remembers an idempotency key, in ms. Default 3 600 000 (one hour). */
  idempotencyWindow?: number;
  /** Largest request body the endpoint accepts, in bytes. Default 4 MiB. */
  maxRequestBytes?: number;
  /** Largest accepted difference between a request's timestamp and the primary's clock, in ms. Default 30 000. */
  maxClockSkew?: number;
  /**
   * A write transaction idle this long is rolled back, in ms: a replica's remote session, and a local `begin()` on
   * the primary, which holds the write queue while open. The next call on it fails with TRANSACTION_EXPIRED.
   * Default 10 000.
   */
  transactionIdleTimeout?: number;
  /** A write transaction (remote or local) open this long is rolled back, in ms. Default 60 000. */
  transactionTimeout?: number;
  /** Commit concurrent forwarded writes together, or `false` to commit each alone. */
  groupCommit?: GroupCommitOptions | false;
  /**
   * How long `open()` waits for the database file to appear (on a new replica, until the primary has created it
   * and LiteFS has replicated it), in ms. `open()` does not wait for a role: reads are served as soon as the file
   * exists, and a write made before a primary is known waits for one within its own `rpcTimeout`. Default 30 000.
   */
  startTimeout?: number;
  /**
   * The database's journal mode, set by the library on its writer when this node becomes the writer (`PRAGMA
   * journal_mode` is refused in calls, since it would change the shared connection). Default: left as it is.
   */
  journalMode?: 'wal' | 'delete';
  /** Caps of the forwarding endpoint (connections, time, bodies, remote transactions). See {@link EndpointLimitOptions}. */
  limits?: EndpointLimitOptions;
}

export interface ResolvedConfig {
  readonly path: string;
  readonly databaseName: string;
  readonly mountDir: string;
  readonly mode: Mode;
  readonly primaryFile: string;
  readonly pollInterval: number;
  readonly eventStreamUrl: string | false;
  readonly infoUrl: string | false;
  readonly tableName: string;
  readonly cacheTtl: number;
  readonly rpcTimeout: number;
  readonly hostname: string;
  readonly advertiseUrl: string | undefined;
  readonly listen: { host: string; port: number } | false;
  readonly secret: Buffer | undefined;
  readonly logger: Logger;
  readonly driver: DriverName;
  readonly safeIntegers: boolean;
  readonly readYourWrites: boolean;
  readonly readYourWritesTimeout: number;
  readonly exactlyOnce: boolean;
  readonly idempotencyWindow: number;
  readonly maxRequestBytes: number;
  readonly maxClockSkew: number;
  readonly transactionIdleTimeout: number;
  readonly transactionTimeout: number;
  readonly groupCommit: { maxSize: number; maxWaitMs: number };
  readonly startTimeout: number;
  readonly journalMode: 'wal' | 'delete' | undefined;
  readonly limits: EndpointLimits;
}

export const DEFAULTS = Object.freeze({
  mode: 'auto' as Mode,
  primaryFile: '/litefs/.primary',
  pollInterval: 30_000,
  eventStreamUrl: 'http://localhost:20202/events',
  tableName: '_litefs_forward_primary',
  cacheTtl: 5_000,
  rpcTimeout: 30_000,
  readYourWrites: true,
  readYourWritesTimeout: 5_000,
  idempotencyWindow: 3_600_000,
  maxRequestBytes: 4 * 1024 * 1024,
  maxClockSkew: 30_000,
  transactionIdleTimeout: 10_000,
  transactionTimeout: 60_000,
  groupCommitMaxSize: 64,
  groupCommitMaxWaitMs: 0,
  startTimeout: 30_000,
});

const SQL_IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const MIN_SECRET_BYTES = 32;

/** Each option's validator, with its default: `value` is what the caller passed, `options` the whole object. */
type OptionTable = {
  readonly [K in keyof Required<LiteFSForwardOptions>]: (value: LiteFSForwardOptions[K], options: LiteFSForwardOptions) => ResolvedConfig[K];
};

/**
 * Every option, in one table. `satisfies` keeps it in step with LiteFSForwardOptions: an option missing here, or
 * here but not there, fails to compile, and the list of known options is the table's keys.
 */
const OPTIONS = {
  path: (value) => nonEmptyString('path', value),
  mode: (value = DEFAULTS.mode) => {
    if (!(MODES as readonly string[]).includes(value)) throw new ConfigError('mode', value, `one of ${MODES.join(', ')}`);
    return value;
  },
  primaryFile: (value = DEFAULTS.primaryFile) => nonEmptyString('primaryFile', value),
  pollInterval: (value = DEFAULTS.pollInterval) => duration('pollInterval', value, 10),
  eventStreamUrl: (value = DEFAULTS.eventStreamUrl) => (value === false ? false : httpUrl('eventStreamUrl', value)),
  // Next to the event stream by default: both are LiteFS's HTTP API.
  infoUrl: (value, options) => {
    if (value === false) return false;
    if (value !== undefined) return httpUrl('infoUrl', value);
    const events = options.eventStreamUrl;
    return new URL('info', typeof events === 'string' ? httpUrl('eventStreamUrl', events) : DEFAULTS.eventStreamUrl).href;
  },
  tableName: (value = DEFAULTS.tableName) => identifier('tableName', value),
  cacheTtl: (value = DEFAULTS.cacheTtl) => duration('cacheTtl', value, 0),
  rpcTimeout: (value = DEFAULTS.rpcTimeout) => duration('rpcTimeout', value, 1),
  hostname: (value) => nonEmptyString('hostname', value ?? osHostname()),
  advertiseUrl: (value) => (value === undefined ? undefined : httpUrl('advertiseUrl', value)),
  listen: (value, options) => resolveListen(value, options.advertiseUrl === undefined ? undefined : httpUrl('advertiseUrl', options.advertiseUrl)),
  secret: (value) => (value === undefined ? undefined : secretBytes(value)),
  logger: (value) => resolveLogger(value),
  driver: (value = 'better-sqlite3') => {
    if (!(DRIVER_NAMES as readonly unknown[]).includes(value)) throw new ConfigError('driver', value, `one of ${DRIVER_NAMES.join(', ')}`);
    return value;
  },
  safeIntegers: (value = false) => bool('safeIntegers', value),
  readYourWrites: (value = DEFAULTS.readYourWrites) => bool('readYourWrites', value),
  readYourWritesTimeout: (value = DEFAULTS.readYourWritesTimeout) => duration('readYourWritesTimeout', value, 0),
  exactlyOnce: (value = true) => bool('exactlyOnce', value),
  idempotencyWindow: (value = DEFAULTS.idempotencyWindow) => duration('idempotencyWindow', value, 1_000),
  maxRequestBytes: (value = DEFAULTS.maxRequestBytes) => integer('maxRequestBytes', value, 1_024),
  maxClockSkew: (value = DEFAULTS.maxClockSkew) => duration('maxClockSkew', value, 1_000),
  transactionIdleTimeout: (value = DEFAULTS.transactionIdleTimeout) => duration('transactionIdleTimeout', value, 10),
  transactionTimeout: (value = DEFAULTS.transactionTimeout) => duration('transactionTimeout', value, 10),
  groupCommit: (value) => {
    if (value === false) return { maxSize: 1, maxWaitMs: 0 };
    if (value !== undefined && (value === null || typeof value !== 'object')) throw new ConfigError('groupCommit', value, 'an object or false');
    return {
      maxSize: integer('groupCommit.maxSize', value?.maxSize ?? DEFAULTS.groupCommitMaxSize, 1),
      maxWaitMs: duration('groupCommit.maxWaitMs', value?.maxWaitMs ?? DEFAULTS.groupCommitMaxWaitMs, 0),
    };
  },
  startTimeout: (value = DEFAULTS.startTimeout) => duration('startTimeout', value, 1),
  journalMode: (value) => resolveJournalMode(value),
  limits: (value) => resolveLimits(value),
} satisfies OptionTable;

const KNOWN_OPTIONS: ReadonlySet<string> = new Set(Object.keys(OPTIONS));

export function resolveConfig(options: LiteFSForwardOptions): ResolvedConfig {
  if (options === null || typeof options !== 'object') throw new ConfigError('options', redacted(options), 'an object');
  for (const key of Object.keys(options)) {
    // The value is not echoed: a misspelled `secret` is still a secret.
    if (!KNOWN_OPTIONS.has(key)) throw new ConfigError(key, redacted((options as unknown as Record<string, unknown>)[key]), 'no such option; check the spelling against the README');
  }
  const resolved: Record<string, unknown> = {};
  for (const [name, resolve] of Object.entries(OPTIONS) as [keyof LiteFSForwardOptions, (value: unknown, all: LiteFSForwardOptions) => unknown][]) {
    resolved[name] = resolve(options[name], options);
  }
  const config = resolved as unknown as Omit<ResolvedConfig, 'databaseName' | 'mountDir'>;
  if (config.mode === 'litefs') {
    if (config.secret === undefined) throw new ConfigError('secret', undefined, `a shared secret of at least ${MIN_SECRET_BYTES} bytes (required in litefs mode)`);
    if (config.advertiseUrl === undefined) throw new ConfigError('advertiseUrl', undefined, 'the URL other nodes use to reach this node (required in litefs mode)');
  }
  return Object.freeze({ ...config, databaseName: basename(config.path), mountDir: dirname(config.path) });
}

function resolveJournalMode(value: unknown): ResolvedConfig['journalMode'] {
  if (value === undefined || value === 'wal' || value === 'delete') return value;
  throw new ConfigError('journalMode', value, "'wal', 'delete', or undefined to leave it as it is");
}

function resolveListen(listen: LiteFSForwardOptions['listen'], advertiseUrl: string | undefined): ResolvedConfig['listen'] {
  if (listen === false) return false;
  if (listen !== undefined && (listen === null || typeof listen !== 'object')) throw new ConfigError('listen', listen, '{ host?, port? } or false');
  const advertisedPort = advertiseUrl === undefined ? undefined : defaultPort(new URL(advertiseUrl));
  const port = listen?.port ?? advertisedPort;
  if (port === undefined) return false;
  // The advertised host, not every interface: the endpoint is reachable where it says it is, and nowhere else.
  const advertisedHost = advertiseUrl === undefined ? undefined : new URL(advertiseUrl).hostname.replace(/^\[(.*)\]$/, '$1');
  return { host: nonEmptyString('listen.host', listen?.host ?? advertisedHost ?? '127.0.0.1'), port: integer('listen.port', port, 0, 65_535) };
}

/** The URL's port, or its scheme's default: `URL.port` is empty for `https://host/` as for `http://host/`. */
function defaultPort(url: URL): number {
  if (url.port !== '') return Number(url.port);
  return url.protocol === 'https:' ? 443 : 80;
}

function resolveLogger(logger: Logger | undefined): Logger {
  if (logger === undefined) return silentLogger;
  for (const level of ['debug', 'info', 'warn', 'error'] as const) {
    if (typeof logger?.[level] !== 'function') throw new ConfigError('logger', logger, `a pino-compatible logger with a ${level}() method`);
  }
  return logger;
}

function nonEmptyString(option: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) throw new ConfigError(option, value, 'a non-empty string');
  return value;
}

function identifier(option: string, value: unknown): string {
  if (typeof value !== 'string' || !SQL_IDENTIFIER.test(value)) throw new ConfigError(option, value, 'an SQL identifier: letters, digits and _, not starting with a digit, at most 64 characters');
  return value;
}

function httpUrl(option: string, value: unknown): string {
  if (typeof value === 'string') {
    try {
      const url = new URL(value);
      if (url.protocol === 'http:' || url.protocol === 'https:') return url.href;
    } catch {}
  }
  throw new ConfigError(option, value, 'an absolute http:// or https:// URL');
}

function integer(option: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(option, value, `an integer from ${min} to ${max}`);
  }
  return value;
}

function duration(option: string, value: unknown, min: number): number {
  return integer(option, value, min, 2_147_483_647);
}

function bool(option: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw new ConfigError(option, value, 'true or false');
  return value;
}

function secretBytes(value: unknown): Buffer {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value instanceof Uint8Array ? Buffer.from(value) : undefined;
  if (bytes === undefined || bytes.length < MIN_SECRET_BYTES) {
    throw new ConfigError('secret', redacted(value), `a string or Uint8Array of at least ${MIN_SECRET_BYTES} bytes`);
  }
  return bytes;
}

/**
 * What an error may say about a value that could be a secret: its type and size, never its content. Decided by
 * type alone, so no value of any type (object, array, number, typed array...) can reach a message.
 */
function redacted(value: unknown): string {
  if (value === undefined || value === null || typeof value === 'boolean') return `<${String(value)}>`;
  if (typeof value === 'string') return `<redacted string of ${Buffer.byteLength(value)} bytes>`;
  if (value instanceof Uint8Array) return `<redacted ${value.constructor?.name ?? 'Uint8Array'} of ${value.byteLength} bytes>`;
  if (Array.isArray(value)) return `<redacted array of ${value.length} items>`;
  return `<redacted ${typeof value}>`;
}

// --- Endpoint limits (issue 9): every resource of the forwarding endpoint has a cap. ---

export interface EndpointLimitOptions {
  /** Open connections to the built-in endpoint at most. Default 1 024. */
  maxConnections?: number;
  /** Request bodies being read at once (headers verified, body not yet); beyond it, `OVERLOADED`. Default 64. */
  maxPendingBodies?: number;
  /** Time a client has to send the request headers, in ms. Default 10 000. */
  headersTimeout?: number;
  /** Time a client has to send the whole request, body included, in ms. Default 30 000. */
  requestTimeout?: number;
  /** How long an idle keep-alive connection stays open, in ms. Default 5 000. */
  keepAliveTimeout?: number;
  /** How long `close()` lets requests in flight finish before it cuts their connections, in ms. Default 2 000. */
  closeGrace?: number;
  /** Remote transactions open or waiting to begin at once; beyond it, `begin` is refused with `OVERLOADED`. Default 64. */
  maxRemoteTransactions?: number;
}

export type EndpointLimits = Readonly<Required<EndpointLimitOptions>>;

export const DEFAULT_LIMITS: EndpointLimits = Object.freeze({
  maxConnections: 1_024,
  maxPendingBodies: 64,
  headersTimeout: 10_000,
  requestTimeout: 30_000,
  keepAliveTimeout: 5_000,
  closeGrace: 2_000,
  maxRemoteTransactions: 64,
});

const LIMIT_NAMES = Object.keys(DEFAULT_LIMITS) as (keyof EndpointLimits)[];

function resolveLimits(limits: EndpointLimitOptions | undefined): EndpointLimits {
  if (limits === undefined) return DEFAULT_LIMITS;
  if (limits === null || typeof limits !== 'object' || Array.isArray(limits)) throw new ConfigError('limits', limits, 'an object');
  for (const key of Object.keys(limits)) {
    if (!(LIMIT_NAMES as string[]).includes(key)) throw new ConfigError(`limits.${key}`, (limits as Record<string, unknown>)[key], `no such limit; one of ${LIMIT_NAMES.join(', ')}`);
  }
  const pick = (name: keyof EndpointLimits, min: number, max: number): number => integer(`limits.${name}`, limits[name] ?? DEFAULT_LIMITS[name], min, max);
  const resolved = Object.freeze({
    maxConnections: pick('maxConnections', 1, 1_000_000),
    maxPendingBodies: pick('maxPendingBodies', 1, 1_000_000),
    headersTimeout: pick('headersTimeout', 100, 600_000),
    requestTimeout: pick('requestTimeout', 100, 3_600_000),
    keepAliveTimeout: pick('keepAliveTimeout', 0, 600_000),
    closeGrace: pick('closeGrace', 0, 600_000),
    maxRemoteTransactions: pick('maxRemoteTransactions', 1, 1_000_000),
  });
  if (resolved.headersTimeout > resolved.requestTimeout) {
    throw new ConfigError('limits.headersTimeout', resolved.headersTimeout, `at most \`limits.requestTimeout\` (${resolved.requestTimeout})`);
  }
  return resolved;
}
