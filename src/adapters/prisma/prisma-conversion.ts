// Values between Prisma's query compiler and SQLite, converted as @prisma/adapter-better-sqlite3 7.9 converts
// them (its src/conversion.ts, Apache-2.0; that package does not export it). Two differences: rows here were
// read by litefs-forward, locally or on the primary, so there are no declared column types to go by and raw
// query columns are typed from their values; and blobs arrive as Uint8Array (Buffer), which are typed as Bytes.

import { type ArgType, type ColumnType, ColumnTypeEnum, DriverAdapterError } from '@prisma/driver-adapter-utils';
import type { SqlValue } from '../../types.js';
import type { TimestampFormat } from './prisma-adapter-config.js';

/** Converts one argument of a query to a value SQLite binds; `argType` is what Prisma says the value is. */
export function mapArg(arg: unknown, argType: ArgType | undefined, timestampFormat: TimestampFormat): SqlValue {
  if (arg === null || arg === undefined) return null;
  if (typeof arg === 'string') {
    switch (argType?.scalarType) {
      case 'int':
        return Number.parseInt(arg, 10);
      case 'float':
      case 'decimal':
        return Number.parseFloat(arg);
      case 'bigint':
        return BigInt(arg);
      case 'datetime':
        return formatDate(new Date(arg), timestampFormat);
      case 'bytes':
        return Buffer.from(arg, 'base64');
      default:
        return arg;
    }
  }
  if (typeof arg === 'boolean') return arg ? 1 : 0;
  if (arg instanceof Date) return formatDate(arg, timestampFormat);
  if (typeof arg === 'number' || typeof arg === 'bigint' || arg instanceof Uint8Array) return arg;
  if (arg instanceof ArrayBuffer) return Buffer.from(arg);
  throw new DriverAdapterError({ kind: 'InvalidInputValue', message: `SQLite cannot bind a value of type ${typeof arg} (${Object.prototype.toString.call(arg)})` });
}

function formatDate(date: Date, format: TimestampFormat): SqlValue {
  return format === 'unixepoch-ms' ? date.getTime() : date.toISOString().replace('Z', '+00:00');
}

/**
 * The type of each column, from its first non-NULL value; a column of NULLs only is Int32. For model queries
 * Prisma maps values by the schema's field types and ignores these; they matter for `$queryRaw`.
 */
export function inferColumnTypes(columnCount: number, rows: readonly (readonly SqlValue[])[]): ColumnType[] {
  const types: ColumnType[] = [];
  for (let column = 0; column < columnCount; column++) {
    let type: ColumnType = ColumnTypeEnum.Int32;
    for (const row of rows) {
      const value = row[column];
      if (value !== null && value !== undefined) {
        type = inferColumnType(value);
        break;
      }
    }
    types.push(type);
  }
  return types;
}

function inferColumnType(value: SqlValue): ColumnType {
  switch (typeof value) {
    case 'string':
      return ColumnTypeEnum.Text;
    case 'bigint':
      return ColumnTypeEnum.Int64;
    case 'number':
      return ColumnTypeEnum.UnknownNumber;
    default:
      return ColumnTypeEnum.Bytes;
  }
}

/** A row as Prisma expects it: integers as numbers when exact, else as decimal strings. */
export function mapRow(row: readonly SqlValue[], columnTypes: readonly ColumnType[]): unknown[] {
  const result: unknown[] = new Array(row.length);
  for (let i = 0; i < row.length; i++) {
    const value = row[i] ?? null;
    const type = columnTypes[i];
    if (typeof value === 'number' && (type === ColumnTypeEnum.Int32 || type === ColumnTypeEnum.Int64) && !Number.isInteger(value)) {
      result[i] = Math.trunc(value);
    } else if (typeof value === 'bigint') {
      const asNumber = Number(value);
      result[i] = Number.isSafeInteger(asNumber) ? asNumber : value.toString();
    } else {
      result[i] = value;
    }
  }
  return result;
}
