import { DatabaseUnavailableError } from '../errors.js';

/** errno codes of a FUSE mount whose daemon went away or is restarting. */
const MOUNT_GONE_ERRNOS = new Set(['ENOTCONN', 'EIO', 'ENXIO', 'ESTALE']);

/**
 * True when a local read failed because the file under it is unreachable, not because of the query: LiteFS
 * restarting under the app shows as a bare SQLITE_IOERR_LOCK (the lock call on the dead mount fails with
 * ENOTCONN), other SQLITE_IOERR_* codes, or SQLITE_CANTOPEN for a connection opened meanwhile.
 */
export function isMountUnavailableError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return false;
  return code.startsWith('SQLITE_IOERR') || code.startsWith('SQLITE_CANTOPEN') || MOUNT_GONE_ERRNOS.has(code);
}

/** Runs a local read; a failure of the mount under it becomes the retryable DATABASE_UNAVAILABLE. */
export function readingLocally<T>(read: () => T, context: { node?: string; sql?: string } = {}): T {
  try {
    return read();
  } catch (error) {
    if (isMountUnavailableError(error)) throw new DatabaseUnavailableError(error, context);
    throw error;
  }
}
