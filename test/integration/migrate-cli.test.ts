// `litefs-forward migrate`: the compiled CLI as a child process, locally and as a replica of a fake LiteFS node.
import assert from 'node:assert/strict';
import { type ChildProcess, execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { migrate, openDatabase } from '../../src/index.js';
import { freePort, nodeOptions, TEST_SECRET } from '../support/fake-cluster.js';
import { FakeLiteFS } from '../support/fake-litefs.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: string[], env: Record<string, string> = {}, started?: (child: ChildProcess) => void): Promise<Run> {
  const { LITEFS_FORWARD_SECRET: _s, LITEFS_FORWARD_PATH: _p, LITEFS_FORWARD_MIGRATION_ID: _i, FLY_IMAGE_REF: _f, ...base } = process.env;
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [CLI, ...args], { env: { ...base, ...env }, timeout: 30_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
      resolve({ code, stdout, stderr });
    });
    started?.(child);
  });
}

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'litefs-forward-migrate-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('usage errors exit 2 and say what is missing', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'app.db');
  for (const [args, message] of [
    [['migrate', '--sql-dir', dir], /no database: pass --path/],
    [['migrate', '--path', path], /nothing to migrate/],
    [['migrate', '--path', path, '--', 'true'], /a command needs --id/],
    [['migrate', '--path', path, '--sql-dir', dir, '--'], /nothing after --/],
    [['migrate', '--path', path, '--sql-dir', dir, '--timeout', 'soon'], /--timeout must be a positive integer \(ms\), got "soon"/],
    [['migrate', '--path', path, '--sql-dir', dir, 'extra'], /unexpected argument "extra" \(put the command after --\)/],
    [['migrate', '--path', path, '--sql-dir', dir, '--bogus'], /Unknown option '--bogus'/],
  ] as const) {
    const run = await cli([...args]);
    assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
    assert.match(run.stderr, message);
  }
  const help = await cli(['migrate', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /Usage: litefs-forward migrate --path <db>/);
});

test('locally: applies the SQL files and the command, prints JSON; a failing file exits 1 with its code', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'app.db');
  const sqlDir = join(dir, 'migrations');
  mkdirSync(sqlDir);
  writeFileSync(join(sqlDir, '001_init.sql'), 'CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT);\n');
  const marker = join(dir, 'ran');
  const command = [process.execPath, '-e', `require('node:fs').writeFileSync(${JSON.stringify(marker)}, process.env.DATABASE_URL)`];
  const run = await cli(['migrate', '--path', path, '--mode', 'local', '--sql-dir', sqlDir, '--id', 'v1', '--json', '--', ...command]);
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(JSON.parse(run.stdout), { node: JSON.parse(run.stdout).node, role: 'standalone', applied: ['001_init.sql', 'command:v1'], ranCommand: true, waited: false, interruptions: 0 });
  const again = await cli(['migrate', '--path', path, '--mode', 'local', '--sql-dir', sqlDir], { LITEFS_FORWARD_MIGRATION_ID: 'unused' });
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /applied nothing \(up to date\)/);
  writeFileSync(join(sqlDir, '002_bad.sql'), 'ALTER TABLE nowhere ADD COLUMN x;\n');
  const failed = await cli(['migrate', '--path', path, '--mode', 'local', '--sql-dir', sqlDir]);
  assert.equal(failed.code, 1);
  assert.match(failed.stderr, /^litefs-forward migrate: MIGRATION_FAILED: 002_bad\.sql failed: no such table: nowhere/m);
  // The app's driver, from the flag or the environment; a name that is none is the option's own refusal.
  const wrongDriver = await cli(['migrate', '--path', path, '--mode', 'local', '--sql-dir', sqlDir], { LITEFS_FORWARD_DRIVER: 'sqlite4' });
  assert.equal(wrongDriver.code, 1);
  assert.match(wrongDriver.stderr, /CONFIG_INVALID: Invalid option `driver`: "sqlite4"\. Expected one of better-sqlite3, node:sqlite/);
});

test('as a replica: waits for the primary to apply and the records to replicate, then exits 0', async (t) => {
  const dir = tempDir(t);
  const litefsA = await FakeLiteFS.start({ isPrimary: true });
  const litefsB = await FakeLiteFS.start({ isPrimary: false, primaryHostname: 'node-a' });
  const port = await freePort();
  const primary = await openDatabase(nodeOptions('node-a', litefsA, { listen: { host: '127.0.0.1', port }, advertiseUrl: `http://127.0.0.1:${port}` }));
  t.after(async () => {
    await primary.close();
    await Promise.all([litefsA.close(), litefsB.close()]);
  });
  const seed = new BetterSqlite3(litefsA.databasePath, { readonly: true });
  seed.exec(`VACUUM INTO '${litefsB.databasePath}'`);
  seed.close();
  const sqlDir = join(dir, 'migrations');
  mkdirSync(sqlDir);
  writeFileSync(join(sqlDir, '001_init.sql'), 'CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT);\n');
  let exited = false;
  const replica = cli(
    ['migrate', '--path', litefsB.databasePath, '--mode', 'litefs', '--litefs-url', litefsB.baseUrl, '--hostname', 'node-b', '--advertise-url', 'http://127.0.0.1:9', '--sql-dir', sqlDir, '--json'],
    { LITEFS_FORWARD_SECRET: TEST_SECRET },
  ).finally(() => {
    exited = true;
  });
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  assert.equal(exited, false, 'the replica exited before the primary migrated');
  assert.deepEqual((await migrate(primary, { sqlDir })).applied, ['001_init.sql']);
  const source = new BetterSqlite3(litefsA.databasePath, { readonly: true });
  await source.backup(litefsB.databasePath);
  source.close();
  const run = await replica;
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(JSON.parse(run.stdout), { node: 'node-b', role: 'replica', applied: [], ranCommand: false, waited: true, interruptions: 0 });
});
