/**
 * LiteFS TXIDs. A TXID is a uint64: LiteFS writes it as 16 lowercase hex digits (`-pos`, `tx` events), and so do
 * litefs-forward's answers and cookies. It is parsed as a bigint and compared as one, never as a JS number.
 */
export const TXID_PATTERN = /^[0-9a-f]{16}$/;

/** True for 16 lowercase hex digits. */
export function isTxid(value: unknown): value is string {
  return typeof value === 'string' && TXID_PATTERN.test(value);
}

/** The TXID's value. Pass only what `isTxid` accepted. */
export function parseTxid(txid: string): bigint {
  return BigInt(`0x${txid}`);
}

/** 16 hex digits, the form LiteFS writes. */
export function formatTxid(value: bigint): string {
  return value.toString(16).padStart(16, '0');
}

/** -1, 0 or 1, by value. */
export function compareTxid(a: string, b: string): number {
  const x = parseTxid(a);
  const y = parseTxid(b);
  return x < y ? -1 : x > y ? 1 : 0;
}
