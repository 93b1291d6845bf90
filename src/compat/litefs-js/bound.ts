import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LiteFSDatabase } from '../../database.js';
import { isLiteFSForwardError } from '../../errors.js';
import { ConsistencyGate, STALE_HEADERS, STALE_STATUS } from '../../middleware/consistency-gate.js';
import { deleteTxCookieHeader, getTxSetCookieHeader, readTxCookie, TXID_NUM_COOKIE_NAME } from './cookie.js';
import { formatTxid } from '../../util/txid.js';
import type { InstanceInfo } from './files.js';
import { getInternalInstanceDomain, getReplayResponse } from './fly.js';

export interface LiteFSJsOptions {
  /**
   * What `handleTransactionalConsistency` does when this replica has not caught up with the client's `txnum` in
   * time: `'unavailable'` (default) throws a 503 with `Retry-After: 1` and deletes the cookie; `'fly-replay'` throws
   * litefs-js's replay response, which only Fly.io's proxy acts on.
   */
  stale?: 'unavailable' | 'fly-replay';
  /** Longest wait of `handleTransactionalConsistency`, in ms. Default: the database's `readYourWritesTimeout`. */
  maxWait?: number;
  /** LiteFS's mount directory, read by `getInstanceInfoSync()` on a replica. Default `process.env.LITEFS_DIR`. */
  litefsDir?: string;
  /** Where the messages litefs-js prints go. Default `console`. */
  logger?: { error(message: string): void };
}

export type ConsistencyResult =
  | { type: 'ok' }
  | { type: 'delete-cookie'; setCookieHeader: string }
  | { type: 'replay'; flyReplayHeader: string; instance: string }
  | { type: 'stale'; setCookieHeader: string; body: string };

/** litefs-js v1's functions (root and `/remix`), answered by one litefs-forward database. See createLiteFSJs. */
export interface LiteFSJs {
  readonly TXID_NUM_COOKIE_NAME: typeof TXID_NUM_COOKIE_NAME;
  getInstanceInfo(): Promise<InstanceInfo>;
  getInstanceInfoSync(): InstanceInfo;
  getTxNumber(): Promise<number>;
  getTxSetCookieHeader: typeof getTxSetCookieHeader;
  waitForUpToDateTxNumber(clientTxNumber: number | bigint, options?: { timeoutMs?: number; signal?: AbortSignal }): Promise<boolean>;
  checkCookieForTransactionalConsistency(cookieHeader: string | null | undefined): Promise<ConsistencyResult>;
  handleTransactionalConsistency(request: Request): Promise<{ type: 'ok' } | { type: 'delete-cookie'; setCookieHeader: string }>;
  appendTxNumberCookie(request: Request, headers: Headers): Promise<void>;
  ensurePrimary(): Promise<true>;
  requirePrimary(): Promise<true>;
  ensureInstance(instance: string): Promise<true>;
  getReplayResponse: typeof getReplayResponse;
  getInternalInstanceDomain: typeof getInternalInstanceDomain;
}

const MUTATIONS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

function isWriter(db: LiteFSDatabase): boolean {
  return db.role === 'primary' || db.role === 'standalone';
}

function txNumberOf(db: LiteFSDatabase): bigint {
  const txid = db.txid;
  return txid === undefined ? 0n : BigInt(`0x${txid}`);
}

/**
 * Binds litefs-js's API to a litefs-forward database. Writes on a replica are forwarded by the database, so
 * `ensurePrimary()` no longer replays anything; read-your-writes waits on the database's replication position.
 * One binding per database; nothing is shared between bindings.
 */
export function createLiteFSJs(db: LiteFSDatabase, options: LiteFSJsOptions = {}): LiteFSJs {
  const { stale = 'unavailable', litefsDir = process.env.LITEFS_DIR, logger = console } = options;
  // The middleware's gate: the same wait, the same timeout error and the same 503 body as litefs-forward/middleware.
  const gate = new ConsistencyGate(db, { cookieName: false, ...(options.maxWait !== undefined ? { maxWait: options.maxWait } : {}) });

  const getInstanceInfo = async (): Promise<InstanceInfo> => {
    const status = await db.status();
    const currentIsPrimary = status.role === 'primary' || status.role === 'standalone';
    // No primary known (an election, a disconnected replica): an empty name, never "this node" as litefs-js guesses.
    const primaryInstance = status.primary?.hostname ?? (currentIsPrimary ? status.hostname : '');
    return { primaryInstance, currentInstance: status.hostname, currentIsPrimary };
  };

  const getInstanceInfoSync = (): InstanceInfo => {
    const currentInstance = db.hostname;
    if (isWriter(db)) return { primaryInstance: currentInstance, currentInstance, currentIsPrimary: true };
    let primaryInstance = '';
    if (litefsDir) {
      try {
        primaryInstance = readFileSync(join(litefsDir, '.primary'), 'utf8').trim();
      } catch {}
    }
    return { primaryInstance, currentInstance, currentIsPrimary: false };
  };

  const waitForUpToDateTxNumber = async (clientTxNumber: number | bigint, { timeoutMs = 500, signal }: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<boolean> => {
    try {
      await db.waitForTxid(formatTxid(BigInt(clientTxNumber)), { timeout: timeoutMs, ...(signal ? { signal } : {}) });
      return true;
    } catch (error) {
      if (isLiteFSForwardError(error) && error.code === 'READ_YOUR_WRITES_TIMEOUT') return false;
      throw error;
    }
  };

  const checkCookieForTransactionalConsistency = async (cookieHeader: string | null | undefined): Promise<ConsistencyResult> => {
    const cookie = readTxCookie(cookieHeader);
    if (cookie.kind === 'absent') return { type: 'ok' };
    if (cookie.kind === 'invalid') {
      logger.error(`Invalid tx number in cookie: ${cookie.raw}. Deleting cookie.`);
      return { type: 'delete-cookie', setCookieHeader: deleteTxCookieHeader() };
    }
    if (isWriter(db)) {
      const current = txNumberOf(db);
      // After a failover the new primary's TXIDs can be lower than the old one's: the cookie names another lineage.
      if (cookie.value > current) logger.error(`User somehow had a newer tx number (${cookie.value}) than the primary instance (${current}). Deleting cookie.`);
      return { type: 'delete-cookie', setCookieHeader: deleteTxCookieHeader() };
    }
    const outcome = await gate.wait(formatTxid(cookie.value));
    if (outcome.ok) return { type: 'delete-cookie', setCookieHeader: deleteTxCookieHeader() };
    if (stale === 'fly-replay') {
      const { primaryInstance } = await getInstanceInfo();
      if (primaryInstance !== '') return { type: 'replay', flyReplayHeader: `instance=${primaryInstance}`, instance: primaryInstance };
    }
    // The cookie goes too: a TXID from a lost lineage would otherwise keep this client waiting until it expires.
    return { type: 'stale', setCookieHeader: deleteTxCookieHeader(), body: outcome.body ?? '' };
  };

  return Object.freeze({
    TXID_NUM_COOKIE_NAME,
    getInstanceInfo,
    getInstanceInfoSync,
    getTxNumber: async () => Number(txNumberOf(db)),
    getTxSetCookieHeader,
    waitForUpToDateTxNumber,
    checkCookieForTransactionalConsistency,
    async handleTransactionalConsistency(request: Request) {
      const result = await checkCookieForTransactionalConsistency(request.headers.get('Cookie'));
      if (result.type === 'replay') throw getReplayResponse(result.instance);
      if (result.type === 'stale') {
        throw new Response(result.body, { status: STALE_STATUS, headers: { ...STALE_HEADERS, 'set-cookie': result.setCookieHeader } });
      }
      return result;
    },
    async appendTxNumberCookie(request: Request, headers: Headers) {
      if (!MUTATIONS.has(request.method.toUpperCase())) return;
      // litefs-js sets it on the primary only, because a replica could not write. Here a replica's write was
      // forwarded and, with readYourWrites (the default), replicated before it returned: its local TXID covers it.
      headers.append('Set-Cookie', getTxSetCookieHeader(Number(txNumberOf(db))));
    },
    // Writes through `db` (and the adapters built on it) are forwarded from a replica: nothing to replay.
    ensurePrimary: async () => true as const,
    async requirePrimary() {
      const { currentIsPrimary, primaryInstance } = await getInstanceInfo();
      if (currentIsPrimary) return true as const;
      if (primaryInstance === '') {
        const body = JSON.stringify({ error: { code: 'PRIMARY_UNAVAILABLE', message: 'No primary is known right now (an election may be under way). Retry shortly.' } });
        throw new Response(body, { status: STALE_STATUS, headers: STALE_HEADERS });
      }
      throw getReplayResponse(primaryInstance);
    },
    async ensureInstance(instance: string) {
      if (instance === db.hostname) return true as const;
      throw getReplayResponse(instance);
    },
    getReplayResponse,
    getInternalInstanceDomain,
  });
}
