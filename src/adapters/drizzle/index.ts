// litefs-forward/drizzle. The implementation imports drizzle-orm, an optional peer: loaded dynamically so that a
// missing drizzle-orm is reported by name (see ../peer.ts).
import { loadWithPeers } from '../peer.js';

export type {
  LiteFSInArgs,
  LiteFSInStatement,
  LiteFSInValue,
  LiteFSLibSQLClient,
  LiteFSLibSQLTransaction,
  LiteFSResultSet,
  LiteFSRow,
  LiteFSTransactionMode,
  LiteFSValue,
} from './drizzle-client.js';
export type { LiteFSDrizzleDatabase } from './drizzle-driver.js';

const implementation = await loadWithPeers('litefs-forward/drizzle', ['drizzle-orm'], () => import('./drizzle-exports.js'));

export const drizzle: typeof import('./drizzle-exports.js').drizzle = implementation.drizzle;
export const migrate: typeof import('./drizzle-exports.js').migrate = implementation.migrate;
