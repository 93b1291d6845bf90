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
  assert.equal(config.rpcTimeout, 15_000);
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
  [{ secret: 'short' }, 'secret', '<5 bytes>'],
  [{ mode: 'litefs', advertiseUrl: 'http://a:1' }, 'secret', 'undefined'],
  [{ mode: 'litefs', secret: 'x'.repeat(32) }, 'advertiseUrl', 'undefined'],
  [{ rpcTimout: 5 }, 'rpcTimout', '5'],
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
