import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError } from '../errors.js';

export interface SqlFile {
  /** The file name, which is also its name in the migrations table. */
  name: string;
  sql: string;
  /** SHA-256 of the file's bytes, hex: an applied file must never change. */
  checksum: string;
}

/** Orders names by their UTF-8 bytes, as `ls` does in the C locale: the same order on every node, whatever the locale. */
export function compareNames(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/**
 * The `*.sql` files directly in `dir`, and the `<name>/migration.sql` of each folder in it (the layout `prisma
 * migrate dev` writes, so a Prisma app's migrations apply without Prisma's schema engine), in name order.
 */
export async function readSqlFiles(dir: string): Promise<SqlFile[]> {
  let entries: import('node:fs').Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    throw Object.assign(new ConfigError('sqlDir', dir, `a readable directory of .sql files (${(error as NodeJS.ErrnoException).code ?? String(error)})`), { cause: error });
  }
  const names = entries.filter((entry) => entry.isFile() && entry.name.endsWith('.sql')).map((entry) => entry.name);
  for (const entry of entries) {
    if (entry.isDirectory() && (await isFile(join(dir, entry.name, 'migration.sql')))) names.push(`${entry.name}/migration.sql`);
  }
  names.sort(compareNames);
  return Promise.all(
    names.map(async (name) => {
      const bytes = await readFile(join(dir, name));
      return { name, sql: bytes.toString('utf8'), checksum: createHash('sha256').update(bytes).digest('hex') };
    }),
  );
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}
