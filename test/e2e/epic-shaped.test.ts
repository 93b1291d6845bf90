// Issue 14 on real LiteFS + Consul: the Epic-shaped example (examples/epic-shaped) on a 3-node cluster, started as
// its litefs.yml starts it (`litefs-forward migrate`, then the app). Writes that LiteFS's proxy cannot forward (a
// GET, a background job, a websocket) are forwarded from replicas; a migration run while the primary dies is
// applied once; both databases end the same on every node.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { WebSocket } from 'ws';
import { Cluster, type ClusterNode } from '../harness/cluster.js';
import { waitFor } from '../harness/util.js';
import { http, SECRET } from './support/app.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const SERVER = fileURLToPath(new URL('../../examples/epic-shaped/server.js', import.meta.url));
const PRISMA_MIGRATIONS = fileURLToPath(new URL('../../../test/fixtures/prisma/migrations', import.meta.url));

/** Reads one of a node's databases through its mount. */
function rows<T>(node: ClusterNode, file: string, sql: string): T[] {
  const db = new Database(join(node.mountDir, file), { readonly: true, fileMustExist: true, timeout: 2_000 });
  try {
    return db.prepare(sql).all() as T[];
  } catch {
    return [];
  } finally {
    db.close();
  }
}

function migrateArgs(node: ClusterNode, sqlDir: string, advertiseUrl: string): string[] {
  return [CLI, 'migrate', '--path', join(node.mountDir, 'sqlite.db'), '--mode', 'litefs', '--litefs-url', node.httpUrl, '--hostname', node.name, '--advertise-url', advertiseUrl, '--sql-dir', sqlDir];
}

describe('the Epic-shaped example on a 3-node LiteFS cluster', { timeout: 600_000 }, () => {
  let cluster: Cluster;
  let node1: ClusterNode;
  let node2: ClusterNode;
  let node3: ClusterNode;
  let sqlDir: string;

  before(async () => {
    cluster = await Cluster.start({
      nodes: 3,
      lease: 'consul',
      leaseTtl: '2s',
      dbName: 'sqlite.db',
      // What litefs.yml's exec does on each node: the migration, then the app.
      app: (node) => {
        const advertiseUrl = `http://127.0.0.1:${node.appPort}`;
        const migrate = migrateArgs(node, PRISMA_MIGRATIONS, advertiseUrl).map((arg) => JSON.stringify(arg)).join(' ');
        return {
          command: 'sh',
          args: ['-c', `${JSON.stringify(process.execPath)} ${migrate} --timeout 60000 && exec ${JSON.stringify(process.execPath)} ${JSON.stringify(SERVER)}`],
          env: { LITEFS_FORWARD_SECRET: SECRET, ADVERTISE_URL: advertiseUrl, JOB_INTERVAL_MS: '200' },
          port: node.appPort,
          readyPath: '/health',
        };
      },
    });
    [node1, node2, node3] = cluster.nodes as [ClusterNode, ClusterNode, ClusterNode];
    sqlDir = mkdtempSync(join(tmpdir(), 'litefs-forward-e2e-epic-'));
    writeFileSync(join(sqlDir, '001_log.sql'), "CREATE TABLE m_log (name TEXT NOT NULL);\nCREATE TABLE m_rows (id INTEGER PRIMARY KEY, v TEXT NOT NULL);\nINSERT INTO m_log VALUES ('001');\n");
    // Slow on purpose: the primary is killed while it may be running.
    writeFileSync(join(sqlDir, '002_backfill.sql'), "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300000) INSERT INTO m_rows (v) SELECT 'row-' || i FROM n;\nINSERT INTO m_log VALUES ('002');\n");
    writeFileSync(join(sqlDir, '003_index.sql'), "CREATE INDEX m_rows_v ON m_rows (v);\nINSERT INTO m_log VALUES ('003');\n");
  });
  after(async () => {
    await cluster?.close();
    if (sqlDir) rmSync(sqlDir, { recursive: true, force: true });
  });

  test("the migration ran from exec on every node, once, on the primary, before any app served", () => {
    const records = rows<{ name: string; node: string }>(node1, 'sqlite.db', 'SELECT name, node FROM _litefs_forward_migrations ORDER BY name');
    assert.deepEqual(
      records.map((record) => record.name),
      ['20240101000000_init/migration.sql', '20240201000000_profiles_and_samples/migration.sql'],
    );
    assert.ok(records.every((record) => record.node === 'node1'), JSON.stringify(records));
    for (const node of [node2, node3]) assert.equal(rows(node, 'sqlite.db', "SELECT name FROM sqlite_master WHERE name = 'prisma_users'").length, 1, node.name);
  });

  test('on replicas: a GET that writes, a websocket that writes and a background job that writes are forwarded, and read back on any node', async () => {
    const visit = await http(`${node2.appUrl}/users/${encodeURIComponent('ada@example.com')}/visit`);
    assert.equal(visit.status, 200, JSON.stringify(visit.json));
    assert.equal(visit.json.servedBy, 'node2');
    // The token names a position in each database; another replica waits for both before it answers.
    const token = visit.headers.get('x-litefs-txid') ?? '';
    assert.match(token, /^sqlite\.db=[0-9a-f]{16}\.[0-9a-f]{16}&cache\.db=[0-9a-f]{16}\.[0-9a-f]{16}$/);
    const users = await http(`${node3.appUrl}/users`, 'GET', undefined, { 'x-litefs-txid': token });
    assert.ok(users.json.some((user: { email: string }) => user.email === 'ada@example.com'), JSON.stringify(users.json));

    const socket = new WebSocket(`ws://127.0.0.1:${node3.appPort}/ws`);
    const answer = await new Promise<{ id: number; servedBy: string }>((resolve, reject) => {
      socket.once('open', () => socket.send(JSON.stringify({ email: 'socket@example.com' })));
      socket.once('message', (data) => resolve(JSON.parse(String(data))));
      socket.once('error', reject);
    });
    socket.close();
    assert.equal(answer.servedBy, 'node3');
    assert.equal(typeof answer.id, 'number');

    await waitFor(
      () => {
        const emails = rows<{ email: string }>(node1, 'sqlite.db', 'SELECT email FROM prisma_users').map((row) => row.email);
        const jobs = new Map(rows<{ key: string; value: string }>(node1, 'cache.db', "SELECT key, value FROM cache_entries WHERE key LIKE 'job:%'").map((row) => [row.key, Number(row.value)]));
        return emails.includes('ada@example.com') && emails.includes('socket@example.com') && (jobs.get('job:node2') ?? 0) >= 3 && (jobs.get('job:node3') ?? 0) >= 3;
      },
      { timeoutMs: 20_000, description: "the GET's, the websocket's and both replicas' jobs' writes on the primary" },
    );
    assert.equal(rows(node1, 'cache.db', "SELECT key FROM cache_entries WHERE key = 'visit:ada@example.com'").length, 1);
  });

  test('a migration run on every node while the primary is killed: each file applied once, by whichever node is primary', async (t) => {
    const runs = [node1, node2, node3].map((node) => {
      const args = [...migrateArgs(node, sqlDir, `http://127.0.0.1:${node.appPort}`), '--lock-ttl', '3000', '--timeout', '120000', '--json', '--verbose'];
      const child = spawn(process.execPath, args, { env: { ...process.env, LITEFS_FORWARD_SECRET: SECRET }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk) => {
        stdout += chunk;
      });
      child.stderr.on('data', (chunk) => {
        stderr += chunk;
      });
      const done = new Promise<{ node: string; code: number; stdout: string; stderr: string }>((resolve) => {
        child.once('close', (code) => resolve({ node: node.name, code: code ?? -1, stdout, stderr }));
      });
      return { node, done, stderr: () => stderr, kill: () => child.kill('SIGKILL') };
    });
    // Kill node1 (LiteFS, app and its migrate run) as soon as its run reports the first file: mid-backfill, most
    // likely. Its own log says so, with no read of a database that the backfill holds locked.
    try {
      await waitFor(() => runs[0]!.stderr().includes('applied 001_log.sql'), { timeoutMs: 60_000, intervalMs: 5, description: "node1's run applied 001_log.sql" });
    } catch (error) {
      for (const run of runs) run.kill();
      const said = (await Promise.all(runs.map((run) => run.done))).map((run) => `${run.node} (exit ${run.code}):\n${run.stderr}`).join('\n');
      throw new Error(`${(error as Error).message}\n${said}`);
    }
    const killedAfter = rows<{ name: string }>(node1, 'sqlite.db', "SELECT name FROM m_log").map((row) => row.name);
    runs[0]!.kill();
    await node1.kill();
    const next = await cluster.waitForPrimary({ exclude: node1, timeoutMs: 60_000 });
    const [, second, third] = await Promise.all(runs.map((run) => run.done));
    t.diagnostic(`node1 had applied ${JSON.stringify(killedAfter)} when it was killed; ${next.name} took over and finished`);
    assert.equal(second!.code, 0, second!.stderr);
    assert.equal(third!.code, 0, third!.stderr);
    // Every node left has each file once, with its record, whoever applied it.
    for (const node of [node2, node3]) {
      await waitFor(() => rows(node, 'sqlite.db', 'SELECT name FROM m_log').length === 3, { timeoutMs: 30_000, description: `${node.name} has all three files` });
      assert.deepEqual(
        rows<{ name: string }>(node, 'sqlite.db', 'SELECT name FROM m_log ORDER BY rowid').map((row) => row.name),
        ['001', '002', '003'],
        `${node.name} (node1 had applied ${JSON.stringify(killedAfter)} when killed; ${next.name} took over)`,
      );
      assert.deepEqual(rows(node, 'sqlite.db', 'SELECT count(*) AS n, count(DISTINCT v) AS d FROM m_rows'), [{ n: 300_000, d: 300_000 }]);
      assert.deepEqual(
        rows<{ name: string }>(node, 'sqlite.db', "SELECT name FROM _litefs_forward_migrations WHERE name LIKE '00%' ORDER BY name").map((row) => row.name),
        ['001_log.sql', '002_backfill.sql', '003_index.sql'],
      );
    }
  });

  test('both databases are the same on every node, node1 included once it is back', async () => {
    await node1.start({ timeoutMs: 60_000 });
    // The apps go quiet (no more job ticks), then every node must hold the same rows in both files.
    for (const node of [node1, node2, node3]) await node.stopApp();
    const dump = (node: ClusterNode) => ({
      users: rows(node, 'sqlite.db', 'SELECT id, email FROM prisma_users ORDER BY id'),
      migrations: rows(node, 'sqlite.db', 'SELECT name FROM _litefs_forward_migrations ORDER BY name'),
      cache: rows(node, 'cache.db', 'SELECT key, value, node FROM cache_entries ORDER BY key'),
    });
    const primary = await cluster.waitForPrimary({ timeoutMs: 30_000 });
    await waitFor(
      () => {
        const expected = JSON.stringify(dump(primary));
        return [node1, node2, node3].every((node) => JSON.stringify(dump(node)) === expected);
      },
      { timeoutMs: 30_000, description: 'sqlite.db and cache.db identical on all three nodes' },
    );
    const final = dump(primary);
    assert.ok(final.users.length >= 2);
    assert.ok(final.cache.length >= 3);
  });
});
