import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { DEFAULTS } from '../../src/config.js';
import { CHANNELS } from '../../src/diagnostics.js';
import { ERROR_CODES } from '../../src/errors.js';

const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');

test('every error code is documented in the README', () => {
  for (const code of ERROR_CODES) assert.ok(readme.includes(`| \`${code}\` |`), `${code} is missing from the README's error table`);
});

test('every diagnostics channel is documented', () => {
  for (const name of Object.values(CHANNELS)) assert.ok(readme.includes(`\`${name}\``), `${name} is missing`);
});

test('the documented defaults are the real ones', () => {
  for (const [option, value] of [
    ['primaryFile', DEFAULTS.primaryFile],
    ['pollInterval', DEFAULTS.pollInterval],
    ['eventStreamUrl', DEFAULTS.eventStreamUrl],
    ['tableName', DEFAULTS.tableName],
    ['cacheTtl', DEFAULTS.cacheTtl],
    ['rpcTimeout', DEFAULTS.rpcTimeout],
  ] as const) {
    assert.ok(readme.includes(`| \`${option}\` | \`${value}\` |`), `${option}'s default ${value} is not in the README`);
  }
});

test('the README quotes each adapter example exactly as it compiles', () => {
  for (const name of ['kysely', 'drizzle', 'prisma']) {
    const source = readFileSync(new URL(`../../../examples/adapters/${name}.ts`, import.meta.url), 'utf8')
      .replace(/'\.\.\/\.\.\/src\/adapters\/(\w+)\/index\.js'/g, "'litefs-forward/$1'")
      .replace("'../../src/index.js'", "'litefs-forward'")
      .replace("'../../test/fixtures/prisma/generated/client.js'", "'./generated/prisma/client.js'")
      .trimEnd();
    assert.ok(readme.includes(source), `the README's ${name} example differs from examples/adapters/${name}.ts`);
  }
});
