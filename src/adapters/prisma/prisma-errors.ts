// SQLite errors as Prisma's errors, mapped as @prisma/adapter-better-sqlite3 7.9 maps them (its src/errors.ts,
// Apache-2.0): a unique violation becomes Prisma's P2002, a missing table P2021, and so on. A replica receives
// the primary's SQLite errors with their code and message intact, so forwarded errors map the same way.

import { DriverAdapterError, type MappedError } from '@prisma/driver-adapter-utils';

/**
 * The error to give Prisma for `error`: a DriverAdapterError for the SQLite errors Prisma knows, else `error`
 * itself. Prisma reports the others, litefs-forward's own (FORWARD_TIMEOUT, PRIMARY_UNAVAILABLE...) included, as
 * a PrismaClientKnownRequestError with the same `code` and message, which `isLiteFSForwardError()` recognizes.
 */
export function toPrismaError(error: unknown): unknown {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (typeof code !== 'string' || !code.startsWith('SQLITE_') || typeof message !== 'string') return error;
  const mapped = mapSqliteError(code, message);
  return mapped === undefined ? error : new DriverAdapterError({ originalCode: code, originalMessage: message, ...mapped });
}

/** Rethrows `error` as {@link toPrismaError} converts it; for `promise.catch(rethrowForPrisma)`. */
export function rethrowForPrisma(error: unknown): never {
  throw toPrismaError(error);
}

function mapSqliteError(code: string, message: string): MappedError | undefined {
  switch (code) {
    case 'SQLITE_BUSY':
      return { kind: 'SocketTimeout' };
    case 'SQLITE_CONSTRAINT_UNIQUE':
    case 'SQLITE_CONSTRAINT_PRIMARYKEY': {
      const fields = constraintFields(message);
      return { kind: 'UniqueConstraintViolation', ...(fields === undefined ? {} : { constraint: { fields } }) };
    }
    case 'SQLITE_CONSTRAINT_NOTNULL': {
      const fields = constraintFields(message);
      return { kind: 'NullConstraintViolation', ...(fields === undefined ? {} : { constraint: { fields } }) };
    }
    case 'SQLITE_CONSTRAINT_FOREIGNKEY':
    case 'SQLITE_CONSTRAINT_TRIGGER':
      return { kind: 'ForeignKeyConstraintViolation', constraint: { foreignKey: {} } };
    default:
      if (message.startsWith('no such table')) return { kind: 'TableDoesNotExist', table: message.split(': ')[1] };
      if (message.startsWith('no such column')) return { kind: 'ColumnNotFound', column: message.split(': ')[1] };
      if (message.includes('has no column named ')) return { kind: 'ColumnNotFound', column: message.split('has no column named ')[1] };
      return undefined;
  }
}

/** `UNIQUE constraint failed: users.a, users.b` names the columns `a` and `b`. */
function constraintFields(message: string): string[] | undefined {
  const list = message.split('constraint failed: ')[1];
  return list?.split(', ').map((field) => field.split('.').pop() ?? field);
}
