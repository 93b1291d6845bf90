export { drizzle } from './drizzle-driver.js';
export type { LiteFSDrizzleDatabase } from './drizzle-driver.js';
export { migrate } from './drizzle-migrator.js';
export { LiteFSLibSQLClient, LiteFSLibSQLTransaction } from './drizzle-client.js';
export type {
  LiteFSInArgs,
  LiteFSInStatement,
  LiteFSInValue,
  LiteFSResultSet,
  LiteFSRow,
  LiteFSTransactionMode,
  LiteFSValue,
} from './drizzle-client.js';
