// litefs-forward/prisma. The implementation imports @prisma/driver-adapter-utils, an optional peer: loaded
// dynamically so that a missing package is reported by name (see ../peer.ts).
import { loadWithPeers } from '../peer.js';

export type { PrismaLiteFSDatabase, PrismaLiteFSOptions, TimestampFormat } from './prisma-adapter-config.js';
export type { LiteFSPrismaAdapter, LiteFSPrismaTransaction } from './prisma-adapter.js';
export type { MigrateOptions, MigrateResult, MigrationClient, MigrationTransactionClient } from './prisma-migrator.js';

const implementation = await loadWithPeers('litefs-forward/prisma', ['@prisma/driver-adapter-utils', '@prisma/client'], () => import('./prisma-exports.js'));

export const PrismaLiteFS: typeof import('./prisma-exports.js').PrismaLiteFS = implementation.PrismaLiteFS;
export type PrismaLiteFS = import('./prisma-exports.js').PrismaLiteFS;
export const TIMESTAMP_FORMATS: typeof import('./prisma-exports.js').TIMESTAMP_FORMATS = implementation.TIMESTAMP_FORMATS;
export const migrate: typeof import('./prisma-exports.js').migrate = implementation.migrate;
