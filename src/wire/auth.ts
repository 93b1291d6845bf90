import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const HEADER_SIGNATURE = 'x-litefs-forward-signature';
export const HEADER_TIMESTAMP = 'x-litefs-forward-timestamp';
export const HEADER_NONCE = 'x-litefs-forward-nonce';
export const HEADER_NODE = 'x-litefs-forward-node';

const SCHEME = 'v1';

export interface SignedHeaders {
  [HEADER_SIGNATURE]: string;
  [HEADER_TIMESTAMP]: string;
  [HEADER_NONCE]: string;
  [HEADER_NODE]: string;
}

/** HMAC-SHA256 over everything that gives a request its meaning, so none of it can be altered or reused. */
function requestMac(secret: Buffer, timestamp: string, nonce: string, node: string, path: string, body: Uint8Array): Buffer {
  return createHmac('sha256', secret).update(`${SCHEME}\nreq\n${timestamp}\n${nonce}\n${node}\n${path}\n`).update(body).digest();
}

/** The response MAC binds the answer to the request's nonce, so a replica never trusts a forged or replayed answer. */
function responseMac(secret: Buffer, nonce: string, status: number, body: Uint8Array): Buffer {
  return createHmac('sha256', secret).update(`${SCHEME}\nres\n${nonce}\n${status}\n`).update(body).digest();
}

export function signRequest(secret: Buffer, node: string, path: string, body: Uint8Array, now = Date.now()): SignedHeaders {
  const timestamp = String(now);
  const nonce = randomBytes(16).toString('base64url');
  return {
    [HEADER_SIGNATURE]: `${SCHEME}=${requestMac(secret, timestamp, nonce, node, path, body).toString('base64url')}`,
    [HEADER_TIMESTAMP]: timestamp,
    [HEADER_NONCE]: nonce,
    [HEADER_NODE]: node,
  };
}

export function signResponse(secret: Buffer, nonce: string, status: number, body: Uint8Array): string {
  return `${SCHEME}=${responseMac(secret, nonce, status, body).toString('base64url')}`;
}

export function verifyResponse(secret: Buffer, nonce: string, status: number, body: Uint8Array, signature: string | undefined): boolean {
  return signature !== undefined && macEquals(signature, responseMac(secret, nonce, status, body));
}

export type Verdict = { ok: true; nonce: string; node: string } | { ok: false; reason: string };

/**
 * Checks signatures and refuses replays: a request is accepted once, within `maxSkewMs` of its timestamp.
 * Nonces are remembered for twice the skew, the longest a replayed request could still pass the timestamp check.
 */
export class RequestVerifier {
  readonly #secret: Buffer;
  readonly #maxSkewMs: number;
  readonly #maxNonces: number;
  #seen = new Map<string, number>();
  #nextSweep = 0;

  constructor(secret: Buffer, maxSkewMs: number, maxNonces = 1_000_000) {
    this.#secret = secret;
    this.#maxSkewMs = maxSkewMs;
    this.#maxNonces = maxNonces;
  }

  verify(headers: Record<string, string | string[] | undefined>, path: string, body: Uint8Array, now = Date.now()): Verdict {
    const signature = single(headers[HEADER_SIGNATURE]);
    const timestamp = single(headers[HEADER_TIMESTAMP]);
    const nonce = single(headers[HEADER_NONCE]);
    const node = single(headers[HEADER_NODE]) ?? '';
    if (signature === undefined || timestamp === undefined || nonce === undefined) return { ok: false, reason: 'the request is not signed' };
    if (!/^\d{1,16}$/.test(timestamp) || !/^[A-Za-z0-9_-]{16,64}$/.test(nonce)) return { ok: false, reason: 'malformed signature headers' };
    if (!macEquals(signature, requestMac(this.#secret, timestamp, nonce, node, path, body))) return { ok: false, reason: 'the signature does not match' };
    if (Math.abs(now - Number(timestamp)) > this.#maxSkewMs) return { ok: false, reason: 'the request timestamp is outside the accepted clock skew' };
    this.#sweep(now);
    if (this.#seen.has(nonce)) return { ok: false, reason: 'the request was already received (replayed nonce)' };
    if (this.#seen.size >= this.#maxNonces) return { ok: false, reason: 'too many requests to track for replay protection' };
    this.#seen.set(nonce, now + 2 * this.#maxSkewMs);
    return { ok: true, nonce, node };
  }

  #sweep(now: number): void {
    if (now < this.#nextSweep) return;
    this.#nextSweep = now + 1_000;
    // Map iteration is insertion order, which is close to expiry order.
    for (const [nonce, expiresAt] of this.#seen) {
      if (expiresAt > now) break;
      this.#seen.delete(nonce);
    }
  }
}

function macEquals(signature: string, expected: Buffer): boolean {
  if (!signature.startsWith(`${SCHEME}=`)) return false;
  const given = Buffer.from(signature.slice(SCHEME.length + 1), 'base64url');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? undefined : value;
}
