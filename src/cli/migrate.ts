// `litefs-forward migrate`: opens the database as the app does (without an endpoint), runs migrate() and exits.
import { hostname as osHostname } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { type DriverName, isLiteFSForwardError, type LiteFSDatabase, type Logger, openDatabase } from '../index.js';
import { migrate } from '../migrate/index.js';

export const MIGRATE_HELP = `Usage: litefs-forward migrate --path <db> [--sql-dir <dir>] [options] [-- <command>…]

Runs migrations on the primary only, under a cluster-wide lock, safely while the
primary moves. Run it on every node at start-up (before the app, e.g. in
LiteFS's exec): on the primary it takes the lock and migrates; on a replica it
waits until the primary has recorded every migration and this node has
replicated those records, then exits 0.

  --sql-dir <dir>       apply the *.sql files in <dir>, and each <folder>/migration.sql
                        (Prisma's layout), in name order, each in its own
                        transaction with the row recording it (exactly once)
  -- <command>…         run <command> on the primary under the lock (after the SQL
                        files), once per --id; it gets DATABASE_URL=file:<path>,
                        LITEFS_FORWARD_DATABASE=<file name> and
                        LITEFS_FORWARD_DATABASE_PATH=<path>

Options:
  -p, --path <file>        the database inside the LiteFS mount, e.g. /litefs/app.db
                           (default: $LITEFS_FORWARD_PATH)
      --id <id>            with a command: this release's id; the command runs once
                           per id (default: $LITEFS_FORWARD_MIGRATION_ID, then $FLY_IMAGE_REF)
      --hostname <name>    this node's LiteFS lease.hostname
                           (default: $LITEFS_FORWARD_HOSTNAME, then the OS hostname)
      --advertise-url <u>  the app's advertiseUrl, which a primary publishes
                           (default: $LITEFS_FORWARD_ADVERTISE_URL); nothing listens on it
  -s, --secret <s>         the cluster's shared secret (default: $LITEFS_FORWARD_SECRET)
      --litefs-url <url>   LiteFS's HTTP API (default http://localhost:20202)
      --mode <mode>        auto, litefs or local (default auto)
      --driver <name>      better-sqlite3 or node:sqlite, as the app opens the database
                           (default: $LITEFS_FORWARD_DRIVER, then better-sqlite3)
      --table <name>       the migrations table (default _litefs_forward_migrations)
  -t, --timeout <ms>       deadline of the whole run (default 600000)
      --lock-ttl <ms>      how long the lock lives without a heartbeat (default 30000)
      --json               print the result as JSON
  -v, --verbose            log progress to stderr
  -h, --help               show this help

Exit status: 0 when every migration is applied and replicated here, 1 when the
run failed (the error code is printed: MIGRATION_FAILED, MIGRATION_INTERRUPTED,
MIGRATION_TIMEOUT, …), 2 on a usage error.
`;

export async function runMigrate(argv: string[], io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream; env: NodeJS.ProcessEnv }): Promise<number> {
  const separator = argv.indexOf('--');
  const own = separator === -1 ? argv : argv.slice(0, separator);
  const command = separator === -1 ? undefined : argv.slice(separator + 1);
  const usage = (message: string): number => {
    io.stderr.write(`litefs-forward migrate: ${message}\n\n${MIGRATE_HELP}`);
    return 2;
  };
  let values: ReturnType<typeof parse>['values'];
  try {
    const parsed = parse(own);
    if (parsed.positionals.length > 0) return usage(`unexpected argument ${JSON.stringify(parsed.positionals[0])} (put the command after --)`);
    values = parsed.values;
  } catch (error) {
    return usage((error as Error).message);
  }
  if (values.help) {
    io.stdout.write(MIGRATE_HELP);
    return 0;
  }
  const { env } = io;
  const path = values.path ?? env.LITEFS_FORWARD_PATH ?? '';
  if (path === '') return usage('no database: pass --path (the database inside the LiteFS mount, e.g. /litefs/app.db) or set LITEFS_FORWARD_PATH');
  if (command !== undefined && command.length === 0) return usage('nothing after --: give the command to run, or leave out --');
  if (command === undefined && values['sql-dir'] === undefined) return usage('nothing to migrate: pass --sql-dir <dir>, a command after --, or both');
  const id = values.id ?? env.LITEFS_FORWARD_MIGRATION_ID ?? env.FLY_IMAGE_REF;
  if (command !== undefined && (id === undefined || id === '')) {
    return usage('a command needs --id (this release, e.g. a git SHA or image ref; the command runs once per id), or set LITEFS_FORWARD_MIGRATION_ID');
  }
  const timeout = integer(values.timeout);
  if (values.timeout !== undefined && timeout === undefined) return usage(`--timeout must be a positive integer (ms), got ${JSON.stringify(values.timeout)}`);
  const lockTtl = integer(values['lock-ttl']);
  if (values['lock-ttl'] !== undefined && lockTtl === undefined) return usage(`--lock-ttl must be a positive integer (ms), got ${JSON.stringify(values['lock-ttl'])}`);
  const litefsUrl = (values['litefs-url'] ?? 'http://localhost:20202').replace(/\/+$/, '');
  const logger = stderrLogger(io.stderr, values.verbose === true);

  let db: LiteFSDatabase | undefined;
  try {
    const secret = values.secret ?? env.LITEFS_FORWARD_SECRET;
    const advertiseUrl = values['advertise-url'] ?? env.LITEFS_FORWARD_ADVERTISE_URL;
    const driver = values.driver ?? env.LITEFS_FORWARD_DRIVER;
    db = await openDatabase({
      path,
      mode: (values.mode ?? 'auto') as 'auto',
      primaryFile: join(dirname(path), '.primary'),
      eventStreamUrl: `${litefsUrl}/events`,
      hostname: values.hostname ?? env.LITEFS_FORWARD_HOSTNAME ?? osHostname(),
      ...(secret === undefined ? {} : { secret }),
      ...(advertiseUrl === undefined ? {} : { advertiseUrl }),
      // Validated by openDatabase, like every option: an unknown name is CONFIG_INVALID.
      ...(driver === undefined ? {} : { driver: driver as DriverName }),
      // The app owns the forwarding endpoint; this process only reads, or writes as the primary.
      listen: false,
      logger,
    });
    const stop = new AbortController();
    const onSignal = (): void => stop.abort();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      const result = await migrate(db, {
        ...(values['sql-dir'] === undefined ? {} : { sqlDir: values['sql-dir'] }),
        ...(command === undefined ? {} : { command, id: id! }),
        ...(values.table === undefined ? {} : { table: values.table }),
        ...(timeout === undefined ? {} : { timeout }),
        ...(lockTtl === undefined ? {} : { lockTtl }),
        signal: stop.signal,
        logger,
      });
      const summary = { node: db.hostname, role: db.role, ...result };
      io.stdout.write(
        values.json
          ? `${JSON.stringify(summary)}\n`
          : result.waited
            ? `litefs-forward migrate: ${db.hostname} (${db.role}) has every migration, applied by the primary${result.txid === undefined ? '' : ` (TXID ${result.txid})`}\n`
            : `litefs-forward migrate: ${db.hostname} (${db.role}) applied ${result.applied.length === 0 ? 'nothing (up to date)' : result.applied.join(', ')}\n`,
      );
      return 0;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  } catch (error) {
    if (isLiteFSForwardError(error)) {
      io.stderr.write(`litefs-forward migrate: ${error.code}: ${error.message}\n`);
      if (values.json) io.stdout.write(`${JSON.stringify({ ok: false, error: { code: error.code, message: error.message } })}\n`);
      return 1;
    }
    throw error;
  } finally {
    await db?.close();
  }
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      path: { type: 'string', short: 'p' },
      'sql-dir': { type: 'string' },
      driver: { type: 'string' },
      id: { type: 'string' },
      hostname: { type: 'string' },
      'advertise-url': { type: 'string' },
      secret: { type: 'string', short: 's' },
      'litefs-url': { type: 'string' },
      mode: { type: 'string' },
      table: { type: 'string' },
      timeout: { type: 'string', short: 't' },
      'lock-ttl': { type: 'string' },
      json: { type: 'boolean', default: false },
      verbose: { type: 'boolean', short: 'v', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
}

function integer(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d+$/.test(value)) return undefined;
  const number = Number(value);
  return Number.isSafeInteger(number) && number > 0 ? number : undefined;
}

/** Warnings and errors always; progress with --verbose. One line each, on stderr. */
function stderrLogger(stderr: NodeJS.WritableStream, verbose: boolean): Logger {
  const line = (level: string) => (fields: object, message: string) => {
    const code = (fields as { code?: unknown }).code;
    stderr.write(`litefs-forward migrate: ${level}: ${message}${typeof code === 'string' ? ` (${code})` : ''}\n`);
  };
  const ignore = (): void => {};
  return { debug: ignore, info: verbose ? line('info') : ignore, warn: line('warn'), error: line('error') };
}
