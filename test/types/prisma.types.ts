import type { SqlDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import { type MigrateResult, migrate, PrismaLiteFS } from '../../src/adapters/prisma/index.js';
import type { LiteFSDatabase } from '../../src/index.js';
import { type Account, type Prisma, PrismaClient, type Sample, type User } from '../fixtures/prisma/generated/client.js';
import { type Equal, expectType } from './expect.js';

export async function prismaTypes(database: LiteFSDatabase): Promise<void> {
  const adapter = new PrismaLiteFS(database);
  const factory: SqlDriverAdapterFactory = adapter;
  void factory;
  new PrismaLiteFS(async () => database, { timestampFormat: 'unixepoch-ms' });
  // @ts-expect-error a path is not a database
  new PrismaLiteFS('/litefs/app.db');
  // @ts-expect-error not a timestamp format
  new PrismaLiteFS(database, { timestampFormat: 'unix' });

  const prisma = new PrismaClient({ adapter });

  // Model queries keep Prisma's result types.
  const created = await prisma.user.create({ data: { email: 'ada@example.com' } });
  expectType<Equal<typeof created, User>>();
  expectType<Equal<typeof created.createdAt, Date>>();
  const found = await prisma.user.findUnique({ where: { email: 'ada@example.com' }, include: { accounts: true } });
  expectType<Equal<typeof found, (User & { accounts: Account[] }) | null>>();
  const picked = await prisma.user.findMany({ select: { id: true, name: true, accounts: { select: { balance: true } } } });
  expectType<Equal<typeof picked, { id: number; name: string; accounts: { balance: number }[] }[]>>();
  const sample = await prisma.sample.findFirstOrThrow();
  expectType<Equal<typeof sample, Sample>>();
  expectType<Equal<typeof sample.big, bigint>>();
  expectType<Equal<typeof sample.price, Prisma.Decimal>>();
  expectType<Equal<typeof sample.data, Uint8Array<ArrayBuffer> | null>>();
  const updated = await prisma.account.updateMany({ data: { balance: { increment: 1 } } });
  expectType<Equal<typeof updated, Prisma.BatchPayload>>();
  // @ts-expect-error `email` is required
  await prisma.user.create({ data: { name: 'Ada' } });
  // @ts-expect-error no such field
  await prisma.user.findMany({ where: { age: 3 } });

  // Both forms of $transaction keep them too.
  const balance = await prisma.$transaction(async (tx) => {
    const account = await tx.account.findUniqueOrThrow({ where: { id: 'a' } });
    expectType<Equal<typeof account, Account>>();
    return account.balance;
  });
  expectType<Equal<typeof balance, number>>();
  const [user, count, accounts] = await prisma.$transaction([prisma.user.create({ data: { email: 'b@example.com' } }), prisma.user.count(), prisma.account.findMany({ select: { id: true } })]);
  expectType<Equal<typeof user, User>>();
  expectType<Equal<typeof count, number>>();
  expectType<Equal<typeof accounts, { id: string }[]>>();

  // migrate() takes the PrismaClient itself, or one of its extensions.
  const result = await migrate(prisma, { migrationsFolder: 'prisma/migrations' });
  expectType<Equal<typeof result, MigrateResult>>();
  expectType<Equal<typeof result.applied, string[]>>();
  await migrate(prisma.$extends({}), { migrationsFolder: 'prisma/migrations', timeout: 60_000 });
  // @ts-expect-error the migrations folder is required
  await migrate(prisma, {});
  // @ts-expect-error not a PrismaClient
  await migrate(database, { migrationsFolder: 'prisma/migrations' });
}
