import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULTS, resolveConfig } from '../../src/config.js';
import { ConfigError } from '../../src/errors.js';

const base = { path: '/litefs/app.db' };

test('defaults match the seed (EctoLiteFS) where it has one', () => {
  const config = resolveConfig(base);
  assert.equal(config.primaryFile, '/litefs/.primary');
  assert.equal(config.pollInterval, 30_000);
  assert.equal(config.eventStreamUrl, 'http://localhost:20202/events');
  assert.equal(config.infoUrl, 'http://localhost:20202/info');
  assert.equal(config.cacheTtl, 5_000);
  assert.equal(config.rpcTimeout, 30_000);
  assert.equal(config.tableName, DEFAULTS.tableName);
  assert.ok(Object.isFrozen(config));
  assert.equal(resolveConfig({ ...base, eventStreamUrl: false }).infoUrl, 'http://localhost:20202/info');
  assert.equal(resolveConfig({ ...base, eventStreamUrl: 'http://litefs:9000/events' }).infoUrl, 'http://litefs:9000/info');
});

for (const [options, option, fragment] of [
  [{ pollInterval: -1 }, 'pollInterval', '-1'],
  [{ cacheTtl: 'soon' }, 'cacheTtl', '"soon"'],
  [{ tableName: 'x; DROP TABLE y' }, 'tableName', 'DROP TABLE'],
  [{ eventStreamUrl: 'ftp://x' }, 'eventStreamUrl', 'ftp://x'],
  [{ mode: 'cloud' }, 'mode', 'cloud'],
  [{ secret: 'short' }, 'secret', '<redacted string of 5 bytes>'],
  [{ mode: 'litefs', advertiseUrl: 'http://a:1' }, 'secret', 'undefined'],
  [{ mode: 'litefs', secret: 'x'.repeat(32) }, 'advertiseUrl', 'undefined'],
  [{ rpcTimout: 5 }, 'rpcTimout', 'no such option'],
  [{ groupCommit: { maxSize: 0 } }, 'groupCommit.maxSize', '0'],
  [{ logger: { info() {} } }, 'logger', ''],
] as const) {
  test(`an invalid ${option} is refused with a message naming it and the value`, () => {
    assert.throws(
      () => resolveConfig({ ...base, ...(options as object) } as never),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.equal(error.code, 'CONFIG_INVALID');
        assert.equal(error.option, option);
        assert.ok(error.message.includes(`\`${option}\``), error.message);
        assert.ok(error.message.includes(fragment), error.message);
        return true;
      },
    );
  });
}

test('the secret itself never appears in an error', () => {
  assert.throws(() => resolveConfig({ ...base, secret: 'hunter2' }), (error: Error) => !error.message.includes('hunter2'));
});

test('a secret of any type is never echoed: only its type and size are', () => {
  const bytes = new Uint8Array([0x68, 0x75, 0x6e, 0x74, 0x65, 0x72, 0x32]);
  for (const [secret, forbidden] of [
    [{ key: 'hunter2-object' }, ['hunter2-object', 'key']],
    [['hunter2-array'], ['hunter2-array']],
    [424242424242, ['424242424242']],
    [4242n, ['4242']],
    [bytes, ['104', '117', '0x68', 'hunter2', 'aHVudGVy']],
    [Buffer.from('hunter2'), ['hunter2', '104']],
  ] as const) {
    assert.throws(
      () => resolveConfig({ ...base, secret } as never),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.equal(error.option, 'secret');
        for (const fragment of forbidden) assert.ok(!error.message.includes(fragment), `${error.message} leaks ${fragment}`);
        assert.match(error.message, /redacted/);
        return true;
      },
    );
  }
  // A misspelled option may hold the secret too.
  assert.throws(() => resolveConfig({ ...base, secrett: 'hunter2-misspelled' } as never), (error: Error) => !error.message.includes('hunter2'));
});

test('an https advertiseUrl without a port listens on 443, an http one on 80', () => {
  const listen = (advertiseUrl: string) => resolveConfig({ ...base, advertiseUrl }).listen;
  assert.equal((listen('https://node-a.internal/') as { port: number }).port, 443);
  assert.equal((listen('http://node-a.internal/') as { port: number }).port, 80);
  assert.equal((listen('https://node-a.internal:8443/') as { port: number }).port, 8443);
});

test('the default rpcTimeout outlasts a failover with Consul\'s minimum lease (TTL 10 s + lock-delay 1 s, measured 18-20 s)', () => {
  const measuredFailoverMs = 20_000;
  assert.ok(DEFAULTS.rpcTimeout > measuredFailoverMs, `rpcTimeout ${DEFAULTS.rpcTimeout} ms is shorter than a failover`);
  assert.ok(resolveConfig(base).rpcTimeout >= 10_000 + 1_000 + 10_000);
});
