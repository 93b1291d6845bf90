export { drizzle } from './drizzle-driver.js';
export type { LiteFSDrizzleDatabase } from './drizzle-driver.js';
export { migrate } from './drizzle-migrator.js';
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
