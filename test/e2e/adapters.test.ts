// The ORM adapters on a real LiteFS replica: the same application code as in the unit tests, with only the
// construction line changed, runs in this process against node2's mount and forwards to node1's app.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Kysely } from 'kysely';
import { drizzle } from '../../src/adapters/drizzle/index.js';
import { LiteFSDialect } from '../../src/adapters/kysely/index.js';
import { PrismaLiteFS } from '../../src/adapters/prisma/index.js';
import type { LiteFSDatabase } from '../../src/index.js';
import { Cluster, type ClusterNode } from '../harness/cluster.js';
import { PrismaClient } from '../fixtures/prisma/generated/client.js';
import { runDrizzleScenario, schema } from '../unit/adapters/drizzle-app.js';
import { type KyselyAppDatabase, runKyselyScenario } from '../unit/adapters/kysely-app.js';
import { runPrismaScenario } from '../unit/adapters/prisma-app.js';
import { appSpec, openOnNode, query } from './support/app.js';

describe('adapters on a real LiteFS replica', { timeout: 300_000 }, () => {
  let cluster: Cluster;
  let node1: ClusterNode;
  let node2: ClusterNode;
  let replica: LiteFSDatabase;

  before(async () => {
    cluster = await Cluster.start({ nodes: 2, lease: 'consul', dbName: 'app.db', app: (node) => appSpec(node) });
    [node1, node2] = cluster.nodes as [ClusterNode, ClusterNode];
    // This process only reads and forwards; it never becomes primary here, so nobody dials its address.
    replica = await openOnNode(node2);
    assert.equal(replica.role, 'replica');
  });
  after(async () => {
    await replica?.close();
    await cluster?.close();
  });

  test('Kysely', async () => {
    const db = new Kysely<KyselyAppDatabase>({ dialect: new LiteFSDialect({ database: replica }) });
    const before = (await replica.status()).forwarding.forwarded;
    await runKyselyScenario(db);
    assert.ok((await replica.status()).forwarding.forwarded > before, 'the writes were forwarded');
    assert.ok(query<{ n: number }>(node1, 'SELECT count(*) AS n FROM kysely_users')[0]!.n > 0, 'the rows are on the primary');
  });

  test('Drizzle', async () => {
    const db = drizzle(replica, { schema });
    const before = (await replica.status()).forwarding.forwarded;
    await runDrizzleScenario(db);
    assert.ok((await replica.status()).forwarding.forwarded > before, 'the writes were forwarded');
    assert.ok(query<{ n: number }>(node1, 'SELECT count(*) AS n FROM drizzle_users')[0]!.n > 0, 'the rows are on the primary');
  });

  test('Prisma', async () => {
    const prisma = new PrismaClient({ adapter: new PrismaLiteFS(replica) });
    try {
      const before = (await replica.status()).forwarding.forwarded;
      await runPrismaScenario(prisma);
      assert.ok((await replica.status()).forwarding.forwarded > before, 'the writes were forwarded');
      assert.ok(query<{ n: number }>(node1, 'SELECT count(*) AS n FROM prisma_users')[0]!.n > 0, 'the rows are on the primary');
    } finally {
      await prisma.$disconnect();
    }
  });
});
