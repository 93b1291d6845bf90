// litefs-forward/kysely. The implementation imports kysely, an optional peer: loaded dynamically so that a missing
// kysely is reported by name (see ../peer.ts). The types need kysely's types, as any use of this subpath does.
import { loadWithPeers } from '../peer.js';

export type { BatchResult } from './kysely-batch.js';
export type { LiteFSDialectConfig } from './kysely-dialect-config.js';

const implementation = await loadWithPeers('litefs-forward/kysely', ['kysely'], () => import('./kysely-exports.js'));

export const LiteFSDialect: typeof import('./kysely-exports.js').LiteFSDialect = implementation.LiteFSDialect;
export type LiteFSDialect = import('./kysely-exports.js').LiteFSDialect;
export const executeBatch: typeof import('./kysely-exports.js').executeBatch = implementation.executeBatch;
