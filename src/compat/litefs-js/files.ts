import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { readPositionFile } from '../../detection/litefs-files.js';
import { parseTxid } from '../../util/txid.js';
import { sleep } from '../../util/abort.js';

/** What litefs-js's `getInstanceInfo()` returns. */
export interface InstanceInfo {
  /** The primary's hostname. */
  primaryInstance: string;
  /** This node's hostname. */
  currentInstance: string;
  currentIsPrimary: boolean;
}

export interface WaitForUpToDateTxNumberOptions {
  /** LiteFS's mount directory (`fuse.dir`). Default `process.env.LITEFS_DIR`. */
  litefsDir?: string;
  /** The database file name in the mount. Default `process.env.DATABASE_FILENAME`. */
  databaseFilename?: string;
  /** Longest wait in ms. Default 500, as litefs-js. */
  timeoutMs?: number;
  /** Time between two reads of the `-pos` file in ms. Default 30, as litefs-js. */
  intervalMs?: number;
  signal?: AbortSignal;
}

function requireDir(litefsDir: string | undefined, fn: string): string {
  if (!litefsDir) throw new Error(`litefs-forward/litefs-js: LITEFS_DIR is not set. Set the LITEFS_DIR environment variable or pass litefsDir to ${fn}.`);
  return litefsDir;
}

function requireFilename(databaseFilename: string | undefined, fn: string): string {
  if (!databaseFilename) {
    throw new Error(`litefs-forward/litefs-js: DATABASE_FILENAME is not set. Set the DATABASE_FILENAME environment variable or pass databaseFilename to ${fn}.`);
  }
  return databaseFilename;
}

function info(primary: string | undefined): InstanceInfo {
  const currentInstance = hostname();
  // litefs-js's rule, kept for the unbound functions: no `.primary` file means "this node". That is wrong on a
  // replica during an election; a database bound with createLiteFSJs() answers from LiteFS's event stream instead.
  const primaryInstance = primary ?? currentInstance;
  return { primaryInstance, currentInstance, currentIsPrimary: primaryInstance === currentInstance };
}

/** litefs-js's `getInstanceInfo()`: reads `<litefsDir>/.primary`. */
export async function getInstanceInfo(litefsDir: string | undefined = process.env.LITEFS_DIR): Promise<InstanceInfo> {
  const dir = requireDir(litefsDir, 'getInstanceInfo');
  try {
    return info((await readFile(join(dir, '.primary'), 'utf8')).trim() || undefined);
  } catch {
    return info(undefined);
  }
}

/** The same as `getInstanceInfo()`, synchronously. */
export function getInstanceInfoSync(litefsDir: string | undefined = process.env.LITEFS_DIR): InstanceInfo {
  const dir = requireDir(litefsDir, 'getInstanceInfoSync');
  try {
    return info(readFileSync(join(dir, '.primary'), 'utf8').trim() || undefined);
  } catch {
    return info(undefined);
  }
}

function positionOf(litefsDir: string | undefined, databaseFilename: string | undefined, fn: string): bigint {
  const txid = readPositionFile(join(requireDir(litefsDir, fn), requireFilename(databaseFilename, fn)));
  return txid === undefined ? 0n : parseTxid(txid);
}

/** litefs-js's `getTxNumber()`: the TXID in `<litefsDir>/<databaseFilename>-pos`, or 0 when it cannot be read. */
export async function getTxNumber(litefsDir: string | undefined = process.env.LITEFS_DIR, databaseFilename: string | undefined = process.env.DATABASE_FILENAME): Promise<number> {
  return Number(positionOf(litefsDir, databaseFilename, 'getTxNumber'));
}

/**
 * litefs-js's `waitForUpToDateTxNumber()`: true once the local `-pos` TXID reaches `clientTxNumber`, false after
 * `timeoutMs`. Unlike litefs-js v1 it keeps polling until the deadline (v1's loop stops after one interval) and
 * honours `litefsDir`/`databaseFilename` on every read.
 */
export async function waitForUpToDateTxNumber(clientTxNumber: number | bigint, options: WaitForUpToDateTxNumberOptions = {}): Promise<boolean> {
  const { litefsDir = process.env.LITEFS_DIR, databaseFilename = process.env.DATABASE_FILENAME, timeoutMs = 500, intervalMs = 30, signal } = options;
  const target = BigInt(clientTxNumber);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (positionOf(litefsDir, databaseFilename, 'waitForUpToDateTxNumber') >= target) return true;
    const left = deadline - Date.now();
    if (left <= 0) return false;
    // Kept alive: a script awaiting this bounded wait must not exit with the promise pending.
    await sleep(Math.min(intervalMs, left), signal, { keepAlive: true });
  }
}

