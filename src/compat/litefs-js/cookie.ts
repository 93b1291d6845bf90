/** The cookie litefs-js v1 carries the client's last TXID in, as a decimal number. Kept so existing cookies still work. */
export const TXID_NUM_COOKIE_NAME = 'txnum';

/** The cookie attributes litefs-js lets callers override (the `cookie` package's names). */
export interface TxCookieOptions {
  path?: string;
  domain?: string;
  httpOnly?: boolean;
  secure?: boolean;
  sameSite?: 'lax' | 'strict' | 'none' | boolean;
  maxAge?: number;
  expires?: Date;
}

/**
 * A `Set-Cookie` value for the `txnum` cookie. Defaults as litefs-js: `Path=/; HttpOnly; Secure; SameSite=Lax`.
 */
export function getTxSetCookieHeader(value: number, options: TxCookieOptions = {}): string {
  const o = { path: '/', httpOnly: true, sameSite: 'lax' as TxCookieOptions['sameSite'], secure: true, ...options };
  const parts = [`${TXID_NUM_COOKIE_NAME}=${String(value)}`];
  if (o.maxAge !== undefined) parts.push(`Max-Age=${Math.floor(o.maxAge)}`);
  if (o.domain !== undefined) parts.push(`Domain=${o.domain}`);
  if (o.path !== undefined) parts.push(`Path=${o.path}`);
  if (o.expires !== undefined) parts.push(`Expires=${o.expires.toUTCString()}`);
  if (o.httpOnly) parts.push('HttpOnly');
  if (o.secure) parts.push('Secure');
  // The `cookie` package's attribute order, so headers compare equal to litefs-js's.
  if (o.sameSite === true || o.sameSite === 'strict') parts.push('SameSite=Strict');
  else if (o.sameSite === 'lax') parts.push('SameSite=Lax');
  else if (o.sameSite === 'none') parts.push('SameSite=None');
  return parts.join('; ');
}

/** The header that deletes the cookie, exactly as litefs-js sends it. */
export function deleteTxCookieHeader(): string {
  return getTxSetCookieHeader(0, { expires: new Date(0) });
}

/** What a request's `txnum` cookie says: absent, not a TXID (to be deleted), or a TXID. */
export type TxCookie = { kind: 'absent' } | { kind: 'invalid'; raw: string } | { kind: 'txid'; value: bigint };

export function readTxCookie(cookieHeader: string | null | undefined): TxCookie {
  if (!cookieHeader) return { kind: 'absent' };
  for (const part of cookieHeader.split(';')) {
    const separator = part.indexOf('=');
    if (separator === -1 || part.slice(0, separator).trim() !== TXID_NUM_COOKIE_NAME) continue;
    const raw = decodeURIComponent(part.slice(separator + 1).trim());
    // Decimal only: litefs-js writes `String(number)`. BigInt keeps TXIDs above 2^53 exact.
    return /^\d{1,20}$/.test(raw) ? { kind: 'txid', value: BigInt(raw) } : { kind: 'invalid', raw };
  }
  return { kind: 'absent' };
}

