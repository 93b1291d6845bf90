// The adapters on a replica: every write, batch and transaction is forwarded to a primary over HTTP. The
// replica opens the primary's own file, which stands in for LiteFS's replication (instant, no lag).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Kysely } from 'kysely';
import { drizzle } from '../../../src/adapters/drizzle/index.js';
import { LiteFSDialect } from '../../../src/adapters/kysely/index.js';
import type { LiteFSDatabase } from '../../../src/index.js';
import { startInProcessPair } from '../../support/fake-cluster.js';
import { runDrizzleScenario, schema, transfer as drizzleTransfer } from './drizzle-app.js';
import { type KyselyAppDatabase, runKyselyScenario, transfer as kyselyTransfer } from './kysely-app.js';

let replica: LiteFSDatabase;
let close: (() => Promise<void>) | undefined;

before(async () => {
  ({ replica, close } = await startInProcessPair());
  assert.equal(replica.role, 'replica');
});

after(() => close?.());

test('Kysely: the application scenario passes on a replica, and concurrent transactions stay apart', async () => {
  const db = new Kysely<KyselyAppDatabase>({ dialect: new LiteFSDialect({ database: replica }) });
  const before = (await replica.status()).forwarding.forwarded;
  await runKyselyScenario(db);
  assert.ok((await replica.status()).forwarding.forwarded > before, 'the writes were forwarded');

  const { id } = await db.insertInto('kysely_users').values({ email: 'concurrent@example.com', name: 'C' }).returning('id').executeTakeFirstOrThrow();
  await db
    .insertInto('kysely_accounts')
    .values([
      { id: 'k-from', owner_id: id, balance: 10 },
      { id: 'k-to', owner_id: id, balance: 0 },
    ])
    .execute();
  const outcomes = await Promise.allSettled(Array.from({ length: 12 }, () => kyselyTransfer(db, 'k-from', 'k-to', 1)));
  assert.equal(outcomes.filter((outcome) => outcome.status === 'fulfilled').length, 10);
  const rows = await db.selectFrom('kysely_accounts').select(['id', 'balance']).where('id', 'in', ['k-from', 'k-to']).orderBy('id').execute();
  assert.deepEqual(rows, [
    { id: 'k-from', balance: 0 },
    { id: 'k-to', balance: 10 },
  ]);
});

test('Drizzle: the application scenario passes on a replica, and concurrent transactions stay apart', async () => {
  const db = drizzle(replica, { schema });
  const before = (await replica.status()).forwarding.forwarded;
  await runDrizzleScenario(db);
  assert.ok((await replica.status()).forwarding.forwarded > before, 'the writes were forwarded');

  const [owner] = await db.insert(schema.users).values({ email: 'concurrent@example.com', name: 'C' }).returning();
  await db.insert(schema.accounts).values([
    { id: 'd-from', ownerId: owner!.id, balance: 10 },
    { id: 'd-to', ownerId: owner!.id, balance: 0 },
  ]);
  const outcomes = await Promise.allSettled(Array.from({ length: 12 }, () => drizzleTransfer(db, 'd-from', 'd-to', 1)));
  assert.equal(outcomes.filter((outcome) => outcome.status === 'fulfilled').length, 10);
  const rows = await db.query.accounts.findMany({ where: (account, { inArray }) => inArray(account.id, ['d-from', 'd-to']), orderBy: (account, { asc }) => asc(account.id) });
  assert.deepEqual(
    rows.map((row) => row.balance),
    [0, 10],
  );
});
