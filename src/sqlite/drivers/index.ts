import type { DriverName } from '../../config.js';
import type { SqliteDriver } from '../driver-types.js';
import { loadBetterSqlite3 } from './better-sqlite3.js';
import { loadNodeSqlite } from './node-sqlite.js';

/** The driver `name`, imported now: better-sqlite3 is an optional peer, node:sqlite needs Node 24 or later. */
export async function loadDriver(name: DriverName): Promise<SqliteDriver> {
  if (name === 'node:sqlite') return loadNodeSqlite();
  try {
    return await loadBetterSqlite3();
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'ERR_MODULE_NOT_FOUND' || !/'better-sqlite3'/.test((error as Error).message)) throw error;
    throw Object.assign(
      new Error(
        "litefs-forward's driver is better-sqlite3 (the option `driver`, default 'better-sqlite3'), which is not installed where litefs-forward can import it. " +
          "Install it beside litefs-forward (npm install better-sqlite3), or on Node 24 or later set driver: 'node:sqlite'.",
        { cause: error },
      ),
      { code: 'ERR_MODULE_NOT_FOUND', packageName: 'better-sqlite3' },
    );
  }
}
