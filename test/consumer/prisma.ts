import type { SqlDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import { openDatabase } from 'litefs-forward';
import { type MigrateResult, migrate, PrismaLiteFS, type PrismaLiteFSOptions, TIMESTAMP_FORMATS } from 'litefs-forward/prisma';

const database = await openDatabase({ path: ':memory:', mode: 'local' });
const options: PrismaLiteFSOptions = { timestampFormat: TIMESTAMP_FORMATS[0] };
const factory: SqlDriverAdapterFactory = new PrismaLiteFS(database, options);
const typed: PrismaLiteFS = new PrismaLiteFS(database);
const later: typeof migrate = migrate;
const result: MigrateResult | undefined = undefined;
void [factory, typed, later, result];
await database.close();
