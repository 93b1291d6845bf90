// End-to-end checks of the cluster harness against real LiteFS + Consul.
// Needs `bash scripts/install-cluster-tools.sh`, root and /dev/fuse.
// Run: npx tsc -p tsconfig.json && node --test dist/test/e2e/harness.test.js
import { strict as assert } from 'node:assert';
import { existsSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { Cluster, type ClusterNode, fuseMountsUnder } from '../harness/cluster.js';
import { findClusterProcesses, pidAlive } from '../harness/processes.js';
import { sleep, waitFor } from '../harness/util.js';

type Row = { id: number; note: string };

function openDb(node: ClusterNode): Database.Database {
  const db = new Database(node.dbPath, { timeout: 5_000 });
  db.pragma('journal_mode = WAL');
  return db;
}

/** Reads all rows of `notes` on `node`, or undefined while the table/rows are not there yet. */
function readNotes(node: ClusterNode): Row[] | undefined {
  if (!existsSync(node.dbPath)) return undefined;
  const db = new Database(node.dbPath, { fileMustExist: true, timeout: 1_000 });
  try {
    return db.prepare('SELECT id, note FROM notes ORDER BY id').all() as Row[];
  } catch {
    return undefined;
  } finally {
    db.close();
  }
}

async function waitForNotes(node: ClusterNode, count: number, timeoutMs = 10_000): Promise<Row[]> {
  return waitFor(
    () => {
      const rows = readNotes(node);
      return rows !== undefined && rows.length >= count ? rows : undefined;
    },
    { timeoutMs, intervalMs: 50, description: `${node.name} to have ${count} row(s) in notes` },
  );
}

describe('cluster harness (3 nodes, consul lease)', { timeout: 300_000 }, () => {
  let cluster: Cluster;
  let rootDir = '';
  let allPids: number[] = [];

  before(async () => {
    const startedAt = Date.now();
    cluster = await Cluster.start({
      nodes: 3,
      lease: 'consul',
      log: process.env['HARNESS_VERBOSE'] ? (line) => console.log(line) : undefined,
    });
    rootDir = cluster.rootDir;
    console.log(`# cluster started in ${Date.now() - startedAt}ms at ${rootDir}`);
  });

  after(async () => {
    await cluster?.close();
  });

  test('exactly one primary, and every node agrees on it', async () => {
    const primary = await cluster.primary();
    assert.equal(primary.name, 'node1', 'node1 is started first and must win the lease');
    const agreed = await cluster.waitForAgreement({ timeoutMs: 15_000 });
    assert.equal(agreed, primary);
    const infos = await cluster.infos();
    assert.equal(infos.size, 3);
    const primaries = [...infos].filter(([, info]) => info.isPrimary);
    assert.equal(primaries.length, 1);
    for (const [node, info] of infos) {
      assert.equal(info.primary?.hostname, 'node1', `${node.name} /info primary.hostname`);
      assert.equal(info.candidate, true);
    }
    for (const node of cluster.nodes) {
      assert.ok(fuseMountsUnder(node.mountDir).includes(node.mountDir), `${node.name} mount is FUSE`);
    }
    allPids = cluster.livePids();
    assert.equal(allPids.length, 4, '3 litefs + 1 consul');
  });

  test('a row written on the primary is readable on the replicas', async () => {
    const primary = await cluster.primary();
    const db = openDb(primary);
    try {
      db.exec('CREATE TABLE notes (id INTEGER PRIMARY KEY, note TEXT NOT NULL)');
      db.prepare('INSERT INTO notes (note) VALUES (?)').run('hello from node1');
      db.prepare('INSERT INTO notes (note) VALUES (?)').run('second row');
    } finally {
      db.close();
    }
    const replicas = await cluster.replicas();
    assert.equal(replicas.length, 2);
    for (const replica of replicas) {
      const t0 = Date.now();
      const rows = await waitForNotes(replica, 2, 5_000);
      assert.deepEqual(
        rows.map((r) => r.note),
        ['hello from node1', 'second row'],
      );
      console.log(`# ${replica.name} saw the rows after ${Date.now() - t0}ms`);
    }
    // A write on a replica is refused by LiteFS (EACCES → SQLITE_IOERR / READONLY).
    const replicaDb = new Database(replicas[0]!.dbPath, { fileMustExist: true });
    try {
      assert.throws(() => replicaDb.prepare('INSERT INTO notes (note) VALUES (?)').run('must fail'));
    } finally {
      replicaDb.close();
    }
  });

  test('kill -9 of the primary: a replica takes over with all rows, and accepts writes', async () => {
    const oldPrimary = await cluster.primary();
    const t0 = Date.now();
    await oldPrimary.kill();
    assert.equal(oldPrimary.litefsRunning, false);
    const newPrimary = await cluster.waitForPrimary({ exclude: oldPrimary, timeoutMs: 60_000 });
    const failoverMs = Date.now() - t0;
    console.log(`# failover: ${oldPrimary.name} killed -> ${newPrimary.name} primary after ${failoverMs}ms`);
    assert.notEqual(newPrimary, oldPrimary);

    const rows = readNotes(newPrimary);
    assert.deepEqual(
      rows?.map((r) => r.note),
      ['hello from node1', 'second row'],
    );
    const db = openDb(newPrimary);
    try {
      db.prepare('INSERT INTO notes (note) VALUES (?)').run(`written on ${newPrimary.name}`);
    } finally {
      db.close();
    }
    const survivor = cluster.nodes.find((n) => n !== oldPrimary && n !== newPrimary)!;
    await waitFor(
      async () => (await survivor.tryInfo())?.primary?.hostname === newPrimary.name,
      { timeoutMs: 30_000, description: `${survivor.name} to follow ${newPrimary.name}` },
    );
    assert.equal((await waitForNotes(survivor, 3)).length, 3);

    // The old primary comes back as a replica of the new one and catches up.
    const t1 = Date.now();
    await oldPrimary.startLiteFS({ wait: 'connected', timeoutMs: 60_000 });
    const info = await oldPrimary.info();
    assert.equal(info.isPrimary, false);
    assert.equal(info.primary?.hostname, newPrimary.name);
    assert.equal((await waitForNotes(oldPrimary, 3)).length, 3);
    console.log(`# ${oldPrimary.name} rejoined as a replica after ${Date.now() - t1}ms`);
    allPids = [...new Set([...allPids, ...cluster.livePids()])];
  });

  test('close() leaves no FUSE mount and no process behind', async () => {
    allPids = [...new Set([...allPids, ...cluster.livePids()])];
    const t0 = Date.now();
    await cluster.close();
    console.log(`# close took ${Date.now() - t0}ms`);
    assert.deepEqual(fuseMountsUnder(rootDir), []);
    await sleep(100);
    assert.deepEqual(
      allPids.filter((pid) => pidAlive(pid)),
      [],
    );
    assert.deepEqual(findClusterProcesses((path) => path.startsWith(rootDir)), []);
    assert.equal(existsSync(rootDir), false, 'root dir removed');
    // Idempotent.
    await cluster.close();
  });
});
