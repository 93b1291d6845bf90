import { type MigrationConfig, readMigrationFiles } from 'drizzle-orm/migrator';
import type { LiteFSDrizzleDatabase } from './drizzle-driver.js';

/**
 * Applies drizzle-kit migrations from `migrationsFolder`, like drizzle-orm's own SQLite migrators and with the
 * same `__drizzle_migrations` table, but safe when several nodes start at once: the check of what has been
 * applied and the migrations themselves run in one transaction, which holds the primary's write lock, so each
 * migration runs exactly once and a failed one leaves nothing behind. Foreign keys are checked at commit
 * (`defer_foreign_keys`), so a migration may rebuild a table that other rows point at.
 */
export async function migrate<TSchema extends Record<string, unknown>>(db: LiteFSDrizzleDatabase<TSchema>, config: MigrationConfig): Promise<void> {
  const migrations = readMigrationFiles(config);
  const table = quoteIdentifier(config.migrationsTable ?? '__drizzle_migrations');
  await db.$client.database.transaction(async (tx) => {
    await tx.run('PRAGMA defer_foreign_keys = ON');
    await tx.run(`CREATE TABLE IF NOT EXISTS ${table} (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at numeric)`);
    const [last] = await tx.values(`SELECT id, hash, created_at FROM ${table} ORDER BY created_at DESC LIMIT 1`);
    const appliedUntil = last === undefined ? undefined : Number(last[2]);
    for (const migration of migrations) {
      if (appliedUntil !== undefined && appliedUntil >= migration.folderMillis) continue;
      // exec, not a single statement: without breakpoints a chunk holds several statements.
      for (const statement of migration.sql) if (statement.trim() !== '') await tx.exec(statement);
      await tx.run(`INSERT INTO ${table} ("hash", "created_at") VALUES (?, ?)`, [migration.hash, migration.folderMillis]);
    }
  });
}

function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
