import { createHash, randomUUID } from 'node:crypto';
import type { Dirent } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError } from '../../errors.js';
import { splitStatements } from './prisma-script.js';

/** What {@link migrate} needs of a transaction client: Prisma's raw queries. */
export interface MigrationTransactionClient {
  $executeRawUnsafe(query: string, ...values: unknown[]): PromiseLike<number>;
  $queryRawUnsafe<T = unknown>(query: string, ...values: unknown[]): PromiseLike<T>;
}

/** What {@link migrate} needs of a PrismaClient: interactive transactions. */
export interface MigrationClient {
  $transaction<R>(fn: (tx: MigrationTransactionClient) => Promise<R>, options?: { maxWait?: number; timeout?: number }): Promise<R>;
}

export interface MigrateOptions {
  /** The folder `prisma migrate dev` writes (usually `prisma/migrations`): one `<name>/migration.sql` per migration. */
  migrationsFolder: string;
  /** How long the whole run may take, in ms: the transaction's `timeout`. Defaults to 300 000. */
  timeout?: number;
  /** How long to wait for the primary's write lock, held by another node's run for instance: `maxWait`. Defaults to 60 000. */
  maxWait?: number;
}

export interface MigrateResult {
  /** The migrations this call applied, in order; empty when the database was up to date. */
  applied: string[];
}

const TABLE = '"_prisma_migrations"';

// Prisma Migrate's own table, as its SQLite schema engine creates it, so that `prisma migrate status` and
// `prisma migrate deploy` (where a schema engine is available) see these migrations as applied.
const CREATE_TABLE = `CREATE TABLE IF NOT EXISTS ${TABLE} (
    "id"                    TEXT PRIMARY KEY NOT NULL,
    "checksum"              TEXT NOT NULL,
    "finished_at"           DATETIME,
    "migration_name"        TEXT NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        DATETIME,
    "started_at"            DATETIME NOT NULL DEFAULT current_timestamp,
    "applied_steps_count"   INTEGER UNSIGNED NOT NULL DEFAULT 0
)`;

interface LocalMigration {
  name: string;
  script: string;
  checksum: string;
}

/**
 * Applies the migrations of a Prisma Migrate folder that the database does not have yet, like
 * `prisma migrate deploy` but without Prisma's schema engine (a native binary that `prisma migrate` downloads):
 * each `migration.sql` runs through `prisma`, the PrismaClient on litefs-forward, and is recorded in Prisma's
 * `_prisma_migrations` table with Prisma's checksum.
 *
 * Safe when every node runs it at start-up: the check of what has been applied and the migrations themselves run
 * in one transaction on the primary, which holds its write lock, so each migration runs exactly once and a
 * failed one leaves nothing behind. Prisma's table rebuilds (`PRAGMA foreign_keys=OFF` has no effect inside a
 * transaction) rely on the `PRAGMA defer_foreign_keys=ON` Prisma writes before them. From a replica the run is a
 * remote transaction, which the primary also ends after its `transactionTimeout` (60 s by default).
 */
export async function migrate(prisma: MigrationClient, options: MigrateOptions): Promise<MigrateResult> {
  if (options === null || typeof options !== 'object' || typeof options.migrationsFolder !== 'string' || options.migrationsFolder === '') {
    throw new ConfigError('migrationsFolder', (options as Partial<MigrateOptions> | null)?.migrationsFolder, 'the path of the Prisma migrations folder');
  }
  const timeout = positive('timeout', options.timeout ?? 300_000);
  const maxWait = positive('maxWait', options.maxWait ?? 60_000);
  const migrations = await readMigrations(options.migrationsFolder);
  return prisma.$transaction(
    async (tx) => {
      await tx.$executeRawUnsafe(CREATE_TABLE);
      const rows = await tx.$queryRawUnsafe<{ migration_name: string; finished_at: unknown; rolled_back_at: unknown }[]>(
        `SELECT migration_name, finished_at, rolled_back_at FROM ${TABLE}`,
      );
      const failed = rows.find((row) => row.finished_at === null && row.rolled_back_at === null);
      if (failed !== undefined) {
        throw new Error(
          `The migration \`${failed.migration_name}\` started but never finished (recorded by another tool). Repair the database and mark it with \`prisma migrate resolve\` before migrating again.`,
        );
      }
      const done = new Set(rows.filter((row) => row.finished_at !== null).map((row) => row.migration_name));
      const applied: string[] = [];
      for (const migration of migrations) {
        if (done.has(migration.name)) continue;
        const startedAt = BigInt(Date.now());
        const statements = splitStatements(migration.script);
        for (const statement of statements) await tx.$executeRawUnsafe(statement);
        // Prisma's engines store DateTime as epoch milliseconds in this table.
        await tx.$executeRawUnsafe(
          `INSERT INTO ${TABLE} ("id", "checksum", "finished_at", "migration_name", "logs", "rolled_back_at", "started_at", "applied_steps_count") VALUES (?, ?, ?, ?, NULL, NULL, ?, ?)`,
          randomUUID(),
          migration.checksum,
          BigInt(Date.now()),
          migration.name,
          startedAt,
          1n,
        );
        applied.push(migration.name);
      }
      return { applied };
    },
    { timeout, maxWait },
  );
}

/** The folder's migrations in Prisma's order (by folder name), each with Prisma's checksum of its script. */
async function readMigrations(folder: string): Promise<LocalMigration[]> {
  let entries: Dirent[];
  try {
    entries = await readdir(folder, { withFileTypes: true });
  } catch (error) {
    throw new ConfigError('migrationsFolder', folder, `a readable folder (${(error as Error).message})`);
  }
  const lock = await readFile(join(folder, 'migration_lock.toml'), 'utf8').catch(() => undefined);
  const provider = lock === undefined ? undefined : /^\s*provider\s*=\s*"([^"]*)"/m.exec(lock)?.[1];
  if (provider !== undefined && provider !== 'sqlite') {
    throw new ConfigError('migrationsFolder', folder, `migrations written for SQLite; migration_lock.toml says "${provider}"`);
  }
  const names = entries
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
  const migrations: LocalMigration[] = [];
  for (const name of names) {
    const bytes = await readFile(join(folder, name, 'migration.sql')).catch(() => undefined);
    // Prisma skips folders without a migration.sql too.
    if (bytes === undefined) continue;
    migrations.push({ name, script: bytes.toString('utf8'), checksum: createHash('sha256').update(bytes).digest('hex') });
  }
  return migrations;
}

function positive(option: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw new ConfigError(option, value, 'a number of milliseconds > 0');
  return value;
}
