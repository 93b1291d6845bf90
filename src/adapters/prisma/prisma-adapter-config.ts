import type { LiteFSDatabase } from '../../database.js';
import { ConfigError } from '../../errors.js';

/** How DateTime values are written: ISO 8601 text (Prisma's default) or integer milliseconds since the epoch. */
export const TIMESTAMP_FORMATS = ['iso8601', 'unixepoch-ms'] as const;
export type TimestampFormat = (typeof TIMESTAMP_FORMATS)[number];

/** The database, given at once or opened on first use. */
export type PrismaLiteFSDatabase = LiteFSDatabase | (() => Promise<LiteFSDatabase>);

/** Options of {@link PrismaLiteFS}, the same as @prisma/adapter-better-sqlite3's where they overlap. */
export interface PrismaLiteFSOptions {
  /**
   * How DateTime values are stored. `iso8601` (the default) is what @prisma/adapter-better-sqlite3 writes;
   * `unixepoch-ms` is what Prisma's Rust engines wrote before Prisma 7, for databases created by them.
   */
  timestampFormat?: TimestampFormat;
}

export interface ResolvedPrismaLiteFSOptions {
  readonly timestampFormat: TimestampFormat;
}

const KNOWN_OPTIONS = new Set<string>(['timestampFormat']);

export function isDatabaseSource(database: unknown): database is PrismaLiteFSDatabase {
  if (typeof database === 'function') return true;
  return typeof database === 'object' && database !== null && typeof (database as LiteFSDatabase).query === 'function' && typeof (database as LiteFSDatabase).begin === 'function';
}

export function resolveOptions(options: PrismaLiteFSOptions | undefined): ResolvedPrismaLiteFSOptions {
  if (options === undefined) return Object.freeze({ timestampFormat: 'iso8601' });
  if (options === null || typeof options !== 'object') throw new ConfigError('options', options, 'an object');
  for (const key of Object.keys(options)) {
    if (!KNOWN_OPTIONS.has(key)) throw new ConfigError(key, (options as Record<string, unknown>)[key], 'no such option; PrismaLiteFS accepts `timestampFormat`');
  }
  const timestampFormat = options.timestampFormat ?? 'iso8601';
  if (!(TIMESTAMP_FORMATS as readonly string[]).includes(timestampFormat)) {
    throw new ConfigError('timestampFormat', timestampFormat, `one of ${TIMESTAMP_FORMATS.join(', ')}`);
  }
  return Object.freeze({ timestampFormat });
}
