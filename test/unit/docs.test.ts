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

test("the README's supported-versions table is package.json's ranges and the Node lines the matrix runs", () => {
  const root = new URL('../../../', import.meta.url);
  const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { engines: { node: string }; peerDependencies: Record<string, string> };
  const script = readFileSync(new URL('scripts/lib/node-line.sh', root), 'utf8');
  const matrix = [...script.matchAll(/^ {2}"(\d+)\|(\d+)\|([\d. ]+)\|(node:sqlite)?"$/gm)].map(([, node, sqlite, kysely, builtin]) => [
    node,
    sqlite,
    kysely!.split(' ').join(', '),
    builtin === undefined ? 'no' : 'yes',
  ]);
  assert.ok(matrix.length >= 3, 'the matrix list was not found in scripts/lib/node-line.sh');
  const section = readme.slice(readme.indexOf('## Supported versions'));
  const table = [...section.matchAll(/^\| (\d+) \| (\d+) \| ([\d., ]+) \| (yes|no) \| ([\d.]+) \| (\d+) \|$/gm)];
  assert.deepEqual(
    table.map(([, node, sqlite, kysely, builtin]) => [node, sqlite, kysely, builtin]),
    matrix,
    "the README's table and scripts/lib/node-line.sh list different lines",
  );
  const peers = pkg.peerDependencies;
  const admits = (range: string | undefined, line: string) => (range ?? '').split('||').some((part) => part.trim().startsWith(`^${line}.`));
  for (const [, , sqlite, kysely, , drizzle, prisma] of table) {
    assert.ok(admits(peers['better-sqlite3'], sqlite!), `better-sqlite3 ${sqlite} is not admitted by ${peers['better-sqlite3']}`);
    for (const line of kysely!.split(', ')) assert.ok(admits(peers.kysely, line), `kysely ${line} is not admitted by ${peers.kysely}`);
    assert.ok(admits(peers['drizzle-orm'], drizzle!), `drizzle-orm ${drizzle} is not admitted by ${peers['drizzle-orm']}`);
    assert.ok(admits(peers['@prisma/client'], prisma!) && admits(peers['@prisma/driver-adapter-utils'], prisma!), `Prisma ${prisma} is not admitted`);
  }
  const oldest = Math.min(...table.map(([, node]) => Number(node)));
  assert.match(pkg.engines.node, new RegExp(`^>=${oldest}(\\.|$)`), `engines.node (${pkg.engines.node}) must start at the oldest tested line, Node ${oldest}`);
  for (const range of [peers['better-sqlite3'], peers.kysely]) {
    for (const part of range!.split('||')) {
      const line = /\^(\d+(?:\.\d+)?)/.exec(part)?.[1]?.replace(/\.0$/, '');
      assert.ok(table.some((row) => row[2] === line || row[3]!.split(', ').includes(line!)), `peer range part ${part.trim()} is not in the tested table`);
    }
  }
});

test("every test command CI runs is one the README gives, and each of them exists", () => {
  const ci = readFileSync(new URL('../../../.ci/run', import.meta.url), 'utf8');
  const scripts = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { scripts: Record<string, string> }).scripts;
  const npmCommands = [...ci.matchAll(/^(?:[A-Z_]+=(?:"[^"]*"|\S+) )*(npm (?:test|run ([\w:]+)))/gm)];
  assert.ok(npmCommands.length >= 5, `found only ${npmCommands.length} npm commands in .ci/run`);
  for (const [, command, script] of npmCommands) {
    assert.ok(readme.includes(`\n${command} `) || readme.includes(`\n${command}\n`), `.ci/run runs \`${command}\`, which the README does not give`);
    if (script !== undefined) assert.ok(scripts[script] !== undefined, `package.json has no script ${script}`);
  }
});
