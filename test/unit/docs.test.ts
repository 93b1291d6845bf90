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
