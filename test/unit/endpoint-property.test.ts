// A property test of the forwarding endpoint: random signed payloads never crash it, never hang it and never
// wedge it, and a normal write succeeds after each one. Bounded in time (fast-check's interruptAfterTimeLimit).
import assert from 'node:assert/strict';
import { TEST_RPC_PATH } from '../support/rpc-post.js';
import { request } from 'node:http';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { type LiteFSDatabase, openDatabase } from '../../src/index.js';
import { signRequest } from '../../src/wire/auth.js';
import { freePort, nodeOptions, TEST_SECRET } from '../support/fake-cluster.js';
import { FakeLiteFS } from '../support/fake-litefs.js';

const secret = Buffer.from(TEST_SECRET);
const ANSWER_DEADLINE_MS = 5_000;

let litefs: FakeLiteFS;
let db: LiteFSDatabase;
let url: string;

before(async () => {
  litefs = await FakeLiteFS.start({ isPrimary: true });
  const port = await freePort();
  db = await openDatabase(nodeOptions('node-a', litefs, { listen: { host: '127.0.0.1', port }, advertiseUrl: `http://127.0.0.1:${port}` }));
  await db.exec('CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT)');
  url = `http://127.0.0.1:${port}`;
});
after(async () => {
  await db.close();
  await litefs.close();
});

function signedPost(body: Buffer): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer within ${ANSWER_DEADLINE_MS} ms (the endpoint hung)`)), ANSWER_DEADLINE_MS);
    const req = request(new URL(TEST_RPC_PATH, url), { method: 'POST', headers: { 'content-type': 'application/json', ...signRequest(secret, 'prop', TEST_RPC_PATH, body) } }, (res) => {
      let text = '';
      res.on('data', (chunk) => {
        text += chunk;
      });
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, text });
      });
    });
    req.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    req.end(body);
  });
}

// Values an attacker (or a buggy node) may put anywhere.
const hostile = fc.oneof(
  fc.jsonValue(),
  fc.constant({ toString: null }),
  fc.constant({ valueOf: null, toString: null }),
  fc.constant({ __proto__: { x: 1 } }),
  fc.constantFrom(1e308, -1e308, 2 ** 53 + 1, -0, 0, 1, 600_001, '1', ''),
  fc.constant({ $b: '!!!' }),
  fc.constant({ $b: 'YQ' }),
  fc.constant({ $i: '99999999999999999999999' }),
  fc.constant({ $i: '1e3' }),
  fc.constant({ $r: 'nope' }),
  fc.constant({ $r: 'NaN', $i: '1' }),
  fc.constantFrom('query', 'batch', 'exec', 'tx', 'status', 'unknown-op', 'commit', 'rollback', 'query', 'run', 'all'),
  fc.array(fc.jsonValue(), { maxLength: 4 }),
);

// Well-formed requests to mutate. No `begin`: a begun transaction holds the write queue by design.
const bases: Record<string, unknown>[] = [
  { op: 'status', timeoutMs: 1_000 },
  { op: 'query', mode: 'run', sql: 'INSERT INTO items (name) VALUES (?)', params: { p: ['x'] }, timeoutMs: 1_000 },
  { op: 'query', mode: 'all', sql: 'SELECT ?, :a', params: { n: { a: 1 } }, timeoutMs: 1_000 },
  { op: 'batch', statements: [{ sql: 'SELECT 1' }, { sql: 'INSERT INTO items (name) VALUES (?)', params: { p: [{ $b: 'YWJj' }] } }], timeoutMs: 1_000 },
  { op: 'exec', sql: 'SELECT 1', timeoutMs: 1_000 },
  { op: 'tx', session: 'no-such-session', seq: 1, action: 'query', mode: 'get', sql: 'SELECT 1', timeoutMs: 1_000 },
  { op: 'tx', session: 'no-such-session', seq: 2, action: 'commit', key: 'k', timeoutMs: 1_000 },
];

const mutated = fc
  .record({
    base: fc.constantFrom(...bases),
    field: fc.constantFrom('op', 'mode', 'sql', 'params', 'statements', 'key', 'timeoutMs', 'session', 'seq', 'action', 'extra'),
    value: hostile,
    drop: fc.boolean(),
  })
  .map(({ base, field, value, drop }) => {
    const copy: Record<string, unknown> = { ...base };
    if (drop) delete copy[field];
    else copy[field] = value;
    return JSON.stringify(copy);
  });

const payload = fc.oneof(
  mutated,
  hostile.map((value) => JSON.stringify(value)),
  fc.string({ maxLength: 64 }),
  fc.constant('{"op":"status","timeoutMs":{"toString":null}}'),
  fc.constant('{"op":"query","mode":"run","sql":"SELECT 1","params":{"p":[{"$b":"%%%"}]},"timeoutMs":1000}'),
);

test('random signed payloads never crash, hang or wedge the endpoint; a normal write succeeds after each', async () => {
  let control = 0;
  await fc.assert(
    fc.asyncProperty(payload, async (text) => {
      const answer = await signedPost(Buffer.from(text));
      assert.ok(answer.status === 200 || answer.status === 400, `HTTP ${answer.status}: ${answer.text}`);
      const parsed = JSON.parse(answer.text) as { ok: boolean; error?: { code: string; message: string } };
      if (!parsed.ok) {
        // Coded refusals of what the payload asks (`"sql": "commit"` is STATEMENT_REFUSED) are answers, not failures.
        assert.match(parsed.error!.code, /^(PROTOCOL_ERROR|STATEMENT_REFUSED|OVERLOADED|TRANSACTION_CLOSED|SQLITE_[A-Z_]+|TRANSACTION_EXPIRED|FORWARD_FAILED)$/, answer.text);
        // Nothing internal leaks: no JS error text, no "undefined"/"[object Object]" from an unchecked value.
        assert.doesNotMatch(parsed.error!.message, /is not a function|Cannot read prop|\[object Object\]|undefined|toString/, answer.text);
      }
      const write = await signedPost(Buffer.from(JSON.stringify({ op: 'query', mode: 'run', sql: 'INSERT INTO items (name) VALUES (?)', params: { p: [`control-${control++}`] }, timeoutMs: 2_000 })));
      assert.equal(write.status, 200, write.text);
      assert.equal(JSON.parse(write.text).ok, true, write.text);
    }),
    { numRuns: 400, interruptAfterTimeLimit: 15_000, markInterruptAsFailure: false },
  );
  assert.ok(control > 20, `only ${control} runs completed`);
  const rows = (await db.get('SELECT count(*) AS n FROM items WHERE name LIKE ?', ['control-%'])) as { n: number };
  assert.equal(Number(rows.n), control);
});
