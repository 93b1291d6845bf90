import { WriteScope } from '../consistency.js';
import type { LiteFSDatabase } from '../database.js';
import { isLiteFSForwardError, LiteFSForwardError } from '../errors.js';
import { isTxid } from '../util/txid.js';

/** A token's position: a bare TXID (LiteFS's proxy cookie), or `txid.checksum`, which names the commit's lineage. */
const POSITION_TOKEN = /^([0-9a-f]{16})(?:\.([0-9a-f]{16}))?$/;

export interface ConsistencyOptions {
  /** Cookie carrying the TXID of the client's last write. Default `__txid`, the name LiteFS's proxy uses; `false` for none. */
  cookieName?: string | false;
  /** Request and response header carrying the same TXID, for clients without cookies. Default `x-litefs-txid`. */
  headerName?: string;
  /** Longest wait for this replica to catch up, in ms. Default: the first database's `readYourWritesTimeout`. */
  maxWait?: number;
  /** Cookie lifetime in seconds. Default 300, as LiteFS's proxy. */
  cookieMaxAge?: number;
  /** Add `Secure` to the cookie. Default false. */
  secureCookie?: boolean;
}

/** One database, or several (an app with `sqlite.db` and `cache.db`): the token then carries a TXID per database. */
export type ConsistencyDatabases = LiteFSDatabase | readonly LiteFSDatabase[];

export interface WaitOutcome {
  ok: boolean;
  /** The status to answer with when not ok: 503 when the wait ran out, 409 when the token's commit is lost. */
  status?: number;
  /** The JSON body to answer with when not ok. */
  body?: string;
}

/** The position a request asks for, per database: `txid` or `txid.checksum`. */
export type RequestedPositions = ReadonlyMap<LiteFSDatabase, string>;

/** What one request wrote, per database, on top of what it asked for. */
export class RequestScope {
  readonly requested: RequestedPositions;
  readonly writes: ReadonlyMap<LiteFSDatabase, WriteScope>;

  constructor(databases: readonly LiteFSDatabase[], requested: RequestedPositions) {
    this.requested = requested;
    this.writes = new Map(databases.map((database) => [database, new WriteScope()]));
  }

  /** True when the request wrote to at least one database. */
  get wrote(): boolean {
    for (const scope of this.writes.values()) if (scope.txid !== undefined) return true;
    return false;
  }
}

/**
 * The framework-independent part of the middleware: reads the client's token, waits for this node to have it,
 * and formats what to send back after a request that wrote. With one database the token is the bare TXID, as
 * LiteFS's proxy writes it. With several it is `name=txid&name=txid` (URL-encoded, one pair per database), and a
 * bare TXID refers to the first database.
 */
export class ConsistencyGate {
  readonly databases: readonly LiteFSDatabase[];
  readonly cookieName: string | false;
  readonly headerName: string;
  readonly #maxWait: number;
  readonly #cookieSuffix: string;

  constructor(databases: ConsistencyDatabases, options: ConsistencyOptions = {}) {
    this.databases = Array.isArray(databases) ? [...databases] : [databases as LiteFSDatabase];
    const first = this.databases[0];
    if (first === undefined) throw new LiteFSForwardError('CONFIG_INVALID', 'The consistency middleware got no database; pass one database or an array of them.');
    const names = new Set<string>();
    for (const database of this.databases) {
      if (names.has(database.databaseName)) {
        throw new LiteFSForwardError('CONFIG_INVALID', `The consistency middleware got two databases named ${JSON.stringify(database.databaseName)}; each needs its own file name, since the token is keyed by it.`);
      }
      names.add(database.databaseName);
    }
    this.cookieName = options.cookieName ?? '__txid';
    this.headerName = (options.headerName ?? 'x-litefs-txid').toLowerCase();
    this.#maxWait = options.maxWait ?? first.readYourWritesTimeout;
    this.#cookieSuffix = `; Path=/; Max-Age=${options.cookieMaxAge ?? 300}; HttpOnly; SameSite=Lax${options.secureCookie ? '; Secure' : ''}`;
  }

  /** The first database: the one a bare TXID refers to. */
  get database(): LiteFSDatabase {
    return this.databases[0]!;
  }

  /** The TXIDs a request carries (header first, then cookie); a malformed token counts as none. */
  requested(cookieHeader: string | null | undefined, headerValue: string | null | undefined): RequestedPositions {
    const fromHeader = headerValue ? this.#parse(headerValue) : undefined;
    if (fromHeader !== undefined && fromHeader.size > 0) return fromHeader;
    if (this.cookieName === false || !cookieHeader) return new Map();
    for (const part of cookieHeader.split(';')) {
      const separator = part.indexOf('=');
      if (separator !== -1 && part.slice(0, separator).trim() === this.cookieName) return this.#parse(part.slice(separator + 1).trim());
    }
    return new Map();
  }

  /** Waits until this node has every requested TXID, each database in parallel, within one shared deadline. */
  async wait(requested: RequestedPositions | string | undefined, signal?: AbortSignal): Promise<WaitOutcome> {
    const positions = typeof requested === 'string' ? new Map([[this.database, requested]]) : (requested ?? new Map<LiteFSDatabase, string>());
    const waits = [...positions].map(async ([database, token]): Promise<{ code: string; message: string } | undefined> => {
      const [, txid, checksum] = POSITION_TOKEN.exec(token) ?? [];
      if (!isTxid(txid)) return undefined;
      const where = this.databases.length > 1 ? ` in ${database.databaseName}` : '';
      try {
        await database.waitForTxid(txid, { timeout: this.#maxWait, ...(signal ? { signal } : {}), ...(checksum ? { checksum } : {}) });
        return undefined;
      } catch (error) {
        if (isLiteFSForwardError(error) && error.code === 'BOOKMARK_LOST') return { code: 'BOOKMARK_LOST', message: `Your last write${where} (TXID ${txid}) was lost in a failover. Make it again if it still applies.` };
        if (!isLiteFSForwardError(error) || error.code !== 'READ_YOUR_WRITES_TIMEOUT') throw error;
        return { code: 'READ_YOUR_WRITES_TIMEOUT', message: `This replica had not replicated your last write${where} (TXID ${txid}) after ${this.#maxWait} ms. Retry shortly.` };
      }
    });
    const failures = (await Promise.all(waits)).filter((failure) => failure !== undefined);
    // A lost write outranks a slow one: retrying would not help it.
    const failure = failures.find((f) => f.code === 'BOOKMARK_LOST') ?? failures[0];
    if (failure === undefined) return { ok: true };
    return { ok: false, status: failure.code === 'BOOKMARK_LOST' ? LOST_STATUS : STALE_STATUS, body: JSON.stringify({ error: failure }) };
  }

  begin(requested: RequestedPositions = new Map()): RequestScope {
    return new RequestScope(this.databases, requested);
  }

  /** Runs `fn` with every database reporting its writes into `scope`. */
  run<T>(scope: RequestScope, fn: () => T): T {
    let call = fn;
    for (const [database, writes] of scope.writes) {
      const inner = call;
      call = () => database.runInWriteScope(writes, inner);
    }
    return call();
  }

  /** The token to send back after a request that wrote (header value and cookie value), or undefined. */
  token(scope: RequestScope): string | undefined {
    if (!scope.wrote) return undefined;
    const written = (database: LiteFSDatabase): string | undefined => {
      const writes = scope.writes.get(database);
      if (writes?.txid === undefined) return undefined;
      return writes.checksum === undefined ? writes.txid : `${writes.txid}.${writes.checksum}`;
    };
    if (this.databases.length === 1) return written(this.database);
    // Keeps the positions the client already had for databases this request did not write.
    const pairs = new URLSearchParams();
    for (const database of this.databases) {
      const position = written(database) ?? scope.requested.get(database);
      if (position !== undefined) pairs.set(database.databaseName, position);
    }
    return pairs.toString();
  }

  /** The Set-Cookie value for a request that wrote, or undefined when it did not. */
  setCookie(scope: RequestScope): string | undefined {
    const token = this.token(scope);
    if (token === undefined || this.cookieName === false) return undefined;
    return `${this.cookieName}=${token}${this.#cookieSuffix}`;
  }

  #parse(value: string): Map<LiteFSDatabase, string> {
    if (POSITION_TOKEN.test(value)) return new Map([[this.database, value]]);
    const positions = new Map<LiteFSDatabase, string>();
    if (this.databases.length === 1 || value.length > 4096) return positions;
    const pairs = new URLSearchParams(value);
    for (const database of this.databases) {
      const position = pairs.get(database.databaseName);
      if (position !== null && POSITION_TOKEN.test(position)) positions.set(database, position);
    }
    return positions;
  }
}

/** Status and headers of the answer when a replica cannot catch up in time. */
export const STALE_STATUS = 503;
/** Status of the answer when the token's commit was lost in a failover (same headers, minus the use of retrying). */
export const LOST_STATUS = 409;
export const STALE_HEADERS = Object.freeze({ 'content-type': 'application/json', 'retry-after': '1' });
