export { LiteFSDialect } from './kysely-dialect.js';
export type { LiteFSDialectConfig } from './kysely-dialect-config.js';
export { executeBatch } from './kysely-batch.js';
export type { BatchResult } from './kysely-batch.js';
