// Prisma on a replica: every write, nested write, batch and transaction is forwarded to a primary over HTTP,
// with the application code of the unit tests and only the construction line changed. The replica opens the
// primary's own file, which stands in for LiteFS's replication (instant, no lag).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { PrismaLiteFS } from '../../../src/adapters/prisma/index.js';
import type { LiteFSDatabase } from '../../../src/index.js';
import { PrismaClient } from '../../fixtures/prisma/generated/client.js';
import { startInProcessPair } from '../../support/fake-cluster.js';
import { isUniqueViolation, runPrismaScenario, transfer } from './prisma-app.js';

let primary: LiteFSDatabase;
let replica: LiteFSDatabase;
let close: (() => Promise<void>) | undefined;
let onReplica: PrismaClient;
let onPrimary: PrismaClient;

before(async () => {
  ({ primary, replica, close } = await startInProcessPair());
  assert.equal(replica.role, 'replica');
  onReplica = new PrismaClient({ adapter: new PrismaLiteFS(replica) });
  onPrimary = new PrismaClient({ adapter: new PrismaLiteFS(primary) });
});

after(async () => {
  await onReplica?.$disconnect();
  await onPrimary?.$disconnect();
  await close?.();
});

test('a statement that fails in a remote transaction leaves the transaction usable, and its rollback ends it', async () => {
  await replica.exec('CREATE TABLE IF NOT EXISTS remote_steps (id INTEGER PRIMARY KEY)');
  await onReplica.$transaction(async (tx) => {
    await tx.$executeRaw`INSERT INTO remote_steps (id) VALUES (1)`;
    // SQLite undoes the failed statement only; the transaction goes on, as it does on the primary.
    await assert.rejects(tx.$executeRaw`INSERT INTO remote_steps (id) VALUES (1)`, { code: 'P2010' });
    await tx.$executeRaw`INSERT INTO remote_steps (id) VALUES (2)`;
  });
  assert.deepEqual(await replica.values('SELECT id FROM remote_steps ORDER BY id'), [[1], [2]]);
  // A batch that fails is rolled back at once, without waiting for the primary's idle timeout.
  await assert.rejects(onReplica.$transaction([onReplica.$executeRaw`INSERT INTO remote_steps (id) VALUES (3)`, onReplica.$executeRaw`INSERT INTO remote_steps (id) VALUES (1)`]), {
    code: 'P2010',
  });
  assert.equal((await primary.status()).forwarding.sessions, 0, 'the failed batch is not left open on the primary');
  assert.deepEqual(await replica.values('SELECT id FROM remote_steps ORDER BY id'), [[1], [2]]);
});

test('the application scenario passes on a replica (migrations included), then on the primary', async () => {
  const before = (await replica.status()).forwarding.forwarded;
  await runPrismaScenario(onReplica);
  assert.ok((await replica.status()).forwarding.forwarded > before, 'the writes were forwarded');
  const { forwarding } = await primary.status();
  assert.equal(forwarding.sessions, 0, 'every remote transaction ended on the primary');
  await runPrismaScenario(onPrimary);
});

test('interactive transactions from a replica are remote sessions that stay apart', async () => {
  const owner = await onReplica.user.create({ data: { email: `concurrent-${Date.now()}@example.com` } });
  await onReplica.account.createMany({
    data: [
      { id: 'p-from', ownerId: owner.id, balance: 10 },
      { id: 'p-to', ownerId: owner.id, balance: 0 },
    ],
  });
  const outcomes = await Promise.allSettled(Array.from({ length: 12 }, () => transfer(onReplica, 'p-from', 'p-to', 1)));
  assert.equal(outcomes.filter((outcome) => outcome.status === 'fulfilled').length, 10);
  const rows = await onReplica.account.findMany({ where: { id: { in: ['p-from', 'p-to'] } }, orderBy: { id: 'asc' } });
  assert.deepEqual(
    rows.map((row) => row.balance),
    [0, 10],
  );

  // While a replica's transaction is open, the primary holds it: its write waits, its read does not see it.
  let sessionsWhileOpen = -1;
  await assert.rejects(
    onReplica.$transaction(async (tx) => {
      await tx.account.update({ where: { id: 'p-to' }, data: { balance: 1000 } });
      sessionsWhileOpen = (await primary.status()).forwarding.sessions;
      assert.equal((await onPrimary.account.findUniqueOrThrow({ where: { id: 'p-to' } })).balance, 10);
      await tx.user.create({ data: { email: owner.email } });
    }),
    (error) => isUniqueViolation(error),
  );
  assert.equal(sessionsWhileOpen, 1);
  assert.equal((await onReplica.account.findUniqueOrThrow({ where: { id: 'p-to' } })).balance, 10);
  assert.equal((await primary.status()).forwarding.sessions, 0);
});
