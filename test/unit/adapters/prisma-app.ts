// Application code written the way a Prisma user writes it. The unit tests run it on a local database and on a
// replica; an end-to-end test runs the same function on a replica of a real LiteFS cluster.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { migrate } from '../../../src/adapters/prisma/index.js';
import { Prisma, type PrismaClient } from '../../fixtures/prisma/generated/client.js';

export type PrismaAppClient = PrismaClient;

/** The migrations `prisma migrate dev` wrote for test/fixtures/prisma/schema.prisma. */
export const PRISMA_MIGRATIONS = ['20240101000000_init', '20240201000000_profiles_and_samples'];

/** test/fixtures/prisma/migrations, found from this module whether it runs from dist/ or from the sources. */
export function prismaMigrationsFolder(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'test', 'fixtures', 'prisma', 'migrations');
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`test/fixtures/prisma/migrations was not found above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

/** The migrations, as an app applies them at start-up; safe to run on every node at once. */
export async function migratePrismaApp(prisma: PrismaAppClient): Promise<string[]> {
  const { applied } = await migrate(prisma, { migrationsFolder: prismaMigrationsFolder() });
  return applied;
}

/** Moves money between accounts: reads the balance, then writes based on it. */
export function transfer(prisma: PrismaAppClient, from: string, to: string, amount: number): Promise<number> {
  return prisma.$transaction(async (tx) => {
    const source = await tx.account.findUnique({ where: { id: from } });
    if (source === null || source.balance < amount) throw new Error(`insufficient funds in ${from}`);
    await tx.account.update({ where: { id: from }, data: { balance: source.balance - amount } });
    await tx.account.update({ where: { id: to }, data: { balance: { increment: amount } } });
    return source.balance - amount;
  });
}

/** Prisma's own error for a unique violation, naming the field. */
export function isUniqueViolation(error: unknown, field = 'email'): boolean {
  if (!(error instanceof Prisma.PrismaClientKnownRequestError) || error.code !== 'P2002') return false;
  return JSON.stringify(error.meta).includes(field) || error.message.includes(field);
}

/** Every kind of query an application makes, each checked. Safe to run repeatedly on the same database. */
export async function runPrismaScenario(prisma: PrismaAppClient): Promise<void> {
  // Migrations: applied once, a no-op afterwards, and recorded where Prisma Migrate records them.
  await migratePrismaApp(prisma);
  assert.deepEqual(await migratePrismaApp(prisma), []);
  const recorded = await prisma.$queryRaw<{ migration_name: string; checksum: string }[]>`
    SELECT migration_name, checksum FROM _prisma_migrations WHERE finished_at IS NOT NULL ORDER BY migration_name`;
  assert.deepEqual(
    recorded.map((row) => row.migration_name),
    PRISMA_MIGRATIONS,
  );
  assert.ok(recorded.every((row) => /^[0-9a-f]{64}$/.test(row.checksum)));

  const tag = randomUUID().slice(0, 8);
  const suffix = `-${tag}@example.com`;
  const email = (name: string): string => `${name}${suffix}`;
  const mine = { email: { endsWith: suffix } } satisfies Prisma.UserWhereInput;
  const adaAccount = `ada-${tag}`;
  const graceAccount = `grace-${tag}`;

  // create is an INSERT ... RETURNING: the row comes back with its defaults.
  const before = Date.now();
  const ada = await prisma.user.create({ data: { email: email('ada'), name: 'Ada' } });
  assert.equal(typeof ada.id, 'number');
  assert.deepEqual({ email: ada.email, name: ada.name, active: ada.active }, { email: email('ada'), name: 'Ada', active: true });
  assert.ok(ada.createdAt instanceof Date && Math.abs(ada.createdAt.getTime() - before) < 60_000);

  // A nested create: the user and its account in one transaction, the account using the user's new id.
  const grace = await prisma.user.create({
    data: { email: email('grace'), name: 'Grace', active: false, accounts: { create: [{ id: graceAccount, balance: 0 }] } },
    include: { accounts: true },
  });
  assert.deepEqual(grace.accounts, [{ id: graceAccount, ownerId: grace.id, balance: 0 }]);
  await prisma.account.create({ data: { id: adaAccount, balance: 100, owner: { connect: { id: ada.id } } } });

  // Update, updateMany, upsert (both ways).
  const renamed = await prisma.user.update({ where: { id: ada.id }, data: { name: 'Ada Lovelace' } });
  assert.equal(renamed.name, 'Ada Lovelace');
  assert.equal((await prisma.user.findUnique({ where: { email: email('ada') } }))?.name, 'Ada Lovelace');
  const { count: hopper } = await prisma.user.updateMany({ where: { ...mine, active: false }, data: { name: 'Grace Hopper' } });
  assert.equal(hopper, 1);
  const alan = await prisma.user.upsert({ where: { email: email('alan') }, create: { email: email('alan'), name: 'Alan' }, update: { name: 'Not Alan' } });
  assert.equal(alan.name, 'Alan');
  const turing = await prisma.user.upsert({ where: { email: email('alan') }, create: { email: email('alan'), name: 'Not Alan' }, update: { name: 'Alan Turing' } });
  assert.deepEqual([turing.id, turing.name], [alan.id, 'Alan Turing']);

  // A unique violation is Prisma's usual P2002, on a primary and forwarded from a replica alike.
  await assert.rejects(prisma.user.create({ data: { email: email('ada'), name: 'Again' } }), (error) => isUniqueViolation(error));
  await assert.rejects(prisma.user.update({ where: { id: alan.id }, data: { email: email('ada') } }), (error) => isUniqueViolation(error));

  // A transaction that reads, then writes based on what it read.
  const balances = async (): Promise<number[]> => {
    const rows = await prisma.account.findMany({ where: { id: { in: [adaAccount, graceAccount] } }, orderBy: { id: 'asc' } });
    return rows.map((row) => row.balance);
  };
  assert.equal(await transfer(prisma, adaAccount, graceAccount, 30), 70);
  assert.deepEqual(await balances(), [70, 30]);
  await assert.rejects(transfer(prisma, graceAccount, adaAccount, 1000), /insufficient funds/);
  assert.deepEqual(await balances(), [70, 30]);

  // A transaction that throws leaves nothing behind, whether the application or the database threw.
  await assert.rejects(
    prisma.$transaction(async (tx) => {
      await tx.user.create({ data: { email: email('ghost'), name: 'Ghost' } });
      await tx.account.update({ where: { id: adaAccount }, data: { balance: 0 } });
      throw new Error('boom');
    }),
    /boom/,
  );
  await assert.rejects(
    prisma.$transaction(async (tx) => {
      await tx.user.create({ data: { email: email('ghost'), name: 'Ghost' } });
      await tx.user.create({ data: { email: email('ada'), name: 'Duplicate' } });
    }),
    (error) => isUniqueViolation(error),
  );
  assert.equal(await prisma.user.findUnique({ where: { email: email('ghost') } }), null);
  assert.deepEqual(await balances(), [70, 30]);

  // Nested transactions are savepoints: the failed inner one is undone, the outer one commits.
  await prisma.$transaction(async (tx) => {
    await tx.user.create({ data: { email: email('kept'), name: 'Kept' } });
    await assert.rejects(
      tx.$transaction(async (inner) => {
        await inner.user.create({ data: { email: email('dropped'), name: 'Dropped' } });
        throw new Error('inner');
      }),
      /inner/,
    );
    await tx.$transaction(async (inner) => {
      await inner.user.update({ where: { email: email('kept') }, data: { name: 'Kept!' } });
    });
  });
  assert.equal((await prisma.user.findUnique({ where: { email: email('kept') } }))?.name, 'Kept!');
  assert.equal(await prisma.user.findUnique({ where: { email: email('dropped') } }), null);

  // A batch: atomic, typed results.
  const [barbara, moved, counted, found] = await prisma.$transaction([
    prisma.user.create({ data: { email: email('barbara'), name: 'Barbara' }, select: { id: true, name: true } }),
    prisma.account.update({ where: { id: adaAccount }, data: { balance: 75 } }),
    prisma.user.count({ where: mine }),
    prisma.user.findUnique({ where: { email: email('ada') }, include: { accounts: true } }),
  ]);
  assert.equal(barbara.name, 'Barbara');
  assert.equal(moved.balance, 75);
  assert.equal(counted, 5);
  assert.deepEqual(found?.accounts, [{ id: adaAccount, ownerId: ada.id, balance: 75 }]);
  await assert.rejects(
    prisma.$transaction([
      prisma.user.create({ data: { email: email('batch'), name: 'Batch' } }),
      prisma.account.update({ where: { id: graceAccount }, data: { balance: 0 } }),
      prisma.user.create({ data: { email: email('ada'), name: 'Duplicate' } }),
    ]),
    (error) => isUniqueViolation(error),
  );
  assert.equal(await prisma.user.findUnique({ where: { email: email('batch') } }), null);
  assert.deepEqual(await balances(), [75, 30]);

  // Every scalar type survives the trip to the primary and back.
  const values = {
    tag,
    big: 2n ** 40n + 1n,
    ratio: 0.25,
    price: new Prisma.Decimal('12.5'),
    data: Uint8Array.from([0, 1, 254, 255]),
    meta: { list: [1, 'two', null], nested: { ok: true } },
    at: new Date('2024-02-29T12:34:56.789Z'),
  };
  const created = await prisma.sample.create({ data: values });
  for (const sample of [created, await prisma.sample.findFirstOrThrow({ where: { tag } })]) {
    assert.equal(sample.big, values.big);
    assert.equal(sample.ratio, values.ratio);
    assert.ok(sample.price.equals(values.price), `price ${sample.price}`);
    assert.deepEqual([...(sample.data ?? [])], [...values.data]);
    assert.deepEqual(sample.meta, values.meta);
    assert.equal(sample.at.toISOString(), values.at.toISOString());
  }
  assert.equal(await prisma.sample.count({ where: { tag, at: { gt: new Date('2024-01-01T00:00:00Z') }, big: { gte: 2n ** 40n } } }), 1);

  // Relation filters, ordering, aggregates.
  const people = await prisma.user.findMany({
    where: mine,
    orderBy: { id: 'asc' },
    select: { name: true, accounts: { select: { balance: true } } },
  });
  assert.deepEqual(
    people.map((person) => [person.name, person.accounts.map((account) => account.balance)]),
    [
      ['Ada Lovelace', [75]],
      ['Grace Hopper', [30]],
      ['Alan Turing', []],
      ['Kept!', []],
      ['Barbara', []],
    ],
  );
  const rich = await prisma.user.findMany({ where: { ...mine, accounts: { some: { balance: { gt: 50 } } } }, select: { name: true } });
  assert.deepEqual(rich, [{ name: 'Ada Lovelace' }]);
  const total = await prisma.account.aggregate({ where: { id: { in: [adaAccount, graceAccount] } }, _sum: { balance: true } });
  assert.equal(total._sum.balance, 105);

  // Raw queries: a read and a write, parameters bound.
  const [row] = await prisma.$queryRaw<{ n: number | bigint }[]>`SELECT count(*) AS n FROM prisma_users WHERE email LIKE ${`%${suffix}`}`;
  assert.equal(Number(row?.n), 5);
  assert.equal(await prisma.$executeRaw`UPDATE prisma_users SET name = name WHERE email LIKE ${`%${suffix}`}`, 5);

  // Delete with the returned row, and deleteMany.
  const deleted = await prisma.user.delete({ where: { email: email('barbara') }, select: { name: true } });
  assert.deepEqual(deleted, { name: 'Barbara' });
  assert.equal((await prisma.user.deleteMany({ where: { ...mine, accounts: { none: {} } } })).count, 2);
  assert.equal(await prisma.user.count({ where: mine }), 2);
}
