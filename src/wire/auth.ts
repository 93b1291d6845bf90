import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const HEADER_SIGNATURE = 'x-litefs-forward-signature';
export const HEADER_TIMESTAMP = 'x-litefs-forward-timestamp';
export const HEADER_NONCE = 'x-litefs-forward-nonce';
export const HEADER_NODE = 'x-litefs-forward-node';
/** SHA-256 of the body, base64url. Signed with the length, so the headers authenticate the body before it is read. */
export const HEADER_DIGEST = 'x-litefs-forward-digest';

const SCHEME = 'v2';
const METHOD = 'POST';

export interface SignedHeaders {
  [HEADER_SIGNATURE]: string;
  [HEADER_TIMESTAMP]: string;
  [HEADER_NONCE]: string;
  [HEADER_NODE]: string;
  [HEADER_DIGEST]: string;
  'content-length': string;
}

export function bodyDigest(body: Uint8Array): string {
  return createHash('sha256').update(body).digest('base64url');
}

/**
 * HMAC-SHA256 over everything that gives a request its meaning: method, path, time, nonce, sender, and the body's
 * exact length and digest. The headers alone can then be verified before a single body byte is read.
 */
function requestMac(secret: Buffer, method: string, path: string, timestamp: string, nonce: string, node: string, length: number, digest: string): Buffer {
  return createHmac('sha256', secret).update(`${SCHEME}\nreq\n${method}\n${path}\n${timestamp}\n${nonce}\n${node}\n${length}\n${digest}`).digest();
}

/** The response MAC binds the answer (status, length, digest) to the request's nonce: no forged or replayed answer passes. */
function responseMac(secret: Buffer, nonce: string, status: number, length: number, digest: string): Buffer {
  return createHmac('sha256', secret).update(`${SCHEME}\nres\n${nonce}\n${status}\n${length}\n${digest}`).digest();
}

export function signRequest(secret: Buffer, node: string, path: string, body: Uint8Array, now = Date.now()): SignedHeaders {
  const timestamp = String(now);
  const nonce = randomBytes(16).toString('base64url');
  const digest = bodyDigest(body);
  return {
    [HEADER_SIGNATURE]: `${SCHEME}=${requestMac(secret, METHOD, path, timestamp, nonce, node, body.length, digest).toString('base64url')}`,
    [HEADER_TIMESTAMP]: timestamp,
    [HEADER_NONCE]: nonce,
    [HEADER_NODE]: node,
    [HEADER_DIGEST]: digest,
    'content-length': String(body.length),
  };
}

/** The headers of a signed answer: its signature, its digest and its length. */
export function signResponse(secret: Buffer, nonce: string, status: number, body: Uint8Array): { signature: string; digest: string } {
  const digest = bodyDigest(body);
  return { signature: `${SCHEME}=${responseMac(secret, nonce, status, body.length, digest).toString('base64url')}`, digest };
}

/** Verifies an answer's headers before its body is read: the length it declares is then authentic and can cap the read. */
export function verifyResponseHeaders(secret: Buffer, nonce: string, status: number, headers: Record<string, string | string[] | undefined>): { length: number; digest: string } | undefined {
  const signature = single(headers[HEADER_SIGNATURE]);
  const digest = single(headers[HEADER_DIGEST]);
  const length = parseLength(single(headers['content-length']));
  if (signature === undefined || digest === undefined || length === undefined || !DIGEST.test(digest)) return undefined;
  return macEquals(signature, responseMac(secret, nonce, status, length, digest)) ? { length, digest } : undefined;
}

/** Whole-answer check, for callers that hold the body already. */
export function verifyResponse(secret: Buffer, nonce: string, status: number, body: Uint8Array, signature: string | undefined, digest = bodyDigest(body)): boolean {
  return (
    signature !== undefined && digest === bodyDigest(body) && macEquals(signature, responseMac(secret, nonce, status, body.length, digest))
  );
}

export type HeaderVerdict = { ok: true; nonce: string; node: string; length: number; digest: string } | { ok: false; reason: string };
export type Verdict = { ok: true; nonce: string; node: string } | { ok: false; reason: string };

const DIGEST = /^[A-Za-z0-9_-]{43}$/;

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

  /**
   * Verifies the headers alone (method, path, time, nonce, node, length, digest) and spends the nonce. The body is
   * authentic only once its length and SHA-256 match the ones returned here.
   */
  verifyHeaders(headers: Record<string, string | string[] | undefined>, method: string, path: string, now = Date.now()): HeaderVerdict {
    const signature = single(headers[HEADER_SIGNATURE]);
    const timestamp = single(headers[HEADER_TIMESTAMP]);
    const nonce = single(headers[HEADER_NONCE]);
    const digest = single(headers[HEADER_DIGEST]);
    const node = single(headers[HEADER_NODE]) ?? '';
    const length = parseLength(single(headers['content-length']));
    if (signature === undefined || timestamp === undefined || nonce === undefined || digest === undefined) return { ok: false, reason: 'the request is not signed' };
    if (!/^\d{1,16}$/.test(timestamp) || !/^[A-Za-z0-9_-]{16,64}$/.test(nonce) || !DIGEST.test(digest) || node.length > 256) {
      return { ok: false, reason: 'malformed signature headers' };
    }
    if (length === undefined) return { ok: false, reason: 'the request has no valid content-length' };
    if (!macEquals(signature, requestMac(this.#secret, method, path, timestamp, nonce, node, length, digest))) return { ok: false, reason: 'the signature does not match' };
    if (Math.abs(now - Number.parseInt(timestamp, 10)) > this.#maxSkewMs) return { ok: false, reason: 'the request timestamp is outside the accepted clock skew' };
    this.#sweep(now);
    if (this.#seen.has(nonce)) return { ok: false, reason: 'the request was already received (replayed nonce)' };
    if (this.#seen.size >= this.#maxNonces) return { ok: false, reason: 'too many requests to track for replay protection' };
    this.#seen.set(nonce, now + 2 * this.#maxSkewMs);
    return { ok: true, nonce, node, length, digest };
  }

  /** Headers and a body already in hand (POST). */
  verify(headers: Record<string, string | string[] | undefined>, path: string, body: Uint8Array, now = Date.now()): Verdict {
    const verdict = this.verifyHeaders({ 'content-length': String(body.length), ...headers }, METHOD, path, now);
    if (!verdict.ok) return verdict;
    if (verdict.length !== body.length || verdict.digest !== bodyDigest(body)) return { ok: false, reason: 'the body does not match its signed length and digest' };
    return { ok: true, nonce: verdict.nonce, node: verdict.node };
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

function parseLength(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d{1,15}$/.test(value)) return undefined;
  return Number.parseInt(value, 10);
}

function macEquals(signature: string, expected: Buffer): boolean {
  if (!signature.startsWith(`${SCHEME}=`)) return false;
  const given = Buffer.from(signature.slice(SCHEME.length + 1), 'base64url');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? undefined : value;
}
