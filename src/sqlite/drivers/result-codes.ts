// SQLite's result codes by name, as sqlite3.h defines them: a primary code in the low byte, an extended code as
// primary | (n << 8). node:sqlite reports the number (`errcode`); better-sqlite3 and the wire carry the name.

const PRIMARY = [
  'OK', 'ERROR', 'INTERNAL', 'PERM', 'ABORT', 'BUSY', 'LOCKED', 'NOMEM', 'READONLY', 'INTERRUPT', 'IOERR', 'CORRUPT', 'NOTFOUND',
  'FULL', 'CANTOPEN', 'PROTOCOL', 'EMPTY', 'SCHEMA', 'TOOBIG', 'CONSTRAINT', 'MISMATCH', 'MISUSE', 'NOLFS', 'AUTH', 'FORMAT', 'RANGE',
  'NOTADB', 'NOTICE', 'WARNING',
] as const;

/** Extended codes of each primary code, by n (index 0 is n = 1; a hole is a number SQLite does not use). */
const EXTENDED: Partial<Record<(typeof PRIMARY)[number], readonly (string | undefined)[]>> = {
  OK: ['LOAD_PERMANENTLY', 'SYMLINK'],
  ERROR: ['MISSING_COLLSEQ', 'RETRY', 'SNAPSHOT', 'RESERVESIZE', 'KEY', 'UNABLE'],
  ABORT: [undefined, 'ROLLBACK'],
  BUSY: ['RECOVERY', 'SNAPSHOT', 'TIMEOUT'],
  LOCKED: ['SHAREDCACHE', 'VTAB'],
  READONLY: ['RECOVERY', 'CANTLOCK', 'ROLLBACK', 'DBMOVED', 'CANTINIT', 'DIRECTORY'],
  IOERR: [
    'READ', 'SHORT_READ', 'WRITE', 'FSYNC', 'DIR_FSYNC', 'TRUNCATE', 'FSTAT', 'UNLOCK', 'RDLOCK', 'DELETE', 'BLOCKED', 'NOMEM', 'ACCESS',
    'CHECKRESERVEDLOCK', 'LOCK', 'CLOSE', 'DIR_CLOSE', 'SHMOPEN', 'SHMSIZE', 'SHMLOCK', 'SHMMAP', 'SEEK', 'DELETE_NOENT', 'MMAP',
    'GETTEMPPATH', 'CONVPATH', 'VNODE', 'AUTH', 'BEGIN_ATOMIC', 'COMMIT_ATOMIC', 'ROLLBACK_ATOMIC', 'DATA', 'CORRUPTFS', 'IN_PAGE', 'BADKEY',
    'CODEC',
  ],
  CORRUPT: ['VTAB', 'SEQUENCE', 'INDEX'],
  CANTOPEN: ['NOTEMPDIR', 'ISDIR', 'FULLPATH', 'CONVPATH', 'DIRTYWAL', 'SYMLINK'],
  CONSTRAINT: ['CHECK', 'COMMITHOOK', 'FOREIGNKEY', 'FUNCTION', 'NOTNULL', 'PRIMARYKEY', 'TRIGGER', 'UNIQUE', 'VTAB', 'ROWID', 'PINNED', 'DATATYPE'],
  AUTH: ['USER'],
  NOTICE: ['RECOVER_WAL', 'RECOVER_ROLLBACK', 'RBU'],
  WARNING: ['AUTOINDEX'],
};

const NAMES = new Map<number, string>();
for (const [primary, name] of PRIMARY.entries()) {
  NAMES.set(primary, `SQLITE_${name}`);
  for (const [index, extended] of (EXTENDED[name] ?? []).entries()) {
    if (extended !== undefined) NAMES.set(primary | ((index + 1) << 8), `SQLITE_${name}_${extended}`);
  }
}
NAMES.set(100, 'SQLITE_ROW');
NAMES.set(101, 'SQLITE_DONE');
const NUMBERS = new Map([...NAMES].map(([number, name]) => [name, number]));

/** The name of a result code, as better-sqlite3 gives it: `SQLITE_CONSTRAINT_UNIQUE`, or `UNKNOWN_SQLITE_ERROR_<n>`. */
export function resultCodeName(code: number): string {
  return NAMES.get(code) ?? `UNKNOWN_SQLITE_ERROR_${code}`;
}

/** The number of a result code's name, or undefined for a name SQLite does not define. */
export function resultCodeNumber(name: string): number | undefined {
  return NUMBERS.get(name) ?? (/^UNKNOWN_SQLITE_ERROR_(\d{1,10})$/.exec(name)?.[1] === undefined ? undefined : Number(name.slice(21)));
}
