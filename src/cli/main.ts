#!/usr/bin/env node
// The `litefs-forward` command. `litefs-forward status --database <name> --url <advertise URL>…` asks each node's forwarding
// endpoint for its status over the signed RPC channel and prints a table (or JSON with --json); `litefs-forward
// migrate` runs migrations on the primary (see migrate.ts).
import { parseArgs } from 'node:util';
import { runMigrate } from './migrate.js';
import { formatTable, queryStatuses } from './status.js';

const HELP = `Usage: litefs-forward status --database <name> --url <url> [--url <url>…] [options]
       litefs-forward migrate --path <db> [--sql-dir <dir>] [options] [-- <command>…]   (see migrate --help)

Asks each node's forwarding endpoint (its advertiseUrl) for its status over the signed
RPC channel, and prints role, primary, detection signals, TXID and replication lag.

Options:
  -d, --database <n>   the database's file name in the LiteFS mount, e.g. app.db
                       (default: $LITEFS_FORWARD_DATABASE); each database has its own endpoint
  -u, --url <url>      a node's advertise URL, e.g. http://10.0.0.5:20203 (repeatable)
  -s, --secret <s>     the cluster's shared secret (default: $LITEFS_FORWARD_SECRET)
  -t, --timeout <ms>   how long to wait for each node (default 5000)
      --json           print a JSON array: [{ url, ok, status } | { url, ok: false, error: { code, message } }]
  -h, --help           show this help

Exit status: 0 when every node answered, 1 when a node is unreachable or refused
the request (the error code is printed, e.g. UNAUTHORIZED when secrets differ),
2 on a usage error.
`;

async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'migrate') return runMigrate(argv.slice(1), { stdout: process.stdout, stderr: process.stderr, env: process.env });
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    return usage((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const [command, ...extra] = positionals;
  if (command === undefined) return usage('missing command');
  if (command !== 'status') return usage(`unknown command ${JSON.stringify(command)}`);
  if (extra.length > 0) return usage(`unexpected argument ${JSON.stringify(extra[0])}`);
  const urls = values.url ?? [];
  if (urls.length === 0) return usage('at least one --url is required');
  const database = values.database ?? process.env.LITEFS_FORWARD_DATABASE ?? '';
  if (database === '') return usage('no database: pass --database (the file name in the LiteFS mount, e.g. app.db) or set LITEFS_FORWARD_DATABASE');
  const secret = values.secret ?? process.env.LITEFS_FORWARD_SECRET ?? '';
  if (secret === '') return usage('no secret: pass --secret or set LITEFS_FORWARD_SECRET');
  const timeoutMs = Number(values.timeout ?? 5_000);
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) return usage(`--timeout must be a positive integer (ms), got ${JSON.stringify(values.timeout)}`);

  const reports = await queryStatuses(urls, { secret, timeoutMs, database });
  process.stdout.write(values.json ? `${JSON.stringify(reports, null, 2)}\n` : `${formatTable(reports)}\n`);
  const failed = reports.filter((report) => !report.ok);
  for (const report of failed) {
    if (!report.ok) process.stderr.write(`litefs-forward: ${report.url}: ${report.error.code}: ${report.error.message}\n`);
  }
  return failed.length > 0 ? 1 : 0;
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      database: { type: 'string', short: 'd' },
      url: { type: 'string', short: 'u', multiple: true },
      secret: { type: 'string', short: 's' },
      timeout: { type: 'string', short: 't' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
}

function usage(message: string): number {
  process.stderr.write(`litefs-forward: ${message}\n\n${HELP}`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`litefs-forward: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  },
);
