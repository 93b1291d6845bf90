// `litefs-forward status`: the compiled CLI, run as a child process against a real primary and replica.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { type FakeNode, freePort, startPair, TEST_SECRET } from '../support/fake-cluster.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const { LITEFS_FORWARD_SECRET: _ignored, ...base } = process.env;
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env: { ...base, ...env }, timeout: 30_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

describe('litefs-forward status', () => {
  let primary: FakeNode;
  let replica: FakeNode;
  let close: () => Promise<void>;
  let primaryUrl: string;
  let replicaUrl: string;

  before(async () => {
    ({ primary, replica, close } = await startPair());
    primaryUrl = primary.process.listenUrl!;
    replicaUrl = replica.process.listenUrl!;
  });
  after(() => close());

  test('prints a table with one row per node', async () => {
    const run = await cli(['status', '--database', 'app.db', '--url', primaryUrl, '--url', replicaUrl, '--secret', TEST_SECRET]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stderr, '');
    const lines = run.stdout.trimEnd().split('\n');
    assert.equal(lines.length, 3);
    assert.match(lines[0]!, /^NODE\s+HOSTNAME\s+ROLE\s+PRIMARY\s+EVENT STREAM\s+\.PRIMARY FILE\s+TRACKING TABLE\s+TXID\s+LAG$/);
    assert.match(lines[1]!, new RegExp(`^${primaryUrl}\\s+node-a\\s+primary\\s+node-a\\s+connected \\(self\\)`));
    assert.match(lines[2]!, new RegExp(`^${replicaUrl}\\s+node-b\\s+replica\\s+node-a\\s+connected \\(node-a\\)`));
  });

  test('--json prints each node status as the database reports it; the secret and database can come from the environment', async () => {
    const run = await cli(['status', '-u', replicaUrl, '--json'], { LITEFS_FORWARD_SECRET: TEST_SECRET, LITEFS_FORWARD_DATABASE: 'app.db' });
    assert.equal(run.code, 0, run.stderr);
    const [report, ...rest] = JSON.parse(run.stdout);
    assert.deepEqual(rest, []);
    assert.equal(report.url, replicaUrl);
    assert.equal(report.ok, true);
    const expected = await replica.process.status();
    assert.equal(report.status.role, 'replica');
    assert.equal(report.status.hostname, 'node-b');
    assert.deepEqual(report.status.primary, expected.primary);
    assert.equal(report.status.signals.eventStream.state, 'connected');
    assert.deepEqual(Object.keys(report.status.signals), ['eventStream', 'primaryFile', 'trackingTable']);
  });

  test('a wrong secret: UNAUTHORIZED, and a non-zero exit', async () => {
    const run = await cli(['status', '--database', 'app.db', '--url', primaryUrl, '--secret', 'a-wrong-secret-that-is-long-enough-0000']);
    assert.equal(run.code, 1);
    assert.match(run.stdout, /ERROR\(UNAUTHORIZED\)/);
    assert.match(run.stderr, new RegExp(`${primaryUrl}: UNAUTHORIZED: .*the signature does not match`));
  });

  test('an unreachable node fails its row (UNREACHABLE) while the others are still reported', async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const run = await cli(['status', '--database', 'app.db', '--url', primaryUrl, '--url', dead, '--secret', TEST_SECRET, '--json', '--timeout', '2000']);
    assert.equal(run.code, 1);
    const reports = JSON.parse(run.stdout);
    assert.equal(reports[0].ok, true);
    assert.equal(reports[0].status.role, 'primary');
    assert.deepEqual(reports[1], { url: dead, ok: false, error: { code: 'UNREACHABLE', message: reports[1].error.message } });
    assert.match(reports[1].error.message, /ECONNREFUSED/);
    assert.match(run.stderr, new RegExp(`${dead}: UNREACHABLE: connect ECONNREFUSED`));
  });

  test('usage errors exit with 2; --help exits with 0', async () => {
    const help = await cli(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^Usage: litefs-forward status/);
    const noDatabase = await cli(['status', '--url', primaryUrl, '--secret', TEST_SECRET]);
    assert.equal(noDatabase.code, 2);
    assert.match(noDatabase.stderr, /no database: pass --database/);
    const noSecret = await cli(['status', '--database', 'app.db', '--url', primaryUrl]);
    assert.equal(noSecret.code, 2);
    assert.match(noSecret.stderr, /no secret/);
    const noUrl = await cli(['status', '--secret', TEST_SECRET]);
    assert.equal(noUrl.code, 2);
    assert.equal((await cli(['frobnicate'])).code, 2);
    assert.equal((await cli(['status', '--bogus'])).code, 2);
  });
});
