import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ClusterNode } from '../harness/litefs-node.js';

const root = new URL('../../../', import.meta.url);
const template = readFileSync(new URL('docs/litefs.yml', root), 'utf8');

/** Where a deployment and the suite legitimately differ: addresses, and which nodes may become primary. */
const SUBSTITUTED = ['fuse.dir', 'data.dir', 'http.addr', 'lease.hostname', 'lease.advertise-url', 'lease.consul.url', 'lease.consul.key', 'lease.candidate'];
/**
 * What the guide adds that the suite does not run: `promote` (hand the lease back to the primary region after a
 * deploy) and `exec` (the suite starts the app itself, to restart it independently of LiteFS).
 */
const GUIDE_ONLY = /^(lease\.promote|exec\[\d+\]\..+)$/;

/** Flattens the block-style YAML subset litefs.yml files use into `a.b[0].c` → scalar. */
function flatten(yaml: string): Map<string, string> {
  const out = new Map<string, string>();
  const stack: { indent: number; path: string }[] = [];
  const items = new Map<string, number>();
  for (const raw of yaml.split('\n')) {
    if (raw.trim() === '' || raw.trim().startsWith('#')) continue;
    let indent = raw.length - raw.trimStart().length;
    let text = raw.trim();
    while (stack.length > 0 && stack[stack.length - 1]!.indent >= indent) stack.pop();
    let parent = stack[stack.length - 1]?.path ?? '';
    if (text.startsWith('- ')) {
      const index = items.get(parent) ?? 0;
      items.set(parent, index + 1);
      parent = `${parent}[${index}]`;
      indent += 2;
      text = text.slice(2);
      stack.push({ indent: indent - 1, path: parent });
    }
    const match = /^([\w.-]+):\s*(.*)$/.exec(text);
    assert.ok(match, `not a key: value line: ${JSON.stringify(raw)}`);
    const path = parent === '' ? match[1]! : `${parent}.${match[1]}`;
    const value = match[2]!;
    if (value === '') stack.push({ indent, path });
    else out.set(path, value.startsWith('"') ? (JSON.parse(value) as string) : value.replace(/^'(.*)'$/, '$1'));
  }
  return out;
}

function harnessConfig(): { yaml: string; node: ClusterNode; close(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'litefs-forward-docs-'));
  const lease = { type: 'consul' as const, url: 'http://127.0.0.1:8500', key: 'litefs-forward-e2e/test', ttl: '10s', lockDelay: '1s' };
  const node = new ClusterNode({ index: 1, dir, httpPort: 20202, appPort: 8081, lease, ctx: { clusterRoot: dir, dbName: 'app.db', log: () => {} } });
  return { yaml: readFileSync(node.configPath, 'utf8'), node, close: () => rmSync(dir, { recursive: true, force: true }) };
}

test('the guide’s litefs.yml is the one the end-to-end suite runs, addresses substituted', () => {
  const harness = harnessConfig();
  try {
    const suite = flatten(harness.yaml);
    const guide = flatten(template);
    const shared = [...guide.keys()].filter((key) => !GUIDE_ONLY.test(key));
    assert.deepEqual(shared.sort(), [...suite.keys()].sort(), 'the guide and the suite set different keys');
    for (const key of shared) {
      if (SUBSTITUTED.includes(key)) continue;
      assert.equal(guide.get(key), suite.get(key), `${key} differs between docs/litefs.yml and the suite`);
    }
    // The substituted values really are this node's addresses in the suite, so nothing else hides behind them.
    assert.equal(suite.get('fuse.dir'), harness.node.mountDir);
    assert.equal(suite.get('lease.advertise-url'), harness.node.httpUrl);
    assert.equal(suite.get('http.addr'), '127.0.0.1:20202');
    assert.equal(guide.get('http.addr'), ':20202');
  } finally {
    harness.close();
  }
});

test('the guide only adds promote and exec to what the suite runs', () => {
  const additions = [...flatten(template).keys()].filter((key) => GUIDE_ONLY.test(key));
  assert.deepEqual(additions, ['lease.promote', 'exec[0].cmd', 'exec[0].if-candidate', 'exec[1].cmd']);
});

test('docs/deploy-fly.md embeds docs/litefs.yml verbatim', () => {
  const guide = readFileSync(new URL('docs/deploy-fly.md', root), 'utf8');
  assert.ok(guide.includes(`\`\`\`yaml\n${template}\`\`\``), 'docs/deploy-fly.md does not quote docs/litefs.yml exactly');
});

test('the flattener reads nesting and lists', () => {
  const flat = flatten('a:\n  b: "x"\nlist:\n  - cmd: one\n    flag: true\n  - cmd: \'two\'\n');
  assert.deepEqual([...flat], [['a.b', 'x'], ['list[0].cmd', 'one'], ['list[0].flag', 'true'], ['list[1].cmd', 'two']]);
});
