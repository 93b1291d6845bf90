import assert from 'node:assert/strict';
import { Agent, createServer, type IncomingMessage, request, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { type LiteFSDatabase, openDatabase } from '../../src/index.js';
import { resolveConfig } from '../../src/config.js';
import { EndpointServer } from '../../src/primary/endpoint-server.js';
import { postSigned, TEST_RPC_PATH } from '../support/rpc-post.js';
import { FakeLiteFS } from '../support/fake-litefs.js';
import { type FakeNode, freePort, nodeOptions, startPair, TEST_SECRET } from '../support/fake-cluster.js';

const secret = Buffer.from(TEST_SECRET);

interface Answer {
  status: number;
  body: string;
  json: { ok: boolean; error?: { code: string; message: string; kind?: string } };
}

async function signedPost(url: string, payload: unknown): Promise<Answer> {
  const answer = await postSigned(url, Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload)), secret);
  return { ...answer, json: JSON.parse(answer.body) };
}

const insertRequest = (name: string) => ({ op: 'query', mode: 'run', sql: 'INSERT INTO items (name) VALUES (?)', params: { p: [name] }, timeoutMs: 5_000 });

/** Resolves once the socket is closed by the other end, with what it received. */
function whenClosed(socket: Socket): Promise<string> {
  return new Promise((resolve) => {
    let received = '';
    socket.on('data', (chunk) => {
      received += chunk;
    });
    socket.on('error', () => {});
    socket.once('close', () => resolve(received));
  });
}

function within<T>(ms: number, promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms);
    }),
  ]);
}

describe('the endpoint, attacked with real HTTP against a real primary process', () => {
  let primary: FakeNode;
  let replica: FakeNode;
  let url: string;
  let close: () => Promise<void>;
  const count = (): bigint => (primary.read((db) => db.prepare('SELECT count(*) AS n FROM items').get()) as { n: bigint }).n;

  before(async () => {
    ({ primary, replica, close } = await startPair({
      transactionIdleTimeout: 1_000,
      limits: { maxRemoteTransactions: 3, maxConnections: 40, headersTimeout: 500, requestTimeout: 1_000 },
    }));
    await primary.process.call('exec', 'CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT UNIQUE)');
    url = primary.process.listenUrl!;
  });
  after(() => close());

  async function assertStillServes(): Promise<void> {
    const before = count();
    const answer = await signedPost(url, insertRequest(`control-${Math.random()}`));
    assert.equal(answer.json.ok, true, answer.body);
    assert.equal(count(), before + 1n);
  }

  test('finding 7: a signed request with timeoutMs {"toString":null} is refused, and the process lives on', async () => {
    const answer = await signedPost(url, '{"op":"status","timeoutMs":{"toString":null}}');
    assert.equal(answer.status, 400);
    assert.equal(answer.json.error?.code, 'PROTOCOL_ERROR');
    assert.match(answer.json.error!.message, /`timeoutMs`/);
    for (const payload of ['{"op":"query","mode":"run","sql":{"toString":null},"timeoutMs":1000}', '{"op":{"toString":null},"timeoutMs":1000}', '{"op":"tx","session":{"toString":null},"seq":0,"action":"begin","timeoutMs":1000}']) {
      assert.equal((await signedPost(url, payload)).json.error?.code, 'PROTOCOL_ERROR');
    }
    await assertStillServes();
  });

  test('finding 8: an unauthenticated partial body is answered and cut off at once, never buffered', async () => {
    const sockets: Socket[] = [];
    const closed: Promise<string>[] = [];
    for (let i = 0; i < 20; i++) {
      const socket = connect(Number(new URL(url).port), '127.0.0.1');
      sockets.push(socket);
      closed.push(whenClosed(socket));
      socket.write(`POST ${TEST_RPC_PATH} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${4 * 1024 * 1024}\r\n\r\n`);
      socket.write(Buffer.alloc(256 * 1024, 'a'));
    }
    // Old code: each connection waits for the rest of its 4 MiB before looking at the signature.
    const received = await within(3_000, Promise.all(closed), 'closing every unauthenticated connection');
    for (const text of received) assert.match(text, /^HTTP\/1\.1 401/);
    await assertStillServes();
  });

  test('finding 8: headers that never finish are cut off after the header timeout', async () => {
    const socket = connect(Number(new URL(url).port), '127.0.0.1');
    const closed = whenClosed(socket);
    socket.write(`POST ${TEST_RPC_PATH} HTTP/1.1\r\nhost: x\r\n`);
    const started = Date.now();
    await within(5_000, closed, 'the header timeout');
    assert.ok(Date.now() - started < 4_000);
  });

  test('finding 8: connections beyond maxConnections are closed at once', async () => {
    const port = Number(new URL(url).port);
    const sockets = await Promise.all(
      Array.from({ length: 60 }, () => new Promise<Socket>((resolve) => {
        const socket = connect(port, '127.0.0.1', () => resolve(socket));
        socket.on('error', () => {});
      })),
    );
    const closedEarly = await Promise.all(
      sockets.map((socket) => Promise.race([whenClosed(socket).then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 300))])),
    );
    assert.ok(closedEarly.filter(Boolean).length >= 20, `only ${closedEarly.filter(Boolean).length} of 60 were refused`);
    for (const socket of sockets) socket.destroy();
    await new Promise((r) => setTimeout(r, 100));
    await assertStillServes();
  });

  test('finding 8: listen defaults to the advertiseUrl host, not every interface', () => {
    const config = resolveConfig({ path: '/tmp/x.db', mode: 'litefs', secret: TEST_SECRET, advertiseUrl: 'http://10.1.2.3:7000' });
    assert.deepEqual(config.listen, { host: '10.1.2.3', port: 7000 });
  });

  test('finding 9: authenticated garbage is PROTOCOL_ERROR naming the field, with nothing internal or echoed', async () => {
    const cases: [unknown, RegExp][] = [
      [{ op: 'batch', statements: 'x', timeoutMs: 1000 }, /`statements`/],
      [{ op: 'query', mode: 'run', sql: 'INSERT INTO items (name) VALUES (?)', params: { p: [{ evil: 'secret-value-123' }] }, timeoutMs: 1000 }, /`params\.p\[0\]`/],
      [{ op: 'query', mode: 'run', sql: 'INSERT INTO items (name) VALUES (?)', params: { p: [{ $b: '!!not base64!!' }] }, timeoutMs: 1000 }, /base64/],
      [{ op: 'query', mode: 'explode', sql: 'SELECT 1', timeoutMs: 1000 }, /`mode`/],
      [{ op: 'nope', timeoutMs: 1000 }, /`op`/],
      [[1, 2, 3], /`request`/],
    ];
    for (const [payload, field] of cases) {
      const answer = await signedPost(url, payload);
      assert.equal(answer.status, 400, answer.body);
      assert.equal(answer.json.error?.code, 'PROTOCOL_ERROR');
      assert.match(answer.json.error!.message, field);
      assert.doesNotMatch(answer.body, /is not a function|secret-value-123|!!not base64!!|TypeError/);
    }
    assert.equal(count() > 0n, true);
    await assertStillServes();
  });

  test('finding 10: remote transactions beyond maxRemoteTransactions are refused with OVERLOADED', async () => {
    const begins = [1, 2, 3].map((i) => signedPost(url, { op: 'tx', session: `s-${i}-${Date.now()}`, seq: 0, action: 'begin', timeoutMs: 5_000 }));
    // The first holds the queue, the next two wait for it: three in all, the cap.
    await new Promise((r) => setTimeout(r, 200));
    const fourth = await signedPost(url, { op: 'tx', session: `s-4-${Date.now()}`, seq: 0, action: 'begin', timeoutMs: 5_000 });
    assert.equal(fourth.json.error?.code, 'OVERLOADED', fourth.body);
    assert.match(fourth.json.error!.message, /maxRemoteTransactions/);
    // Each begun session falls idle and is rolled back (transactionIdleTimeout 1 s); then writes go through again.
    await Promise.all(begins);
    await new Promise((r) => setTimeout(r, 3_500));
    await assertStillServes();
  });

  test('finding 12: binding errors come back from the replica as the same class and message as locally', async () => {
    const calls: [string, unknown][] = [
      ['INSERT INTO items (name) VALUES (?)', ['a', 'b']],
      ['INSERT INTO items (name) VALUES (:name)', { other: 'x' }],
      ['INSERT INTO items (name) VALUES (?)', [{ not: 'bindable' }]],
    ];
    for (const [sql, params] of calls) {
      const local = await primary.process.call('run', sql, params).then(() => undefined, (error: Error) => error);
      const forwarded = await replica.process.call('run', sql, params).then(() => undefined, (error: Error) => error);
      assert.ok(local && forwarded, `${sql} should fail on both`);
      assert.ok(local.name === 'RangeError' || local.name === 'TypeError', `${local.name}: ${local.message}`);
      assert.equal(forwarded.name, local.name, forwarded.message);
      assert.equal(forwarded.message, local.message);
    }
  });
});

type ProxyMode = 'pass' | 'unsigned401' | 'tamper' | 'hang' | 'unsignedHuge';

/**
 * A replica in this process whose primary is reached through a man in the middle: a real HTTP server that
 * forwards each request to the real primary and then answers as `mode` says.
 */
describe('the replica trusts only signed answers, and every uncertain outcome carries the idempotency key', () => {
  let primaryLiteFS: FakeLiteFS;
  let replicaLiteFS: FakeLiteFS;
  let primary: LiteFSDatabase;
  let replica: LiteFSDatabase;
  let proxy: Server;
  let mode: ProxyMode = 'pass';
  const held: IncomingMessage[] = [];
  const count = async (name: string): Promise<number> => Number(((await primary.get('SELECT count(*) AS n FROM items WHERE name = ?', [name])) as { n: number }).n);

  before(async () => {
    primaryLiteFS = await FakeLiteFS.start({ isPrimary: true });
    replicaLiteFS = await FakeLiteFS.start({ isPrimary: false, primaryHostname: 'node-a' });
    const [primaryPort, proxyPort] = [await freePort(), await freePort()];
    primary = await openDatabase(nodeOptions('node-a', primaryLiteFS, { listen: { host: '127.0.0.1', port: primaryPort }, advertiseUrl: `http://127.0.0.1:${proxyPort}` }));
    await primary.exec('CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT)');
    proxy = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk) => chunks.push(chunk));
      req.on('end', () => {
        const upstream = request({ host: '127.0.0.1', port: primaryPort, path: req.url, method: 'POST', headers: req.headers }, (answer) => {
          const body: Buffer[] = [];
          answer.on('data', (chunk) => body.push(chunk));
          answer.on('end', () => {
            const text = Buffer.concat(body);
            switch (mode) {
              case 'pass':
                res.writeHead(answer.statusCode ?? 500, answer.headers);
                return res.end(text);
              case 'unsigned401':
                res.writeHead(401, { 'content-type': 'application/json' });
                return res.end(JSON.stringify({ ok: false, error: { code: 'UNAUTHORIZED', message: 'ATTACKER TEXT: refused, nothing ran' } }));
              case 'tamper': {
                const altered = Buffer.from(text);
                altered[altered.length - 2] = (altered[altered.length - 2] ?? 0) ^ 1;
                res.writeHead(answer.statusCode ?? 500, answer.headers);
                return res.end(altered);
              }
              case 'hang':
                held.push(req);
                return;
              case 'unsignedHuge':
                res.writeHead(200, { 'content-length': String(1024 * 1024 * 1024) });
                res.write(Buffer.alloc(1024 * 1024, 'x'));
                held.push(req);
                return;
            }
          });
        });
        upstream.end(Buffer.concat(chunks));
      });
    });
    await new Promise<void>((resolve) => proxy.listen(proxyPort, '127.0.0.1', resolve));
    replica = await openDatabase(nodeOptions('node-b', replicaLiteFS, { path: primaryLiteFS.databasePath }));
  });
  after(async () => {
    for (const req of held) req.socket.destroy();
    proxy.closeAllConnections();
    proxy.close();
    await replica.close();
    await primary.close();
    await replicaLiteFS.close();
    await primaryLiteFS.close();
  });

  test('control: through an honest proxy, a forwarded write succeeds', async () => {
    mode = 'pass';
    assert.equal((await replica.run('INSERT INTO items (name) VALUES (?)', ['honest'])).changes, 1);
  });

  test('finding 11: an unsigned 401 for a write that ran is not believed, hides the peer text, and says it may have run', async () => {
    mode = 'unsigned401';
    const error = await replica.run('INSERT INTO items (name) VALUES (?)', ['ran-401']).then(() => assert.fail('should fail'), (e: Error & Record<string, unknown>) => e);
    assert.equal(error.code, 'UNAUTHORIZED');
    assert.doesNotMatch(error.message, /ATTACKER TEXT/);
    assert.match(error.message, /may have been applied/);
    assert.equal(error.mayHaveBeenApplied, true);
    assert.equal(typeof error.idempotencyKey, 'string');
    assert.equal(await count('ran-401'), 1);
    // The README's advice: retry with the same key; it is applied once.
    mode = 'pass';
    await replica.run('INSERT INTO items (name) VALUES (?)', ['ran-401'], { idempotencyKey: error.idempotencyKey as string });
    assert.equal(await count('ran-401'), 1);
  });

  test('finding 11: a tampered answer to a write that ran says it may have been applied, with the key', async () => {
    mode = 'tamper';
    const error = await replica.run('INSERT INTO items (name) VALUES (?)', ['ran-tampered']).then(() => assert.fail('should fail'), (e: Error & Record<string, unknown>) => e);
    assert.equal(error.code, 'PROTOCOL_ERROR');
    assert.match(error.message, /may have been applied/);
    assert.equal(error.mayHaveBeenApplied, true);
    assert.equal(typeof error.idempotencyKey, 'string');
    mode = 'pass';
    await replica.run('INSERT INTO items (name) VALUES (?)', ['ran-tampered'], { idempotencyKey: error.idempotencyKey as string });
    assert.equal(await count('ran-tampered'), 1);
  });

  test('finding 11: an unsigned answer of 1 GiB is refused without reading it', async () => {
    mode = 'unsignedHuge';
    const before = process.memoryUsage().rss;
    const started = Date.now();
    const error = await replica.run('INSERT INTO items (name) VALUES (?)', ['huge']).then(() => assert.fail('should fail'), (e: Error & Record<string, unknown>) => e);
    assert.equal(error.code, 'PROTOCOL_ERROR');
    assert.ok(Date.now() - started < 3_000);
    assert.ok(process.memoryUsage().rss - before < 64 * 1024 * 1024);
  });

  test('finding 15: FORWARD_TIMEOUT carries the idempotency key (generated or given), and a retry with it applies once', async () => {
    mode = 'hang';
    const error = await replica.run('INSERT INTO items (name) VALUES (?)', ['timed-out'], { timeout: 1_000 }).then(() => assert.fail('should fail'), (e: Error & Record<string, unknown>) => e);
    assert.equal(error.code, 'FORWARD_TIMEOUT');
    assert.equal(typeof error.idempotencyKey, 'string');
    assert.equal(error.mayHaveBeenApplied, true);
    assert.match(error.message, new RegExp(String(error.idempotencyKey)));
    assert.equal(await count('timed-out'), 1);
    mode = 'pass';
    await replica.run('INSERT INTO items (name) VALUES (?)', ['timed-out'], { idempotencyKey: error.idempotencyKey as string });
    assert.equal(await count('timed-out'), 1);

    mode = 'hang';
    const given = await replica.exec("INSERT INTO items (name) VALUES ('given-key')", { timeout: 1_000, idempotencyKey: 'my-key-1' }).then(() => assert.fail('should fail'), (e: Error & Record<string, unknown>) => e);
    assert.equal(given.code, 'FORWARD_TIMEOUT');
    assert.equal(given.idempotencyKey, 'my-key-1');
    mode = 'pass';
  });
});

describe('the endpoint server closes in bounded time', () => {
  test('idle keep-alive sockets go at once, a request in flight gets the grace, then is cut off', async () => {
    const silent = { warn() {}, info() {}, error() {}, debug() {} } as never;
    const server = await EndpointServer.start({
      handler: (req, res) => {
        if (req.url === '/hang') return; // never answers
        res.end('ok');
      },
      host: '127.0.0.1',
      port: 0,
      maxConnections: 10,
      headersTimeoutMs: 5_000,
      requestTimeoutMs: 10_000,
      keepAliveTimeoutMs: 60_000,
      closeGraceMs: 300,
      logger: silent,
    });
    const address = server.address() as { port: number };
    const agent = new Agent({ keepAlive: true });
    await new Promise<void>((resolve, reject) => request({ host: '127.0.0.1', port: address.port, path: '/', agent }, (res) => res.resume().on('end', resolve)).on('error', reject).end());
    const hanging = new Promise<void>((resolve) => request({ host: '127.0.0.1', port: address.port, path: '/hang' }).on('error', () => resolve()).end());
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(server.connections, 2);
    const started = Date.now();
    await within(2_000, server.close(), 'close()');
    await hanging;
    const took = Date.now() - started;
    assert.ok(took >= 250 && took < 1_500, `close() took ${took} ms`);
    agent.destroy();
  });
});
