import { WriteScope } from '../consistency.js';
import type { LiteFSDatabase } from '../database.js';
import { isLiteFSForwardError } from '../errors.js';

export interface ConsistencyOptions {
  /** Cookie carrying the TXID of the client's last write. Default `__txid`, the name LiteFS's proxy uses; `false` for none. */
  cookieName?: string | false;
  /** Request and response header carrying the same TXID, for clients without cookies. Default `x-litefs-txid`. */
  headerName?: string;
  /** Longest wait for this replica to catch up, in ms. Default: the database's `readYourWritesTimeout`. */
  maxWait?: number;
  /** Cookie lifetime in seconds. Default 300, as LiteFS's proxy. */
  cookieMaxAge?: number;
  /** Add `Secure` to the cookie. Default false. */
  secureCookie?: boolean;
}

const TXID = /^[0-9a-f]{16}$/;

export interface WaitOutcome {
  ok: boolean;
  /** The JSON body to answer with when the wait ran out. */
  body?: string;
}

/**
 * The framework-independent part of the middleware: reads the client's TXID, waits for this node to have it,
 * and formats what to send back after a request that wrote.
 */
export class ConsistencyGate {
  readonly database: LiteFSDatabase;
  readonly cookieName: string | false;
  readonly headerName: string;
  readonly #maxWait: number;
  readonly #cookieSuffix: string;

  constructor(database: LiteFSDatabase, options: ConsistencyOptions = {}) {
    this.database = database;
    this.cookieName = options.cookieName ?? '__txid';
    this.headerName = (options.headerName ?? 'x-litefs-txid').toLowerCase();
    this.#maxWait = options.maxWait ?? database.readYourWritesTimeout;
    this.#cookieSuffix = `; Path=/; Max-Age=${options.cookieMaxAge ?? 300}; HttpOnly; SameSite=Lax${options.secureCookie ? '; Secure' : ''}`;
  }

  /** The TXID a request carries (header first, then cookie), if it is well-formed. */
  requestedTxid(cookieHeader: string | null | undefined, headerValue: string | null | undefined): string | undefined {
    if (headerValue && TXID.test(headerValue)) return headerValue;
    if (this.cookieName === false || !cookieHeader) return undefined;
    for (const part of cookieHeader.split(';')) {
      const separator = part.indexOf('=');
      if (separator !== -1 && part.slice(0, separator).trim() === this.cookieName) {
        const value = part.slice(separator + 1).trim();
        return TXID.test(value) ? value : undefined;
      }
    }
    return undefined;
  }

  async wait(txid: string | undefined, signal?: AbortSignal): Promise<WaitOutcome> {
    if (txid === undefined) return { ok: true };
    try {
      await this.database.waitForTxid(txid, { timeout: this.#maxWait, ...(signal ? { signal } : {}) });
      return { ok: true };
    } catch (error) {
      if (!isLiteFSForwardError(error) || error.code !== 'READ_YOUR_WRITES_TIMEOUT') throw error;
      const message = `This replica had not replicated your last write (TXID ${txid}) after ${this.#maxWait} ms. Retry shortly.`;
      return { ok: false, body: JSON.stringify({ error: { code: 'READ_YOUR_WRITES_TIMEOUT', message } }) };
    }
  }

  newScope(): WriteScope {
    return new WriteScope();
  }

  /** The Set-Cookie value for a request that wrote, or undefined when it did not. */
  setCookie(scope: WriteScope): string | undefined {
    if (scope.txid === undefined || this.cookieName === false) return undefined;
    return `${this.cookieName}=${scope.txid}${this.#cookieSuffix}`;
  }
}

/** Status and headers of the answer when a replica cannot catch up in time. */
export const STALE_STATUS = 503;
export const STALE_HEADERS = Object.freeze({ 'content-type': 'application/json', 'retry-after': '1' });
