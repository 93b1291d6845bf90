import type { DriverName } from '../../src/config.js';
import type { SqliteDriver } from '../../src/sqlite/driver-types.js';
import { loadDriver } from '../../src/sqlite/drivers/index.js';

/**
 * The driver the suites open databases with: LITEFS_FORWARD_TEST_DRIVER (`npm run test:matrix` runs the suite once
 * more with `node:sqlite` on the Node lines that have it), else better-sqlite3.
 */
export const TEST_DRIVER: DriverName = process.env.LITEFS_FORWARD_TEST_DRIVER === 'node:sqlite' ? 'node:sqlite' : 'better-sqlite3';

/** Both drivers where this Node runs node:sqlite, else better-sqlite3 alone; and why node:sqlite is missing. */
export async function availableDrivers(): Promise<{ drivers: SqliteDriver[]; nodeSqliteMissing: string | undefined }> {
  const drivers = [await loadDriver('better-sqlite3')];
  try {
    drivers.push(await loadDriver('node:sqlite'));
    return { drivers, nodeSqliteMissing: undefined };
  } catch (error) {
    return { drivers, nodeSqliteMissing: (error as Error).message };
  }
}
