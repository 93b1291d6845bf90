// migrate() without LiteFS (standalone: this node is the writer): SQL files exactly once, the lock, commands,
// coded errors, deadlines and aborts. The cluster cases are in test/integration/migrate.test.ts.
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { type LiteFSDatabase, migrate, MigrationError, openDatabase } from '../../src/index.js';
import { compareNames, readSqlFiles } from '../../src/migrate/sql-files.js';
import { MigrationStore } from '../../src/migrate/store.js';
import { TEST_DRIVER } from '../support/drivers.js';

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'litefs-forward-migrate-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A migrations directory whose every file logs its own name into `applied_log`, so a double application shows. */
function sqlDir(root: string, names: readonly string[], extra: Record<string, string> = {}): string {
  const dir = join(root, `sql-${randomUUID()}`);
  mkdirSync(dir);
  for (const name of names) writeFileSync(join(dir, name), `CREATE TABLE IF NOT EXISTS applied_log (name TEXT NOT NULL);\nINSERT INTO applied_log VALUES ('${name}');\n`);
  for (const [name, sql] of Object.entries(extra)) writeFileSync(join(dir, name), sql);
  return dir;
}

async function appliedLog(db: LiteFSDatabase): Promise<string[]> {
  const exists = await db.get(`SELECT 1 AS found FROM sqlite_master WHERE name = 'applied_log'`);
  return exists === undefined ? [] : (await db.all<{ name: string }>('SELECT name FROM applied_log ORDER BY rowid')).map((row) => row.name);
}

/** A node script for a command: logs "start"/"end" lines with times into `file`, sleeping `ms` in between. */
function loggingCommand(file: string, label: string, ms: number): string[] {
  const script = `const fs=require('node:fs');fs.appendFileSync(${JSON.stringify(file)},'start ${label} '+Date.now()+'\\n');setTimeout(()=>{fs.appendFileSync(${JSON.stringify(file)},'end ${label} '+Date.now()+'\\n');process.exit(Number(process.env.EXIT_CODE??0))},${ms});`;
  return [process.execPath, '-e', script];
}

test('SQL files are applied once each, in name order, and a second run applies nothing', async (t) => {
  const root = tempDir(t);
  await using db = await openDatabase({ driver: TEST_DRIVER, path: join(root, 'app.db'), mode: 'local' });
  const dir = sqlDir(root, ['010_c.sql', '002_b.sql', '001_a.sql'], { 'notes.txt': 'not SQL', 'README.md': '# not SQL' });
  const events: string[] = [];
  const first = await migrate(db, { sqlDir: dir, onApplied: (event) => void events.push(event.migration) });
  assert.deepEqual(first.applied, ['001_a.sql', '002_b.sql', '010_c.sql']);
  assert.deepEqual(events, first.applied);
  assert.equal(first.waited, false);
  const second = await migrate(db, { sqlDir: dir });
  assert.deepEqual(second.applied, []);
  assert.deepEqual(await appliedLog(db), ['001_a.sql', '002_b.sql', '010_c.sql']);
  // The lock is released after each run.
  assert.equal(await db.get('SELECT * FROM _litefs_forward_migrations_lock'), undefined);
});

test('property: however a run is cut short (abort after any file), the next run applies every file exactly once, in order', async (t) => {
  const root = tempDir(t);
  // Names as a deploy may have them: digits, both cases, punctuation and non-ASCII, whose order must be the bytes'.
  const stem = fc.array(fc.constantFrom(...'019azAZ_-.é€😀'), { minLength: 1, maxLength: 8 }).map((chars) => chars.join(''));
  const names = fc.uniqueArray(stem.map((text) => `${text}.sql`), { minLength: 1, maxLength: 6 });
  await fc.assert(
    fc.asyncProperty(names, fc.nat(6), async (files, stopAfter) => {
      const path = join(root, `${randomUUID()}.db`);
      await using db = await openDatabase({ driver: TEST_DRIVER, path, mode: 'local' });
      const dir = sqlDir(root, files);
      const stop = new AbortController();
      let count = 0;
      const cut = await migrate(db, {
        sqlDir: dir,
        signal: stop.signal,
        onApplied: () => {
          if (++count === stopAfter) stop.abort();
        },
      }).then(
        () => undefined,
        (error: { code?: string }) => error,
      );
      if (cut !== undefined) assert.equal(cut.code, 'ABORTED');
      await migrate(db, { sqlDir: dir });
      const expected = [...files].sort(compareNames);
      assert.deepEqual(await appliedLog(db), expected);
      assert.deepEqual((await db.all<{ name: string }>('SELECT name FROM _litefs_forward_migrations')).map((row) => row.name).sort(compareNames), expected);
    }),
    { numRuns: 25 },
  );
});

test('a failing file leaves nothing of itself behind (MIGRATION_FAILED), and the files before it stay applied', async (t) => {
  const root = tempDir(t);
  await using db = await openDatabase({ driver: TEST_DRIVER, path: join(root, 'app.db'), mode: 'local' });
  const dir = sqlDir(root, ['001_a.sql'], { '002_bad.sql': "CREATE TABLE half (v);\nINSERT INTO half VALUES (1);\nINSERT INTO missing_table VALUES ('x');\n" });
  const error = (await migrate(db, { sqlDir: dir }).catch((failure: unknown) => failure)) as MigrationError;
  assert.ok(error instanceof MigrationError);
  assert.equal(error.code, 'MIGRATION_FAILED');
  assert.equal(error.reason, 'sql-error');
  assert.equal(error.migration, '002_bad.sql');
  assert.match(error.message, /002_bad\.sql failed: no such table: missing_table\. Nothing of it was applied/);
  assert.equal(await db.get(`SELECT name FROM sqlite_master WHERE name = 'half'`), undefined);
  assert.deepEqual(await appliedLog(db), ['001_a.sql']);
  writeFileSync(join(dir, '002_bad.sql'), 'CREATE TABLE half (v);\n');
  assert.deepEqual((await migrate(db, { sqlDir: dir })).applied, ['002_bad.sql']);
});

test('a file with transaction control is refused with a hint, and nothing of it runs', async (t) => {
  const root = tempDir(t);
  await using db = await openDatabase({ driver: TEST_DRIVER, path: join(root, 'app.db'), mode: 'local' });
  const dir = sqlDir(root, [], { '001_tx.sql': 'BEGIN;\nCREATE TABLE t (v);\nCOMMIT;\n' });
  await assert.rejects(migrate(db, { sqlDir: dir }), (error: MigrationError) => {
    assert.equal(error.code, 'MIGRATION_FAILED');
    assert.match(error.message, /leave out BEGIN\/COMMIT/);
    assert.equal((error.cause as { code?: string }).code, 'STATEMENT_REFUSED');
    return true;
  });
  assert.equal(await db.get(`SELECT name FROM sqlite_master WHERE name = 't'`), undefined);
});

test('an applied file that changed afterwards is refused (checksum-mismatch) before anything runs', async (t) => {
  const root = tempDir(t);
  await using db = await openDatabase({ driver: TEST_DRIVER, path: join(root, 'app.db'), mode: 'local' });
  const dir = sqlDir(root, ['001_a.sql']);
  await migrate(db, { sqlDir: dir });
  writeFileSync(join(dir, '001_a.sql'), 'CREATE TABLE other (v);\n');
  writeFileSync(join(dir, '002_b.sql'), 'CREATE TABLE b (v);\n');
  await assert.rejects(migrate(db, { sqlDir: dir }), { code: 'MIGRATION_FAILED', reason: 'checksum-mismatch', migration: '001_a.sql' });
  assert.equal(await db.get(`SELECT name FROM sqlite_master WHERE name = 'b'`), undefined);
});

test('invalid options are CONFIG_INVALID naming the option and the value', async (t) => {
  const root = tempDir(t);
  await using db = await openDatabase({ driver: TEST_DRIVER, path: join(root, 'app.db'), mode: 'local' });
  const cases: [Record<string, unknown>, string, RegExp][] = [
    [{}, 'sqlDir', /at least one of the two/],
    [{ sqlDir: '' }, 'sqlDir', /""/],
    [{ sqlDir: join(root, 'nope') }, 'sqlDir', /ENOENT/],
    [{ command: [] }, 'command', /\[\]/],
    [{ command: ['true'] }, 'id', /once per id/],
    [{ sqlDir: root, id: 'x' }, 'id', /no `id` without `command`/],
    [{ sqlDir: root, table: 'bad-name' }, 'table', /"bad-name"/],
    [{ sqlDir: root, timeout: 0 }, 'timeout', /: 0\./],
    [{ sqlDir: root, lockTtl: 5 }, 'lockTtl', /≥ 100/],
    [{ sqlDir: root, pollInterval: 1.5 }, 'pollInterval', /1\.5/],
    [{ sqlDir: root, stdio: 'pipe' }, 'stdio', /"pipe"/],
  ];
  for (const [options, option, message] of cases) {
    await assert.rejects(migrate(db, options as never), (error: { code?: string; option?: string; message: string }) => {
      assert.equal(error.code, 'CONFIG_INVALID', JSON.stringify(options));
      assert.equal(error.option, option, JSON.stringify(options));
      assert.match(error.message, message);
      return true;
    });
  }
});

test('the lock excludes a second instance: two runs of different commands never overlap', async (t) => {
  const root = tempDir(t);
  const path = join(root, 'app.db');
  await using one = await openDatabase({ driver: TEST_DRIVER, path, mode: 'local' });
  await using two = await openDatabase({ driver: TEST_DRIVER, path, mode: 'local' });
  const log = join(root, 'commands.log');
  const [a, b] = await Promise.all([
    migrate(one, { command: loggingCommand(log, 'one', 300), id: 'release-1', pollInterval: 20, stdio: 'ignore' }),
    migrate(two, { command: loggingCommand(log, 'two', 300), id: 'release-2', pollInterval: 20, stdio: 'ignore' }),
  ]);
  assert.ok(a.ranCommand && b.ranCommand);
  const lines = readFileSync(log, 'utf8').trim().split('\n').map((line) => line.split(' '));
  // start X, end X, start Y, end Y: the second command started only after the first ended.
  assert.equal(lines.length, 4);
  assert.deepEqual(lines.map(([kind]) => kind), ['start', 'end', 'start', 'end']);
  assert.equal(lines[0]![1], lines[1]![1]);
  assert.ok(Number(lines[2]![2]) >= Number(lines[1]![2]));
});

test('the same command id runs once, whichever instance holds the lock; the other finds it recorded', async (t) => {
  const root = tempDir(t);
  const path = join(root, 'app.db');
  await using one = await openDatabase({ driver: TEST_DRIVER, path, mode: 'local' });
  await using two = await openDatabase({ driver: TEST_DRIVER, path, mode: 'local' });
  const log = join(root, 'commands.log');
  const results = await Promise.all([one, two].map((db, i) => migrate(db, { command: loggingCommand(log, `n${i}`, 200), id: 'release-1', pollInterval: 20, stdio: 'ignore' })));
  assert.equal(results.filter((result) => result.ranCommand).length, 1);
  assert.equal(readFileSync(log, 'utf8').trim().split('\n').length, 2);
  assert.deepEqual((await one.all('SELECT name, kind FROM _litefs_forward_migrations')).map((row) => ({ ...row })), [{ name: 'command:release-1', kind: 'command' }]);
});

test('the command gets the database in its environment', async (t) => {
  const root = tempDir(t);
  await using db = await openDatabase({ driver: TEST_DRIVER, path: join(root, 'app.db'), mode: 'local' });
  const out = join(root, 'env.json');
  const script = `require('node:fs').writeFileSync(${JSON.stringify(out)}, JSON.stringify({ url: process.env.DATABASE_URL, name: process.env.LITEFS_FORWARD_DATABASE, path: process.env.LITEFS_FORWARD_DATABASE_PATH, extra: process.env.EXTRA }))`;
  await migrate(db, { command: [process.execPath, '-e', script], id: 'r', env: { EXTRA: 'yes' }, stdio: 'ignore' });
  assert.deepEqual(JSON.parse(readFileSync(out, 'utf8')), { url: `file:${join(root, 'app.db')}`, name: 'app.db', path: join(root, 'app.db'), extra: 'yes' });
});

test('an expired lock is taken over; a live one holds a run off until its deadline (MIGRATION_TIMEOUT naming the holder)', async (t) => {
  const root = tempDir(t);
  await using db = await openDatabase({ driver: TEST_DRIVER, path: join(root, 'app.db'), mode: 'local' });
  const store = new MigrationStore('_litefs_forward_migrations');
  await db.exec(store.schemaSql);
  // A run that died holding the lock: nobody renews it.
  assert.ok(await store.acquire(db, 'dead-node/1', randomUUID(), 400, {}));
  const dir = sqlDir(root, ['001_a.sql']);
  const startedAt = Date.now();
  const result = await migrate(db, { sqlDir: dir, pollInterval: 20 });
  const waited = Date.now() - startedAt;
  assert.deepEqual(result.applied, ['001_a.sql']);
  assert.ok(waited >= 300, `took over after ${waited} ms, before the lock expired`);

  // A live holder renews its lock: the run waits, then fails at its deadline, saying for what.
  const token = randomUUID();
  assert.ok(await store.acquire(db, 'busy-node/7', token, 400, {}));
  const renew = setInterval(() => void store.renew(db, token, 400), 100);
  t.after(() => clearInterval(renew));
  writeFileSync(join(dir, '002_b.sql'), 'CREATE TABLE b (v);\n');
  await assert.rejects(migrate(db, { sqlDir: dir, timeout: 800, pollInterval: 20 }), (error: MigrationError) => {
    assert.equal(error.code, 'MIGRATION_TIMEOUT');
    assert.match(error.message, /within 800 ms .*the migration lock, held by busy-node\/7/);
    return true;
  });
  clearInterval(renew);
  assert.equal(await db.get(`SELECT name FROM sqlite_master WHERE name = 'b'`), undefined);
});

test('a lock taken over between two files stops the run before the next file; it starts over and applies the rest once', async (t) => {
  const root = tempDir(t);
  const path = join(root, 'app.db');
  await using db = await openDatabase({ driver: TEST_DRIVER, path, mode: 'local' });
  await using other = await openDatabase({ driver: TEST_DRIVER, path, mode: 'local' });
  const dir = sqlDir(root, ['001.sql', '002.sql', '003.sql']);
  const warnings: string[] = [];
  const logger = { debug() {}, info() {}, warn: (fields: object) => void warnings.push(String((fields as { code?: string }).code)), error() {} };
  const result = await migrate(db, {
    sqlDir: dir,
    pollInterval: 20,
    logger,
    onApplied: async ({ migration }) => {
      // Another run takes the lock over (as if this one had stalled past its lockTtl) and holds it for 300 ms.
      if (migration === '001.sql') await other.run(`UPDATE _litefs_forward_migrations_lock SET token = 'other', owner = 'other/1', expires_at = expires_at - 30000 + 300`);
    },
  });
  assert.deepEqual(result.applied, ['001.sql', '002.sql', '003.sql']);
  assert.equal(result.interruptions, 1);
  assert.deepEqual(warnings, ['MIGRATION_INTERRUPTED']);
  assert.deepEqual(await appliedLog(db), ['001.sql', '002.sql', '003.sql']);
});

test("an adapter's own migrator as the command (Kysely's Migrator on the primary's file): its bookkeeping makes a re-run a no-op", async (t) => {
  const root = tempDir(t);
  const path = join(root, 'app.db');
  await using db = await openDatabase({ driver: TEST_DRIVER, path, mode: 'local' });
  // What an app's migrate script does: Kysely on the file named in the environment, with its own migrations table.
  const script = `
    const { Kysely, SqliteDialect, sql, ...kysely } = await import('kysely');
    // Kysely 0.29 moved Migrator to kysely/migration; 0.28 has it at the root.
    const Migrator = kysely.Migrator ?? (await import('kysely/migration')).Migrator;
    const { default: Database } = await import('better-sqlite3');
    const db = new Kysely({ dialect: new SqliteDialect({ database: new Database(process.env.LITEFS_FORWARD_DATABASE_PATH) }) });
    const migrations = { '001_people': { up: async (db) => { await db.schema.createTable('people').addColumn('name', 'text').execute(); await sql\`INSERT INTO people VALUES ('ada')\`.execute(db); } } };
    const { error, results } = await new Migrator({ db, provider: { getMigrations: async () => migrations } }).migrateToLatest();
    await db.destroy();
    console.log(JSON.stringify(results.map((r) => r.migrationName)));
    if (error) { console.error(error); process.exit(1); }`;
  const command = [process.execPath, '--input-type=module', '-e', script];
  assert.equal((await migrate(db, { command, id: 'release-1', stdio: 'ignore' })).ranCommand, true);
  // The next release runs the command again; Kysely's kysely_migration table says 001 is done.
  assert.equal((await migrate(db, { command, id: 'release-2', stdio: 'ignore' })).ranCommand, true);
  assert.deepEqual(await db.all('SELECT name FROM people'), [{ name: 'ada' }]);
  assert.deepEqual(await db.all('SELECT name FROM kysely_migration'), [{ name: '001_people' }]);
  assert.deepEqual((await db.all<{ name: string }>('SELECT name FROM _litefs_forward_migrations ORDER BY name')).map((row) => row.name), ['command:release-1', 'command:release-2']);
});

test('a command that exits non-zero is MIGRATION_FAILED, not recorded, and the lock is released', async (t) => {
  const root = tempDir(t);
  await using db = await openDatabase({ driver: TEST_DRIVER, path: join(root, 'app.db'), mode: 'local' });
  const log = join(root, 'commands.log');
  await assert.rejects(migrate(db, { command: loggingCommand(log, 'x', 10), id: 'r1', env: { EXIT_CODE: '3' }, stdio: 'ignore' }), {
    code: 'MIGRATION_FAILED',
    reason: 'exit-code',
    migration: 'command:r1',
  });
  assert.deepEqual(await db.all('SELECT * FROM _litefs_forward_migrations'), []);
  assert.equal(await db.get('SELECT * FROM _litefs_forward_migrations_lock'), undefined);
  await assert.rejects(migrate(db, { command: ['/nonexistent/migrator'], id: 'r1', stdio: 'ignore' }), { code: 'MIGRATION_FAILED', reason: 'spawn-failed' });
});

test('losing the lock while the command runs stops the command and throws MIGRATION_INTERRUPTED, unrecorded', async (t) => {
  const root = tempDir(t);
  const path = join(root, 'app.db');
  await using db = await openDatabase({ driver: TEST_DRIVER, path, mode: 'local' });
  await using thief = await openDatabase({ driver: TEST_DRIVER, path, mode: 'local' });
  const log = join(root, 'commands.log');
  const run = early(migrate(db, { command: loggingCommand(log, 'long', 5_000), id: 'r1', lockTtl: 300, stdio: 'ignore' }));
  await waitFor(() => existsSync(log));
  // Another run takes the lock over as if this one had stopped renewing it.
  await thief.run(`UPDATE _litefs_forward_migrations_lock SET token = 'stolen', owner = 'thief/1'`);
  const startedAt = Date.now();
  await assert.rejects(run, (error: MigrationError) => {
    assert.equal(error.code, 'MIGRATION_INTERRUPTED');
    assert.equal(error.reason, 'lock-lost');
    assert.match(error.message, /run `litefs-forward migrate` again/);
    return true;
  });
  assert.ok(Date.now() - startedAt < 2_000, 'the heartbeat noticed within about lockTtl');
  assert.doesNotMatch(readFileSync(log, 'utf8'), /end long/, 'the command was stopped');
  assert.deepEqual(await db.all('SELECT * FROM _litefs_forward_migrations'), []);
});

test('an abort stops a running command (ABORTED) and nothing is recorded', async (t) => {
  const root = tempDir(t);
  await using db = await openDatabase({ driver: TEST_DRIVER, path: join(root, 'app.db'), mode: 'local' });
  const log = join(root, 'commands.log');
  const stop = new AbortController();
  const run = early(migrate(db, { command: loggingCommand(log, 'long', 5_000), id: 'r1', signal: stop.signal, stdio: 'ignore' }));
  await waitFor(() => existsSync(log));
  stop.abort();
  await assert.rejects(run, { code: 'ABORTED' });
  assert.deepEqual(await db.all('SELECT * FROM _litefs_forward_migrations'), []);
  assert.equal(await db.get('SELECT * FROM _litefs_forward_migrations_lock'), undefined);
  // A deadline does the same, as MIGRATION_TIMEOUT.
  await assert.rejects(migrate(db, { command: loggingCommand(log, 'slow', 5_000), id: 'r2', timeout: 300, stdio: 'ignore' }), { code: 'MIGRATION_TIMEOUT' });
  assert.doesNotMatch(readFileSync(log, 'utf8'), /end/);
});

test('readSqlFiles: only *.sql files, with the SHA-256 of their bytes', async (t) => {
  const root = tempDir(t);
  const dir = sqlDir(root, ['b.sql', 'a.sql'], { 'c.sql.bak': 'x', 'd.txt': 'y' });
  mkdirSync(join(dir, 'e.sql'));
  const files = await readSqlFiles(dir);
  assert.deepEqual(
    files.map((file) => file.name),
    ['a.sql', 'b.sql'],
  );
  assert.match(files[0]!.checksum, /^[0-9a-f]{64}$/);
});

test("readSqlFiles: Prisma's migration folders apply as <folder>/migration.sql, in name order with plain files; Prisma's own fixture applies and runs", async (t) => {
  const root = tempDir(t);
  const dir = sqlDir(root, ['20240301000000_c.sql']);
  for (const folder of ['20240201000000_b', '20240101000000_a']) {
    mkdirSync(join(dir, folder));
    writeFileSync(join(dir, folder, 'migration.sql'), `CREATE TABLE t_${folder.slice(-1)} (v);`);
  }
  mkdirSync(join(dir, 'no_migration_here'));
  writeFileSync(join(dir, 'migration_lock.toml'), 'provider = "sqlite"');
  assert.deepEqual(
    (await readSqlFiles(dir)).map((file) => file.name),
    ['20240101000000_a/migration.sql', '20240201000000_b/migration.sql', '20240301000000_c.sql'],
  );
  // The Prisma schema of the adapter tests, as `prisma migrate dev` wrote its migrations.
  await using db = await openDatabase({ driver: TEST_DRIVER, path: join(root, 'prisma.db'), mode: 'local' });
  const prismaMigrations = fileURLToPath(new URL('../../../test/fixtures/prisma/migrations', import.meta.url));
  const result = await migrate(db, { sqlDir: prismaMigrations });
  assert.deepEqual(result.applied, ['20240101000000_init/migration.sql', '20240201000000_profiles_and_samples/migration.sql']);
  assert.deepEqual(await db.all("SELECT name FROM sqlite_master WHERE name = 'prisma_users'"), [{ name: 'prisma_users' }]);
  assert.deepEqual((await migrate(db, { sqlDir: prismaMigrations })).applied, []);
});

async function waitFor(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Marks the promise handled now: it may reject before the test gets to `assert.rejects` it. */
function early<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => {});
  return promise;
}
