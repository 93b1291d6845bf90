export { PrismaLiteFS } from './prisma-adapter-factory.js';
export { TIMESTAMP_FORMATS } from './prisma-adapter-config.js';
export type { PrismaLiteFSDatabase, PrismaLiteFSOptions, TimestampFormat } from './prisma-adapter-config.js';
export type { LiteFSPrismaAdapter, LiteFSPrismaTransaction } from './prisma-adapter.js';
export { migrate } from './prisma-migrator.js';
export type { MigrateOptions, MigrateResult, MigrationClient, MigrationTransactionClient } from './prisma-migrator.js';
