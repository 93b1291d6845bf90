// `litefs-forward migrate` on a real LiteFS cluster: invoked on a replica and on the primary at the same time, as
// every node does at start-up. Each SQL file is applied once, by the primary, and the replica returns only once
// its own copy has the schema.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { Cluster, type ClusterNode, freePort } from '../harness/cluster.js';
import { query, SECRET } from './support/app.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  /** What the node's own file held when the process exited. */
  atExit: { log: string[]; tables: string[] };
}

describe('litefs-forward migrate on a real LiteFS cluster', { timeout: 300_000 }, () => {
  let cluster: Cluster;
  let node1: ClusterNode;
  let node2: ClusterNode;
  let sqlDir: string;

  before(async () => {
    // No app: the migrate processes are the only users of the database, and the primary's creates it.
    cluster = await Cluster.start({ nodes: 2, lease: 'consul', dbName: 'app.db' });
    [node1, node2] = cluster.nodes as [ClusterNode, ClusterNode];
    sqlDir = mkdtempSync(join(tmpdir(), 'litefs-forward-e2e-migrations-'));
    mkdirSync(sqlDir, { recursive: true });
    writeFileSync(join(sqlDir, '001_init.sql'), 'CREATE TABLE applied_log (name TEXT NOT NULL);\nCREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL);\nINSERT INTO applied_log VALUES (\'001_init.sql\');\n');
    // Slow on purpose (a few hundred ms of writes), so the replica is still waiting while the primary works.
    writeFileSync(
      join(sqlDir, '002_backfill.sql'),
      "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200000) INSERT INTO items (name) SELECT 'item-' || i FROM n;\nINSERT INTO applied_log VALUES ('002_backfill.sql');\n",
    );
    writeFileSync(join(sqlDir, '003_index.sql'), "CREATE INDEX items_name ON items (name);\nINSERT INTO applied_log VALUES ('003_index.sql');\n");
  });
  after(async () => {
    await cluster?.close();
    if (sqlDir) rmSync(sqlDir, { recursive: true, force: true });
  });

  async function runMigrate(node: ClusterNode): Promise<Run> {
    const advertisePort = await freePort();
    const args = [
      CLI,
      'migrate',
      '--path',
      node.dbPath,
      '--mode',
      'litefs',
      '--litefs-url',
      node.httpUrl,
      '--hostname',
      node.name,
      '--advertise-url',
      `http://127.0.0.1:${advertisePort}`,
      '--sql-dir',
      sqlDir,
      '--timeout',
      '120000',
      '--json',
      '--verbose',
    ];
    return new Promise((resolve) => {
      execFile(process.execPath, args, { env: { ...process.env, LITEFS_FORWARD_SECRET: SECRET }, timeout: 150_000 }, (error, stdout, stderr) => {
        // Read the node's own file the moment the process is gone: what it had when it returned.
        const tables = query<{ name: string }>(node, "SELECT name FROM sqlite_master WHERE name IN ('applied_log', 'items', 'items_name')").map((row) => row.name);
        const atExit = {
          log: tables.includes('applied_log') ? query<{ name: string }>(node, 'SELECT name FROM applied_log ORDER BY rowid').map((row) => row.name) : [],
          tables: tables.filter((name) => name !== 'applied_log').sort(),
        };
        resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout, stderr, atExit });
      });
    });
  }

  test('invoked on a replica and the primary at once: each file applied once, the replica returns with the schema', async (t) => {
    const primary = await cluster.primary();
    assert.equal(primary, node1);
    // The replica first: it must wait for the primary, not migrate on its own.
    const onReplica = runMigrate(node2);
    const onPrimary = runMigrate(node1);
    const [replicaRun, primaryRun] = await Promise.all([onReplica, onPrimary]);
    t.diagnostic(`primary (${node1.name}):\n${primaryRun.stderr}${primaryRun.stdout}`);
    t.diagnostic(`replica (${node2.name}):\n${replicaRun.stderr}${replicaRun.stdout}`);
    assert.equal(primaryRun.code, 0, `${primaryRun.stderr}\n${cluster.dumpLogs(20)}`);
    assert.equal(replicaRun.code, 0, `${replicaRun.stderr}\n${cluster.dumpLogs(20)}`);
    const primaryResult = JSON.parse(primaryRun.stdout) as { role: string; applied: string[]; waited: boolean };
    const replicaResult = JSON.parse(replicaRun.stdout) as { role: string; applied: string[]; waited: boolean; txid?: string };
    assert.equal(primaryResult.role, 'primary');
    assert.deepEqual(primaryResult.applied, ['001_init.sql', '002_backfill.sql', '003_index.sql']);
    assert.equal(replicaResult.role, 'replica');
    assert.deepEqual(replicaResult.applied, []);
    assert.equal(replicaResult.waited, true, replicaRun.stderr);
    assert.match(replicaResult.txid ?? '', /^[0-9a-f]{16}$/);

    // When the replica's process ended, its own copy already had every file's schema and record.
    assert.deepEqual(replicaRun.atExit.log, ['001_init.sql', '002_backfill.sql', '003_index.sql']);
    assert.deepEqual(replicaRun.atExit.tables, ['items', 'items_name']);

    // Exactly once, on both nodes: one record and one log row per file, and the backfill's rows once.
    for (const node of [node1, node2]) {
      assert.deepEqual(
        query<{ name: string; n: number }>(node, 'SELECT name, count(*) AS n FROM _litefs_forward_migrations GROUP BY name ORDER BY name'),
        [
          { name: '001_init.sql', n: 1 },
          { name: '002_backfill.sql', n: 1 },
          { name: '003_index.sql', n: 1 },
        ],
      );
      assert.deepEqual(query<{ name: string }>(node, 'SELECT name FROM applied_log ORDER BY rowid').map((row) => row.name), ['001_init.sql', '002_backfill.sql', '003_index.sql']);
      assert.deepEqual(query<{ n: number }>(node, 'SELECT count(*) AS n FROM items'), [{ n: 200_000 }]);
      assert.deepEqual(query(node, 'SELECT * FROM _litefs_forward_migrations_lock'), [], 'the lock was released');
    }

    // A second deploy's run finds nothing to do on either node.
    const [again1, again2] = await Promise.all([runMigrate(node1), runMigrate(node2)]);
    assert.equal(again1.code, 0, again1.stderr);
    assert.equal(again2.code, 0, again2.stderr);
    assert.deepEqual(JSON.parse(again1.stdout).applied, []);
    assert.equal(JSON.parse(again2.stdout).waited, false);
  });
});
