import { readFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';

/** LiteFS's `.primary`: the primary's hostname, or missing when this node knows of none (see README: precedence). */
export async function readPrimaryFile(path: string): Promise<string | undefined> {
  try {
    const hostname = (await readFile(path, 'utf8')).trim();
    return hostname.length > 0 ? hostname : undefined;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

// `%016x/%016x`: the TXID (see util/txid.ts), then the post-apply checksum.
const POS_PATTERN = /^([0-9a-f]{16})\/([0-9a-f]{16})\s*$/;

/** A replication position: the TXID and LiteFS's post-apply checksum, which tells two same-numbered TXIDs apart. */
export interface Position {
  readonly txid: string;
  readonly checksum: string | undefined;
}

/** The database's position from `<db>-pos`, TXID and checksum. Synchronous, for the same reason as below. */
export function readPosition(databasePath: string): Position | undefined {
  try {
    const match = POS_PATTERN.exec(readFileSync(`${databasePath}-pos`, 'latin1'));
    return match === null ? undefined : { txid: match[1]!, checksum: match[2]! };
  } catch {
    return undefined;
  }
}

/**
 * The database's replication position from `<db>-pos` (`%016x/%016x`), as a 16-digit hex TXID. Read synchronously
 * because it is called right after a commit, on the writer's turn, where an await would let others in.
 */
export function readPositionFile(databasePath: string): string | undefined {
  return readPosition(databasePath)?.txid;
}

/** Milliseconds since this node last heard from the primary, from LiteFS's `.lag` file. */
export async function readLagFile(mountDir: string): Promise<number | undefined> {
  try {
    const value = Number.parseInt((await readFile(`${mountDir}/.lag`, 'latin1')).trim(), 10);
    return Number.isFinite(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** True when `dir` is a LiteFS FUSE mount, read from the kernel's mount table. */
export async function isLiteFSMount(dir: string): Promise<boolean> {
  try {
    const table = await readFile('/proc/self/mountinfo', 'utf8');
    return table.split('\n').some((line) => {
      const fields = line.split(' ');
      const separator = fields.indexOf('-');
      return fields[4] === dir && separator !== -1 && (fields[separator + 1] ?? '').startsWith('fuse');
    });
  } catch {
    return false;
  }
}
