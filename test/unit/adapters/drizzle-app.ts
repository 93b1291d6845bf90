// Application code written the way a Drizzle user writes it. The unit tests run it on a local database; an
// end-to-end test runs the same function on a replica of a real LiteFS cluster.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { and, count, eq, like, relations, sql, TransactionRollbackError } from 'drizzle-orm';
import { integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { type LiteFSDrizzleDatabase, migrate } from '../../../src/adapters/drizzle/index.js';

export const users = sqliteTable('drizzle_users', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  email: text('email').notNull().unique(),
  name: text('name').notNull(),
  active: integer('active', { mode: 'boolean' }).notNull().default(true),
});

export const accounts = sqliteTable('drizzle_accounts', {
  id: text('id').primaryKey(),
  ownerId: integer('owner_id')
    .notNull()
    .references(() => users.id),
  balance: integer('balance').notNull(),
});

export const usersRelations = relations(users, ({ many }) => ({ accounts: many(accounts) }));
export const accountsRelations = relations(accounts, ({ one }) => ({ owner: one(users, { fields: [accounts.ownerId], references: [users.id] }) }));

export const schema = { users, accounts, usersRelations, accountsRelations };
export type DrizzleAppDatabase = LiteFSDrizzleDatabase<typeof schema>;

/** drizzle-kit's output for `schema`: a journal and one SQL file per migration. */
const MIGRATIONS: { tag: string; when: number; sql: string }[] = [
  {
    tag: '0000_users',
    when: 1_700_000_000_000,
    sql: [
      'CREATE TABLE `drizzle_users` (\n\t`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,\n\t`email` text NOT NULL,\n\t`name` text NOT NULL\n);',
      'CREATE UNIQUE INDEX `drizzle_users_email_unique` ON `drizzle_users` (`email`);',
    ].join('\n--> statement-breakpoint\n'),
  },
  {
    tag: '0001_accounts',
    when: 1_700_000_100_000,
    sql: [
      'CREATE TABLE `drizzle_accounts` (\n\t`id` text PRIMARY KEY NOT NULL,\n\t`owner_id` integer NOT NULL,\n\t`balance` integer NOT NULL,\n\tFOREIGN KEY (`owner_id`) REFERENCES `drizzle_users`(`id`) ON UPDATE no action ON DELETE no action\n);',
      'ALTER TABLE `drizzle_users` ADD `active` integer DEFAULT true NOT NULL;',
    ].join('\n--> statement-breakpoint\n'),
  },
];

/** Writes the migrations folder, as drizzle-kit would have, and returns its path. */
export function writeDrizzleMigrations(dir = mkdtempSync(join(tmpdir(), 'litefs-forward-drizzle-migrations-'))): string {
  mkdirSync(join(dir, 'meta'), { recursive: true });
  const entries = MIGRATIONS.map((migration, idx) => ({ idx, version: '6', when: migration.when, tag: migration.tag, breakpoints: true }));
  writeFileSync(join(dir, 'meta', '_journal.json'), JSON.stringify({ version: '7', dialect: 'sqlite', entries }));
  for (const migration of MIGRATIONS) writeFileSync(join(dir, `${migration.tag}.sql`), migration.sql);
  return dir;
}

/** The migrator, as an app runs it at start-up; safe to run on every node at once. */
export async function migrateDrizzleApp(db: DrizzleAppDatabase): Promise<void> {
  const migrationsFolder = writeDrizzleMigrations();
  try {
    await migrate(db, { migrationsFolder });
  } finally {
    rmSync(migrationsFolder, { recursive: true, force: true });
  }
}

/** Moves money between accounts: reads the balance, then writes based on it. */
export function transfer(db: DrizzleAppDatabase, from: string, to: string, amount: number): Promise<number> {
  return db.transaction(async (tx) => {
    const [source] = await tx.select({ balance: accounts.balance }).from(accounts).where(eq(accounts.id, from));
    if (source === undefined || source.balance < amount) throw new Error(`insufficient funds in ${from}`);
    await tx
      .update(accounts)
      .set({ balance: source.balance - amount })
      .where(eq(accounts.id, from));
    await tx
      .update(accounts)
      .set({ balance: sql`${accounts.balance} + ${amount}` })
      .where(eq(accounts.id, to));
    return source.balance - amount;
  });
}

/** drizzle-orm wraps driver errors in DrizzleQueryError; SQLite's own error is its cause. */
const isUniqueViolation = (error: unknown): boolean => {
  const cause = (error as { cause?: unknown }).cause ?? error;
  return (cause as { code?: unknown }).code === 'SQLITE_CONSTRAINT_UNIQUE';
};

/** Every kind of query an application makes, each checked. Safe to run repeatedly on the same database. */
export async function runDrizzleScenario(db: DrizzleAppDatabase): Promise<void> {
  // Migrations: applied once, a no-op afterwards.
  await migrateDrizzleApp(db);
  await migrateDrizzleApp(db);
  const applied = await db.all<{ hash: string }>(sql`select hash from __drizzle_migrations`);
  assert.equal(applied.length, MIGRATIONS.length);

  const tag = randomUUID().slice(0, 8);
  const email = (name: string): string => `${name}-${tag}@example.com`;
  const mine = like(users.email, `%-${tag}@example.com`);
  const userByEmail = (address: string) => db.query.users.findFirst({ where: eq(users.email, address) });

  // Insert with RETURNING, and without (the libsql run result).
  const [ada] = await db.insert(users).values({ email: email('ada'), name: 'Ada' }).returning();
  assert.ok(ada);
  assert.equal(typeof ada.id, 'number');
  assert.deepEqual({ email: ada.email, name: ada.name, active: ada.active }, { email: email('ada'), name: 'Ada', active: true });
  const inserted = await db.insert(users).values({ email: email('grace'), name: 'Grace', active: false });
  assert.equal(inserted.rowsAffected, 1);
  const grace = await userByEmail(email('grace'));
  assert.equal(BigInt(grace!.id), inserted.lastInsertRowid);
  assert.equal(grace!.active, false);

  // Update, with and without RETURNING.
  const updated = await db.update(users).set({ name: 'Ada Lovelace' }).where(eq(users.id, ada.id));
  assert.equal(updated.rowsAffected, 1);
  assert.equal((await userByEmail(email('ada')))?.name, 'Ada Lovelace');
  const renamed = await db.update(users).set({ name: 'Grace Hopper' }).where(eq(users.id, grace!.id)).returning({ name: users.name });
  assert.deepEqual(renamed, [{ name: 'Grace Hopper' }]);

  // A unique violation surfaces as SQLite's own error, wrapped by drizzle as usual.
  await assert.rejects(db.insert(users).values({ email: email('ada'), name: 'Again' }), isUniqueViolation);

  // A transaction that reads, then writes based on what it read.
  const adaAccount = `ada-${tag}`;
  const graceAccount = `grace-${tag}`;
  await db.insert(accounts).values([
    { id: adaAccount, ownerId: ada.id, balance: 100 },
    { id: graceAccount, ownerId: grace!.id, balance: 0 },
  ]);
  assert.equal(await transfer(db, adaAccount, graceAccount, 30), 70);
  const balances = async (): Promise<number[]> => {
    const rows = await db.query.accounts.findMany({ where: (account, { inArray }) => inArray(account.id, [adaAccount, graceAccount]), orderBy: (account, { asc }) => asc(account.id) });
    return rows.map((row) => row.balance);
  };
  assert.deepEqual(await balances(), [70, 30]);
  await assert.rejects(transfer(db, graceAccount, adaAccount, 1000), /insufficient funds/);
  assert.deepEqual(await balances(), [70, 30]);

  // A transaction that throws leaves nothing behind; so does tx.rollback().
  await assert.rejects(
    db.transaction(async (tx) => {
      await tx.insert(users).values({ email: email('ghost'), name: 'Ghost' });
      await tx.update(accounts).set({ balance: 0 }).where(eq(accounts.id, adaAccount));
      throw new Error('boom');
    }),
    /boom/,
  );
  await assert.rejects(
    db.transaction(async (tx) => {
      await tx.insert(users).values({ email: email('ghost'), name: 'Ghost' });
      tx.rollback();
    }),
    TransactionRollbackError,
  );
  assert.equal(await userByEmail(email('ghost')), undefined);
  assert.deepEqual(await balances(), [70, 30]);

  // Nested transactions are savepoints: the failed inner one is undone, the outer one commits.
  await db.transaction(async (tx) => {
    await tx.insert(users).values({ email: email('kept'), name: 'Kept' });
    await assert.rejects(
      tx.transaction(async (inner) => {
        await inner.insert(users).values({ email: email('dropped'), name: 'Dropped' });
        throw new Error('inner');
      }),
      /inner/,
    );
    await tx.transaction(async (inner) => {
      await inner.update(users).set({ name: 'Kept!' }).where(eq(users.email, email('kept')));
    });
  });
  assert.equal((await userByEmail(email('kept')))?.name, 'Kept!');
  assert.equal(await userByEmail(email('dropped')), undefined);

  // A batch: atomic, one round trip, typed results.
  const [alan, moved, counted, found] = await db.batch([
    db.insert(users).values({ email: email('alan'), name: 'Alan' }).returning({ id: users.id, name: users.name }),
    db.update(accounts).set({ balance: 75 }).where(eq(accounts.id, adaAccount)),
    db.select({ n: count() }).from(users).where(mine),
    db.query.users.findFirst({ where: eq(users.email, email('ada')), with: { accounts: true } }),
  ]);
  assert.equal(alan[0]?.name, 'Alan');
  assert.equal(moved.rowsAffected, 1);
  assert.deepEqual(counted, [{ n: 4 }]);
  assert.deepEqual(found?.accounts, [{ id: adaAccount, ownerId: ada.id, balance: 75 }]);
  await assert.rejects(
    db.batch([db.insert(users).values({ email: email('batch'), name: 'Batch' }), db.insert(users).values({ email: email('ada'), name: 'Duplicate' })]),
    isUniqueViolation,
  );
  assert.equal(await userByEmail(email('batch')), undefined);

  // Relational queries, joins, raw SQL.
  const people = await db.query.users.findMany({
    where: mine,
    with: { accounts: { columns: { balance: true } } },
    orderBy: (user, { asc }) => asc(user.id),
  });
  assert.deepEqual(
    people.map((person) => [person.name, person.accounts.map((account) => account.balance)]),
    [
      ['Ada Lovelace', [75]],
      ['Grace Hopper', [30]],
      ['Kept!', []],
      ['Alan', []],
    ],
  );
  const owner = await db.query.accounts.findFirst({ where: eq(accounts.id, graceAccount), with: { owner: true } });
  assert.equal(owner?.owner.name, 'Grace Hopper');
  const joined = await db
    .select({ name: users.name, balance: accounts.balance })
    .from(accounts)
    .innerJoin(users, eq(users.id, accounts.ownerId))
    .where(and(eq(accounts.id, graceAccount), eq(users.active, false)));
  assert.deepEqual(joined, [{ name: 'Grace Hopper', balance: 30 }]);
  const raw = await db.get<{ n: number }>(sql`select count(*) as n from ${users} where ${mine}`);
  assert.equal(raw?.n, 4);

  // Delete with RETURNING.
  const deleted = await db.delete(users).where(eq(users.email, email('kept'))).returning({ name: users.name });
  assert.deepEqual(deleted, [{ name: 'Kept!' }]);
}
