// migrate() and schema gating on a cluster of two nodes, each with its own fake LiteFS (a real HTTP server speaking
// /events and /info, and a real .primary file): a replica waits for the primary's records, a primary change
// mid-run applies every file once, a lease lost under a command is a coded error, and gated reads wait, forward
// or refuse.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { gateSchema, type LiteFSDatabase, migrate, type MigrationError, openDatabase } from '../../src/index.js';
import { freePort, nodeOptions } from '../support/fake-cluster.js';
import { FakeLiteFS } from '../support/fake-litefs.js';

interface Pair {
  a: LiteFSDatabase;
  b: LiteFSDatabase;
  litefsA: FakeLiteFS;
  litefsB: FakeLiteFS;
  dir: string;
}

/**
 * node-a (primary) and node-b (replica), both with a listening endpoint, so either can be primary. With
 * `sharedFile`, node-b opens node-a's file (instant replication); otherwise its own copy, replicated by `copy()`.
 */
async function startPair(t: { after(fn: () => Promise<void>): void }, { sharedFile }: { sharedFile: boolean }): Promise<Pair> {
  const litefsA = await FakeLiteFS.start({ isPrimary: true });
  const litefsB = await FakeLiteFS.start({ isPrimary: false, primaryHostname: 'node-a' });
  const dir = mkdtempSync(join(tmpdir(), 'litefs-forward-migrate-int-'));
  const [portA, portB] = [await freePort(), await freePort()];
  const endpoint = (port: number) => ({ listen: { host: '127.0.0.1', port }, advertiseUrl: `http://127.0.0.1:${port}` });
  const a = await openDatabase(nodeOptions('node-a', litefsA, endpoint(portA)));
  if (!sharedFile) copy(litefsA.databasePath, litefsB.databasePath);
  const b = await openDatabase(nodeOptions('node-b', litefsB, { ...endpoint(portB), ...(sharedFile ? { path: litefsA.databasePath } : {}) }));
  t.after(async () => {
    await Promise.all([a.close(), b.close()]);
    await Promise.all([litefsA.close(), litefsB.close()]);
    rmSync(dir, { recursive: true, force: true });
  });
  return { a, b, litefsA, litefsB, dir };
}

/** Seeds a new replica's file with the primary's, as LiteFS's first sync does. */
function copy(from: string, to: string): void {
  const source = new BetterSqlite3(from, { readonly: true });
  try {
    source.exec(`VACUUM INTO '${to.replaceAll("'", "''")}'`);
  } finally {
    source.close();
  }
}

/**
 * Plays LiteFS's replication: the primary's whole file onto the replica's. In another process, as LiteFS is, and
 * synchronously: a backup run from this process would yield between its steps, and a replica's read that started
 * meanwhile would block this process's event loop on the backup's lock for its whole busy timeout.
 */
async function replicate(from: string, to: string): Promise<void> {
  const script = `const D = require('better-sqlite3'); const s = new D(process.argv[1], { readonly: true }); s.backup(process.argv[2]).then(() => s.close(), (e) => { console.error(e); process.exit(1); });`;
  execFileSync(process.execPath, ['-e', script, from, to], { stdio: ['ignore', 'ignore', 'inherit'] });
}

function writeSqlDir(dir: string, names: readonly string[]): string {
  for (const name of names) {
    writeFileSync(join(dir, name), `CREATE TABLE IF NOT EXISTS applied_log (name TEXT NOT NULL);\nCREATE TABLE IF NOT EXISTS "t_${name.replace('.sql', '')}" (v TEXT);\nINSERT INTO applied_log VALUES ('${name}');\n`);
  }
  return dir;
}

function appliedLog(path: string): string[] {
  const db = new BetterSqlite3(path, { readonly: true });
  try {
    return (db.prepare('SELECT name FROM applied_log ORDER BY rowid').all() as { name: string }[]).map((row) => row.name);
  } finally {
    db.close();
  }
}

async function waitFor(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Moves the lease from node-a to node-b, as LiteFS announces it to each node. */
async function handOver({ a, b, litefsA, litefsB }: Pair): Promise<void> {
  litefsA.setLease(false, 'node-b');
  litefsB.setLease(true);
  await waitFor(() => a.role === 'replica' && b.role === 'primary');
}

test('a replica waits until the primary has recorded the migrations and they have replicated here, then returns', async (t) => {
  const pair = await startPair(t, { sharedFile: false });
  const { a, b, litefsA, litefsB, dir } = pair;
  const sqlDir = writeSqlDir(dir, ['001_a.sql', '002_b.sql']);
  let replicaDone = false;
  const onReplica = migrate(b, { sqlDir, pollInterval: 10 }).finally(() => {
    replicaDone = true;
  });
  const onPrimary = await migrate(a, { sqlDir });
  assert.deepEqual(onPrimary.applied, ['001_a.sql', '002_b.sql']);
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(replicaDone, false, 'the replica returned before it had the records');
  await replicate(litefsA.databasePath, litefsB.databasePath);
  const result = await onReplica;
  assert.deepEqual(result, { applied: [], ranCommand: false, waited: true, interruptions: 0 });
  // It returned with the schema in its own file.
  assert.deepEqual(appliedLog(litefsB.databasePath), ['001_a.sql', '002_b.sql']);
  assert.equal(b.role, 'replica');
});

test('with a command, a replica never runs it: it waits for the primary to record this release, then returns', async (t) => {
  const { a, b, litefsA, litefsB, dir } = await startPair(t, { sharedFile: false });
  const log = join(dir, 'ran-on');
  const command = [process.execPath, '-e', `require('node:fs').appendFileSync(${JSON.stringify(log)}, process.env.NODE_LABEL + '\\n')`];
  let replicaDone = false;
  const onReplica = migrate(b, { command, id: 'release-3', env: { NODE_LABEL: 'b' }, stdio: 'ignore', pollInterval: 10 }).finally(() => {
    replicaDone = true;
  });
  assert.equal((await migrate(a, { command, id: 'release-3', env: { NODE_LABEL: 'a' }, stdio: 'ignore' })).ranCommand, true);
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.equal(replicaDone, false);
  await replicate(litefsA.databasePath, litefsB.databasePath);
  assert.deepEqual(await onReplica, { applied: [], ranCommand: false, waited: true, interruptions: 0 });
  assert.equal(readFileSync(log, 'utf8'), 'a\n');
});

test('a replica that waits past its deadline fails with MIGRATION_TIMEOUT saying what it waited for; an abort is ABORTED', async (t) => {
  const { b, dir } = await startPair(t, { sharedFile: false });
  const sqlDir = writeSqlDir(dir, ['001_a.sql']);
  await assert.rejects(migrate(b, { sqlDir, timeout: 300 }), (error: MigrationError) => {
    assert.equal(error.code, 'MIGRATION_TIMEOUT');
    assert.match(error.message, /within 300 ms on node-b \(replica\): it was waiting for the primary to record 001_a\.sql and this replica node \(node-b\) to replicate it/);
    return true;
  });
  const stop = new AbortController();
  const run = early(migrate(b, { sqlDir, signal: stop.signal }));
  setTimeout(() => stop.abort(), 100);
  await assert.rejects(run, { code: 'ABORTED' });
});

test('a primary change mid-run: the old primary stops, the new one finishes, and every file is applied exactly once', async (t) => {
  const pair = await startPair(t, { sharedFile: true });
  const { a, b, litefsA, dir } = pair;
  const sqlDir = writeSqlDir(dir, ['001.sql', '002.sql', '003.sql', '004.sql']);
  // node-b starts as a replica and waits; when the lease moves to it, it takes over.
  const onB = migrate(b, { sqlDir, pollInterval: 10, lockTtl: 2_000 });
  const onA = await migrate(a, {
    sqlDir,
    pollInterval: 10,
    lockTtl: 2_000,
    onApplied: async ({ migration }) => {
      if (migration === '001.sql') await handOver(pair);
    },
  });
  const resultB = await onB;
  assert.deepEqual(onA.applied, ['001.sql']);
  assert.equal(onA.interruptions, 1);
  assert.deepEqual(resultB.applied, ['002.sql', '003.sql', '004.sql']);
  assert.deepEqual(appliedLog(litefsA.databasePath), ['001.sql', '002.sql', '003.sql', '004.sql']);
  // Run again on both: nothing more.
  assert.deepEqual((await migrate(a, { sqlDir })).applied, []);
  assert.deepEqual((await migrate(b, { sqlDir })).applied, []);
  assert.equal(appliedLog(litefsA.databasePath).length, 4);
});

test('the lease lost while the command runs: the command is stopped, MIGRATION_INTERRUPTED, and a re-run on the new primary runs it', async (t) => {
  const pair = await startPair(t, { sharedFile: true });
  const { a, b, dir } = pair;
  const log = join(dir, 'command.log');
  const script = `const fs=require('node:fs');fs.appendFileSync(${JSON.stringify(log)},'start '+process.env.NODE_LABEL+'\\n');setTimeout(()=>{fs.appendFileSync(${JSON.stringify(log)},'end '+process.env.NODE_LABEL+'\\n')},Number(process.env.SLEEP_MS));`;
  const command = [process.execPath, '-e', script];
  const run = early(migrate(a, { command, id: 'release-7', env: { NODE_LABEL: 'a', SLEEP_MS: '5000' }, stdio: 'ignore' }));
  await waitFor(() => existsSync(log));
  await handOver(pair);
  await assert.rejects(run, (error: MigrationError) => {
    assert.equal(error.code, 'MIGRATION_INTERRUPTED');
    assert.equal(error.reason, 'lease-lost');
    assert.equal(error.migration, 'command:release-7');
    assert.match(error.message, /stopped being the primary while it ran command:release-7\. The command was stopped and is not recorded: run `litefs-forward migrate` again/);
    return true;
  });
  assert.equal(readFileSync(log, 'utf8'), 'start a\n');
  const rerun = await migrate(b, { command, id: 'release-7', env: { NODE_LABEL: 'b', SLEEP_MS: '10' }, stdio: 'ignore', lockTtl: 1_000, pollInterval: 20 });
  assert.equal(rerun.ranCommand, true);
  assert.equal(readFileSync(log, 'utf8'), 'start a\nstart b\nend b\n');
  // node-a, now a replica, finds it recorded.
  assert.deepEqual(await migrate(a, { command, id: 'release-7', stdio: 'ignore' }), { applied: [], ranCommand: false, waited: false, interruptions: 0 });
});

test('schema gating on a replica: refuse, forward and a bounded wait until the migration has replicated', async (t) => {
  const { a, b, litefsA, litefsB, dir } = await startPair(t, { sharedFile: false });
  const sqlDir = writeSqlDir(dir, ['001_a.sql']);
  await migrate(a, { sqlDir });
  const probe = `SELECT name FROM sqlite_master WHERE name = 't_001_a'`;
  assert.deepEqual(await b.all(probe), [], "the replica's own file lacks the table");

  const refuse = await gateSchema(b, { mode: 'refuse', sqlDir });
  assert.equal(refuse.ready, false);
  assert.deepEqual(refuse.missing, ['001_a.sql']);
  await assert.rejects(b.all(probe), (error: { code?: string; missing?: string[]; message: string }) => {
    assert.equal(error.code, 'SCHEMA_NOT_READY');
    assert.deepEqual(error.missing, ['001_a.sql']);
    assert.match(error.message, /node-b\) has not yet replicated the migration\(s\) 001_a\.sql/);
    return true;
  });
  // Read-only transactions are not gated.
  assert.deepEqual(await b.transaction((tx) => tx.all(probe), { readOnly: true }), []);
  refuse.close();
  assert.deepEqual(await b.all(probe), [], 'closed: reads are local again');

  const forward = await gateSchema(b, { mode: 'forward', sqlDir });
  const forwardedBefore = (await b.status()).forwarding.forwarded;
  assert.deepEqual(await b.all(probe), [{ name: 't_001_a' }], 'the primary answered');
  assert.equal((await b.status()).forwarding.forwarded, forwardedBefore + 1);
  forward.close();

  const wait = await gateSchema(b, { mode: 'wait', sqlDir, timeout: 5_000, pollInterval: 10 });
  await assert.rejects(b.all(probe, [], { timeout: 100 }), { code: 'SCHEMA_NOT_READY' });
  const stop = new AbortController();
  stop.abort();
  await assert.rejects(b.all(probe, [], { signal: stop.signal }), { code: 'ABORTED' });
  const waiting = b.all(probe);
  await new Promise((resolve) => setTimeout(resolve, 100));
  await replicate(litefsA.databasePath, litefsB.databasePath);
  assert.deepEqual(await waiting, [{ name: 't_001_a' }], 'read locally once replicated');
  assert.equal(wait.ready, true);
  const forwarded = (await b.status()).forwarding.forwarded;
  await b.all(probe);
  assert.equal((await b.status()).forwarding.forwarded, forwarded, 'the open gate removed itself: reads are local');
  wait.close();
});

test('the primary is never gated, and a gate on a node that already has the migrations is open at once', async (t) => {
  const { a, dir } = await startPair(t, { sharedFile: false });
  const sqlDir = writeSqlDir(dir, ['001_a.sql']);
  const gate = await gateSchema(a, { mode: 'refuse', sqlDir });
  assert.equal(gate.ready, false);
  assert.deepEqual(await a.all('SELECT 1 AS one'), [{ one: 1 }]);
  await migrate(a, { sqlDir });
  await gate.waitUntilReady({ timeout: 2_000 });
  gate.close();
  const open = await gateSchema(a, { mode: 'refuse', sqlDir });
  assert.equal(open.ready, true);
  await assert.rejects(gateSchema(a, { mode: 'sometimes' as never, sqlDir }), { code: 'CONFIG_INVALID', option: 'mode' });
  await assert.rejects(gateSchema(a, { mode: 'wait' }), { code: 'CONFIG_INVALID', option: 'sqlDir' });
});

/** Marks the promise handled now: it may reject before the test gets to `assert.rejects` it. */
function early<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => {});
  return promise;
}
