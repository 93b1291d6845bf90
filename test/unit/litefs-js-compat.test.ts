import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  createLiteFSJs,
  getAllInstances,
  getInstanceInfo,
  getInstanceInfoSync,
  getInternalInstanceDomain,
  getReplayResponse,
  getTxNumber,
  getTxSetCookieHeader,
  TXID_NUM_COOKIE_NAME,
  waitForUpToDateTxNumber,
} from '../../src/compat/litefs-js/index.js';
import { type LiteFSDatabase, openDatabase } from '../../src/index.js';
import { freePort, nodeOptions } from '../support/fake-cluster.js';
import { FakeLiteFS } from '../support/fake-litefs.js';

// The exact header litefs-js v1 sends to delete the cookie (`cookie.serialize` with `expires: new Date(0)`).
const DELETE_COOKIE = 'txnum=0; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Secure; SameSite=Lax';

function writePos(databasePath: string, txid: bigint): void {
  writeFileSync(`${databasePath}-pos`, `${txid.toString(16).padStart(16, '0')}/${'0'.repeat(15)}1\n`);
}

function collectingLogger(): { error(message: string): void; lines: string[] } {
  const lines: string[] = [];
  return { lines, error: (message: string) => lines.push(message) };
}

async function thrown(promise: Promise<unknown>): Promise<Response> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof Response, `expected a thrown Response, got ${String(error)}`);
    return error;
  }
  assert.fail('expected a thrown Response');
}

describe('litefs-js functions that read LiteFS files (no database bound)', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'litefs-js-compat-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('the cookie is named txnum and serialised with litefs-js defaults', () => {
    assert.equal(TXID_NUM_COOKIE_NAME, 'txnum');
    assert.equal(getTxSetCookieHeader(42), 'txnum=42; Path=/; HttpOnly; Secure; SameSite=Lax');
    assert.equal(getTxSetCookieHeader(0, { expires: new Date(0) }), DELETE_COOKIE);
    assert.equal(getTxSetCookieHeader(7, { secure: false, maxAge: 300 }), 'txnum=7; Max-Age=300; Path=/; HttpOnly; SameSite=Lax');
  });

  test('getInstanceInfo reads .primary; without it this node counts as primary, as in litefs-js', async () => {
    writeFileSync(join(dir, '.primary'), 'machine-a\n');
    assert.deepEqual(await getInstanceInfo(dir), { primaryInstance: 'machine-a', currentInstance: hostname(), currentIsPrimary: false });
    unlinkSync(join(dir, '.primary'));
    assert.deepEqual(await getInstanceInfo(dir), { primaryInstance: hostname(), currentInstance: hostname(), currentIsPrimary: true });
    const saved = process.env.LITEFS_DIR;
    delete process.env.LITEFS_DIR;
    try {
      await assert.rejects(getInstanceInfo(), /LITEFS_DIR is not set/);
    } finally {
      if (saved !== undefined) process.env.LITEFS_DIR = saved;
    }
  });

  test('getInstanceInfoSync answers the same, synchronously', () => {
    writeFileSync(join(dir, '.primary'), 'machine-b\n');
    assert.deepEqual(getInstanceInfoSync(dir), { primaryInstance: 'machine-b', currentInstance: hostname(), currentIsPrimary: false });
    unlinkSync(join(dir, '.primary'));
    assert.equal(getInstanceInfoSync(dir).currentIsPrimary, true);
  });

  test('getTxNumber reads <db>-pos, and is 0 when there is none', async () => {
    assert.equal(await getTxNumber(dir, 'none.db'), 0);
    writePos(join(dir, 'app.db'), 0x2an);
    assert.equal(await getTxNumber(dir, 'app.db'), 42);
    await assert.rejects(getTxNumber(dir, ''), /DATABASE_FILENAME is not set/);
  });

  test('waitForUpToDateTxNumber keeps polling until the deadline (v1 stopped after one interval)', async () => {
    writePos(join(dir, 'wait.db'), 1n);
    const options = { litefsDir: dir, databaseFilename: 'wait.db', intervalMs: 10 };
    assert.equal(await waitForUpToDateTxNumber(1, options), true);
    const timer = setTimeout(() => writePos(join(dir, 'wait.db'), 5n), 120);
    try {
      assert.equal(await waitForUpToDateTxNumber(5, { ...options, timeoutMs: 2_000 }), true);
    } finally {
      clearTimeout(timer);
    }
    const started = Date.now();
    assert.equal(await waitForUpToDateTxNumber(9, { ...options, timeoutMs: 150 }), false);
    assert.ok(Date.now() - started >= 140, 'gave up before its timeout');
    await assert.rejects(waitForUpToDateTxNumber(9, { ...options, timeoutMs: 5_000, signal: AbortSignal.abort() }), { code: 'ABORTED' });
  });

  test('getInternalInstanceDomain builds the Fly private-network address', () => {
    const saved = { app: process.env.FLY_APP_NAME, internal: process.env.INTERNAL_PORT };
    process.env.FLY_APP_NAME = 'my-app';
    process.env.INTERNAL_PORT = '8080';
    try {
      assert.equal(getInternalInstanceDomain('5ef6ddf5'), 'http://5ef6ddf5.vm.my-app.internal:8080');
      assert.equal(getInternalInstanceDomain('5ef6ddf5', '7777'), 'http://5ef6ddf5.vm.my-app.internal:7777');
      delete process.env.FLY_APP_NAME;
      assert.throws(() => getInternalInstanceDomain('5ef6ddf5'), /FLY_APP_NAME is not set/);
    } finally {
      for (const [key, value] of [['FLY_APP_NAME', saved.app], ['INTERNAL_PORT', saved.internal]] as const) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    }
  });

  test('getAllInstances off Fly.io is this host, "local"', async () => {
    const saved = process.env.FLY_APP_NAME;
    delete process.env.FLY_APP_NAME;
    try {
      assert.deepEqual(await getAllInstances(), { [hostname()]: 'local' });
    } finally {
      if (saved !== undefined) process.env.FLY_APP_NAME = saved;
    }
  });

  test('getReplayResponse is litefs-js/remix’s 302 with fly-replay', () => {
    const response = getReplayResponse('machine-a');
    assert.equal(response.status, 302);
    assert.equal(response.headers.get('location'), '/');
    assert.equal(response.headers.get('fly-replay'), 'instance=machine-a');
  });
});

describe('createLiteFSJs(db): litefs-js bound to a primary and a forwarding replica', () => {
  let primaryLiteFS: FakeLiteFS;
  let replicaLiteFS: FakeLiteFS;
  let primary: LiteFSDatabase;
  let replica: LiteFSDatabase;
  let dbPath: string;

  before(async () => {
    primaryLiteFS = await FakeLiteFS.start({ isPrimary: true });
    replicaLiteFS = await FakeLiteFS.start({ isPrimary: false, primaryHostname: 'node-a' });
    const port = await freePort();
    primary = await openDatabase(nodeOptions('node-a', primaryLiteFS, { listen: { host: '127.0.0.1', port }, advertiseUrl: `http://127.0.0.1:${port}` }));
    // The replica opens the primary's file: LiteFS's replication, instant. Both read the same `-pos` file.
    dbPath = primaryLiteFS.databasePath;
    replica = await openDatabase(nodeOptions('node-b', replicaLiteFS, { path: dbPath }));
    await primary.exec('CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, body TEXT)');
    writePos(dbPath, 10n);
  });
  after(async () => {
    await replica?.close();
    await primary?.close();
    await replicaLiteFS?.close();
    await primaryLiteFS?.close();
  });

  test('getInstanceInfo answers from the database, not from a guess on a missing file', async () => {
    assert.deepEqual(await createLiteFSJs(primary).getInstanceInfo(), { primaryInstance: 'node-a', currentInstance: 'node-a', currentIsPrimary: true });
    assert.deepEqual(await createLiteFSJs(replica).getInstanceInfo(), { primaryInstance: 'node-a', currentInstance: 'node-b', currentIsPrimary: false });
  });

  test('getInstanceInfoSync: the role from the database, the primary from .primary', () => {
    assert.deepEqual(createLiteFSJs(primary).getInstanceInfoSync(), { primaryInstance: 'node-a', currentInstance: 'node-a', currentIsPrimary: true });
    const onReplica = createLiteFSJs(replica, { litefsDir: replicaLiteFS.dir }).getInstanceInfoSync();
    assert.deepEqual(onReplica, { primaryInstance: 'node-a', currentInstance: 'node-b', currentIsPrimary: false });
  });

  test('getTxNumber is the database position as a number', async () => {
    assert.equal(await createLiteFSJs(replica).getTxNumber(), 10);
  });

  test('ensurePrimary is a no-op on a replica: the write it guarded is forwarded', async () => {
    const litefs = createLiteFSJs(replica);
    assert.equal(await litefs.ensurePrimary(), true);
    await replica.run('INSERT INTO notes (body) VALUES (?)', ['from a GET on the replica']);
    assert.deepEqual(await primary.get('SELECT body FROM notes WHERE body = ?', ['from a GET on the replica']), { body: 'from a GET on the replica' });
  });

  test('requirePrimary keeps litefs-js’s replay for code the database does not cover', async () => {
    assert.equal(await createLiteFSJs(primary).requirePrimary(), true);
    const response = await thrown(createLiteFSJs(replica).requirePrimary());
    assert.equal(response.headers.get('fly-replay'), 'instance=node-a');
  });

  test('ensureInstance passes on that instance and replays elsewhere', async () => {
    const litefs = createLiteFSJs(replica);
    assert.equal(await litefs.ensureInstance('node-b'), true);
    const response = await thrown(litefs.ensureInstance('node-c'));
    assert.equal(response.status, 302);
    assert.equal(response.headers.get('fly-replay'), 'instance=node-c');
  });

  test('waitForUpToDateTxNumber waits on the replication position', async () => {
    const litefs = createLiteFSJs(replica);
    assert.equal(await litefs.waitForUpToDateTxNumber(10), true);
    assert.equal(await litefs.waitForUpToDateTxNumber(11, { timeoutMs: 50 }), false);
    const timer = setTimeout(() => writePos(dbPath, 11n), 60);
    try {
      assert.equal(await litefs.waitForUpToDateTxNumber(11, { timeoutMs: 2_000 }), true);
    } finally {
      clearTimeout(timer);
    }
  });

  test('handleTransactionalConsistency: no cookie, a bad cookie, and a cookie this replica has', async () => {
    const logger = collectingLogger();
    const litefs = createLiteFSJs(replica, { logger });
    const request = (cookie?: string): Request => new Request('http://app/', cookie === undefined ? {} : { headers: { cookie } });
    assert.deepEqual(await litefs.handleTransactionalConsistency(request()), { type: 'ok' });
    assert.deepEqual(await litefs.handleTransactionalConsistency(request('txnum=abc')), { type: 'delete-cookie', setCookieHeader: DELETE_COOKIE });
    assert.match(logger.lines[0] ?? '', /Invalid tx number in cookie: abc/);
    assert.deepEqual(await litefs.handleTransactionalConsistency(request('other=1; txnum=11')), { type: 'delete-cookie', setCookieHeader: DELETE_COOKIE });
  });

  test('handleTransactionalConsistency waits for a replica to catch up', async () => {
    const litefs = createLiteFSJs(replica, { maxWait: 2_000 });
    const timer = setTimeout(() => writePos(dbPath, 20n), 80);
    try {
      const result = await litefs.handleTransactionalConsistency(new Request('http://app/', { headers: { cookie: 'txnum=20' } }));
      assert.deepEqual(result, { type: 'delete-cookie', setCookieHeader: DELETE_COOKIE });
    } finally {
      clearTimeout(timer);
    }
  });

  test('handleTransactionalConsistency on a replica that stays behind: 503 and the cookie deleted, or fly-replay', async () => {
    const request = new Request('http://app/', { headers: { cookie: 'txnum=999' } });
    const unavailable = await thrown(createLiteFSJs(replica, { maxWait: 50 }).handleTransactionalConsistency(request));
    assert.equal(unavailable.status, 503);
    assert.equal(unavailable.headers.get('retry-after'), '1');
    assert.equal(unavailable.headers.get('set-cookie'), DELETE_COOKIE);
    assert.equal(((await unavailable.json()) as { error: { code: string } }).error.code, 'READ_YOUR_WRITES_TIMEOUT');
    const replay = await thrown(createLiteFSJs(replica, { maxWait: 50, stale: 'fly-replay' }).handleTransactionalConsistency(request));
    assert.equal(replay.headers.get('fly-replay'), 'instance=node-a');
  });

  test('handleTransactionalConsistency on the primary deletes the cookie, and logs a cookie from the future', async () => {
    const logger = collectingLogger();
    const litefs = createLiteFSJs(primary, { logger });
    const ahead = await litefs.handleTransactionalConsistency(new Request('http://app/', { headers: { cookie: 'txnum=999' } }));
    assert.deepEqual(ahead, { type: 'delete-cookie', setCookieHeader: DELETE_COOKIE });
    assert.match(logger.lines[0] ?? '', /User somehow had a newer tx number \(999\) than the primary instance \(20\)/);
  });

  test('appendTxNumberCookie sets txnum after a mutation, on the primary and on a forwarding replica', async () => {
    for (const db of [primary, replica]) {
      const litefs = createLiteFSJs(db);
      const get = new Headers();
      await litefs.appendTxNumberCookie(new Request('http://app/'), get);
      assert.equal(get.get('set-cookie'), null);
      const post = new Headers();
      await litefs.appendTxNumberCookie(new Request('http://app/', { method: 'POST' }), post);
      assert.equal(post.get('set-cookie'), 'txnum=20; Path=/; HttpOnly; Secure; SameSite=Lax');
    }
  });

  test('checkCookieForTransactionalConsistency returns litefs-js’s result shapes, plus stale', async () => {
    const litefs = createLiteFSJs(replica, { maxWait: 30 });
    assert.deepEqual(await litefs.checkCookieForTransactionalConsistency(null), { type: 'ok' });
    assert.deepEqual(await litefs.checkCookieForTransactionalConsistency('txnum=1'), { type: 'delete-cookie', setCookieHeader: DELETE_COOKIE });
    const stale = await litefs.checkCookieForTransactionalConsistency('txnum=999');
    assert.equal(stale.type, 'stale');
    const replay = await createLiteFSJs(replica, { maxWait: 30, stale: 'fly-replay' }).checkCookieForTransactionalConsistency('txnum=999');
    assert.deepEqual(replay, { type: 'replay', flyReplayHeader: 'instance=node-a', instance: 'node-a' });
  });

  test('bindings share nothing: each answers for its own database', async () => {
    const [a, b] = [createLiteFSJs(primary), createLiteFSJs(replica)];
    assert.equal((await a.getInstanceInfo()).currentInstance, 'node-a');
    assert.equal((await b.getInstanceInfo()).currentInstance, 'node-b');
    assert.ok(Object.isFrozen(a));
    // Apps destructure the binding into their own module (`export const { ensurePrimary, … } = createLiteFSJs(db)`).
    const { getInstanceInfo: info, ensurePrimary, appendTxNumberCookie } = createLiteFSJs(replica);
    assert.equal((await info()).currentInstance, 'node-b');
    assert.equal(await ensurePrimary(), true);
    const headers = new Headers();
    await appendTxNumberCookie(new Request('http://app/', { method: 'DELETE' }), headers);
    assert.match(headers.get('set-cookie') ?? '', /^txnum=\d+;/);
  });
});

test('the package exports litefs-forward/litefs-js', async () => {
  // A self-reference through package.json's `exports`, as an app's `import 'litefs-forward/litefs-js'` resolves it.
  const specifier = 'litefs-forward/litefs-js';
  const mod = (await import(specifier)) as Record<string, unknown>;
  for (const name of ['createLiteFSJs', 'getInstanceInfo', 'getInstanceInfoSync', 'getTxNumber', 'waitForUpToDateTxNumber', 'getTxSetCookieHeader', 'getInternalInstanceDomain', 'getReplayResponse', 'getAllInstances']) {
    assert.equal(typeof mod[name], 'function', `${name} is not exported`);
  }
  assert.equal(mod.TXID_NUM_COOKIE_NAME, 'txnum');
});
