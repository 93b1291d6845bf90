import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, test } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { ColumnTypeEnum, DriverAdapterError, type SqlDriverAdapter, type Transaction as PrismaTransaction } from '@prisma/driver-adapter-utils';
import { migrate, PrismaLiteFS } from '../../../src/adapters/prisma/index.js';
import { inferColumnTypes, mapArg, mapRow } from '../../../src/adapters/prisma/prisma-conversion.js';
import { toPrismaError } from '../../../src/adapters/prisma/prisma-errors.js';
import { splitStatements } from '../../../src/adapters/prisma/prisma-script.js';
import { isLiteFSForwardError, type LiteFSDatabase, type LiteFSForwardOptions, openDatabase } from '../../../src/index.js';
import { Prisma, PrismaClient } from '../../fixtures/prisma/generated/client.js';
import { isUniqueViolation, migratePrismaApp, PRISMA_MIGRATIONS, prismaMigrationsFolder, runPrismaScenario, transfer } from './prisma-app.js';
import { TEST_DRIVER } from '../../support/drivers.js';

const root = mkdtempSync(join(tmpdir(), 'litefs-forward-prisma-'));
after(() => rmSync(root, { recursive: true, force: true }));
let counter = 0;

interface Opened {
  database: LiteFSDatabase;
  prisma: PrismaClient;
  path: string;
  close(): Promise<void>;
}

async function open(options: Partial<LiteFSForwardOptions> = {}, adapterOptions?: ConstructorParameters<typeof PrismaLiteFS>[1]): Promise<Opened> {
  const path = join(root, `app-${++counter}.db`);
  const database = await openDatabase({ driver: TEST_DRIVER, path, mode: 'local', ...options });
  const prisma = new PrismaClient({ adapter: new PrismaLiteFS(database, adapterOptions) });
  return {
    database,
    prisma,
    path,
    close: async () => {
      await prisma.$disconnect();
      await database.close();
    },
  };
}

const sql = (text: string, ...args: unknown[]) => ({ sql: text, args, argTypes: args.map(() => ({ scalarType: 'unknown' as const, arity: 'scalar' as const })) });

async function setUpAccounts(prisma: PrismaClient, balance: number): Promise<void> {
  await migratePrismaApp(prisma);
  const owner = await prisma.user.create({ data: { email: `owner-${counter}@example.com` } });
  await prisma.account.createMany({
    data: [
      { id: 'from', ownerId: owner.id, balance },
      { id: 'to', ownerId: owner.id, balance: 0 },
    ],
  });
}

test('the application scenario passes, and again on the same database', async () => {
  const { prisma, close } = await open();
  try {
    await runPrismaScenario(prisma);
    await runPrismaScenario(prisma);
  } finally {
    await close();
  }
});

test('the scenario passes with safeIntegers, and BigInt values beyond 2^53 stay exact', async () => {
  const { prisma, close } = await open({ safeIntegers: true });
  try {
    await runPrismaScenario(prisma);
    const big = 2n ** 62n + 7n;
    const sample = await prisma.sample.create({ data: { tag: 'big', big, ratio: 1.5, price: 1, at: new Date() } });
    assert.equal(sample.big, big);
    assert.equal((await prisma.sample.findFirstOrThrow({ where: { big } })).big, big);
    // $queryRaw types columns from their values: INTEGER arrives as bigint, so Prisma returns a BigInt, as it
    // does with @prisma/adapter-better-sqlite3 for an expression.
    const [row] = await prisma.$queryRaw<{ big: bigint; n: bigint }[]>`SELECT big, count(*) AS n FROM prisma_samples WHERE big = ${big}`;
    assert.deepEqual(row, { big, n: 1n });
  } finally {
    await close();
  }
});

test('Prisma sends COMMIT and ROLLBACK as statements; they end the litefs-forward transaction', async () => {
  const path = join(root, `app-${++counter}.db`);
  const database = await openDatabase({ driver: TEST_DRIVER, path, mode: 'local' });
  const prisma = new PrismaClient({ adapter: new PrismaLiteFS(database), log: [{ emit: 'event', level: 'query' }] });
  const queries: string[] = [];
  prisma.$on('query', (event) => queries.push(event.query));
  try {
    await migratePrismaApp(prisma);
    queries.length = 0;
    await prisma.$transaction(async (tx) => tx.user.create({ data: { email: 'committed@example.com' } }));
    assert.equal(queries.at(-1), 'COMMIT');
    await assert.rejects(
      prisma.$transaction(async (tx) => {
        await tx.user.create({ data: { email: 'rolled-back@example.com' } });
        throw new Error('undo');
      }),
      /undo/,
    );
    assert.equal(queries.at(-1), 'ROLLBACK');
    // The transaction really ended: the primary's write lock is free, and only the committed row is there.
    assert.deepEqual(await database.all('SELECT email FROM prisma_users'), [{ email: 'committed@example.com' }]);
    await database.run("INSERT INTO prisma_users (email) VALUES ('after@example.com')");
  } finally {
    await prisma.$disconnect();
    await database.close();
  }
});

test('two concurrent read-then-write transactions do not interleave', async () => {
  const { prisma, close } = await open();
  try {
    await setUpAccounts(prisma, 100);
    // Each reads 100 and, after a pause, spends 60: run together without isolation, both would succeed.
    const slowSpend = (): Promise<number> =>
      prisma.$transaction(async (tx) => {
        const source = await tx.account.findUniqueOrThrow({ where: { id: 'from' } });
        await sleep(30);
        if (source.balance < 60) throw new Error('insufficient funds');
        await tx.account.update({ where: { id: 'from' }, data: { balance: source.balance - 60 } });
        return source.balance - 60;
      });
    const outcomes = await Promise.allSettled([slowSpend(), slowSpend()]);
    assert.deepEqual(outcomes.map((outcome) => outcome.status).sort(), ['fulfilled', 'rejected']);

    // Many concurrent transfers and batches: every one applies exactly once.
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        i % 2 === 0 ? transfer(prisma, 'from', 'to', 1) : prisma.$transaction([prisma.account.update({ where: { id: 'from' }, data: { balance: { decrement: 1 } } })]),
      ),
    );
    const rows = await prisma.account.findMany({ orderBy: { id: 'asc' } });
    assert.deepEqual(
      rows.map((row) => [row.id, row.balance]),
      [
        ['from', 20],
        ['to', 10],
      ],
    );
  } finally {
    await close();
  }
});

test('queries outside a transaction never join it, even while it is open', async () => {
  const { prisma, close } = await open();
  try {
    await migratePrismaApp(prisma);
    let outside: Promise<unknown> | undefined;
    let outsideDone = false;
    await assert.rejects(
      prisma.$transaction(async (tx) => {
        await tx.user.create({ data: { email: 'inside@example.com' } });
        assert.equal(await tx.user.count(), 1);
        // The client, used while the transaction is open: a read does not see it, a write waits for it.
        assert.equal(await prisma.user.count(), 0);
        outside = prisma.user.create({ data: { email: 'outside@example.com' } }).then(() => {
          outsideDone = true;
        });
        await sleep(50);
        assert.equal(outsideDone, false);
        throw new Error('roll back');
      }),
      /roll back/,
    );
    await outside;
    assert.deepEqual(await prisma.user.findMany({ select: { email: true } }), [{ email: 'outside@example.com' }]);
  } finally {
    await close();
  }
});

test("Prisma's errors: P2002, P2003 (foreign key), P2021 (no such table), P2010 (raw), and the others", async () => {
  const { prisma, database, close } = await open();
  try {
    await assert.rejects(prisma.user.findMany(), (error) => error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2021');
    await migratePrismaApp(prisma);
    const user = await prisma.user.create({ data: { email: 'taken@example.com' } });
    await assert.rejects(prisma.user.create({ data: { email: 'taken@example.com' } }), (error) => isUniqueViolation(error));
    await assert.rejects(
      prisma.account.create({ data: { id: 'orphan', ownerId: user.id + 1000, balance: 0 } }),
      (error) => error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2003',
    );
    await assert.rejects(
      prisma.$executeRaw`INSERT INTO prisma_users (email) VALUES (${'taken@example.com'})`,
      (error) => error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2010' && /SQLITE_CONSTRAINT_UNIQUE/.test(error.message),
    );
    // Prisma reports other errors with their own code and message: SQLite's, or litefs-forward's.
    await assert.rejects(prisma.$executeRawUnsafe('SELEC 1'), { name: 'PrismaClientKnownRequestError', code: 'SQLITE_ERROR', message: /syntax error/ });
    await database.close();
    await assert.rejects(prisma.user.count(), (error) => error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'CLOSED' && isLiteFSForwardError(error));
  } finally {
    await close();
  }
});

test('timestampFormat: unixepoch-ms stores DateTime as epoch milliseconds', async () => {
  const { prisma, database, close } = await open({}, { timestampFormat: 'unixepoch-ms' });
  try {
    await migratePrismaApp(prisma);
    const at = new Date('2024-05-06T07:08:09.010Z');
    await prisma.sample.create({ data: { tag: 'ms', big: 1n, ratio: 1, price: 1, at } });
    assert.deepEqual(await database.get('SELECT at FROM prisma_samples'), { at: at.getTime() });
    assert.equal((await prisma.sample.findFirstOrThrow({ where: { at } })).at.toISOString(), at.toISOString());
  } finally {
    await close();
  }
});

describe('the driver adapter', () => {
  async function connect(): Promise<{ adapter: SqlDriverAdapter; database: LiteFSDatabase }> {
    const database = await openDatabase({ driver: TEST_DRIVER, path: join(root, `app-${++counter}.db`), mode: 'local' });
    await database.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
    return { adapter: await new PrismaLiteFS(database).connect(), database };
  }
  const values = async (adapter: SqlDriverAdapter): Promise<unknown[]> => (await adapter.queryRaw(sql('SELECT v FROM t ORDER BY id'))).rows.map((row) => row[0]);

  test('describes itself as Prisma expects', async () => {
    const factory = new PrismaLiteFS(async () => {
      throw new Error('not opened');
    });
    assert.equal(factory.provider, 'sqlite');
    assert.equal(factory.adapterName, 'litefs-forward');
    const { adapter, database } = await connect();
    try {
      assert.deepEqual([adapter.provider, adapter.adapterName], ['sqlite', 'litefs-forward']);
      const tx = await adapter.startTransaction();
      assert.deepEqual(tx.options, { usePhantomQuery: false });
      await tx.rollback();
    } finally {
      await adapter.dispose();
      await database.close();
    }
  });

  test('a transaction ends with COMMIT sent as a statement, or with commit() alone', async () => {
    const { adapter, database } = await connect();
    try {
      // Prisma 7's way: the statement, then commit(), which is then a no-op.
      const first = await adapter.startTransaction();
      assert.equal(await first.executeRaw(sql('INSERT INTO t (v) VALUES (?)', 'statement')), 1);
      assert.deepEqual(await values(adapter), [], 'not visible before the commit');
      assert.equal(await first.executeRaw(sql('COMMIT')), 0);
      assert.deepEqual(await values(adapter), ['statement']);
      await first.commit();
      // The convention of adapters with usePhantomQuery: commit() alone.
      const second = await adapter.startTransaction();
      await second.executeRaw(sql('INSERT INTO t (v) VALUES (?)', 'call'));
      await second.commit();
      assert.deepEqual(await values(adapter), ['statement', 'call']);
      // A second COMMIT statement is an error, as in SQLite; a late rollback() is harmless.
      await assert.rejects(second.executeRaw(sql('commit;')), (error) => error instanceof DriverAdapterError && error.cause.kind === 'TransactionAlreadyClosed');
      await second.rollback();
      // ROLLBACK as a statement, as a call, and in any case.
      for (const end of [(tx: PrismaTransaction) => tx.executeRaw(sql('ROLLBACK')), (tx: PrismaTransaction) => tx.rollback(), (tx: PrismaTransaction) => tx.queryRaw(sql(' rollback transaction '))]) {
        const tx = await adapter.startTransaction();
        await tx.executeRaw(sql('INSERT INTO t (v) VALUES (?)', 'undone'));
        await end(tx);
        await tx.rollback();
      }
      assert.deepEqual(await values(adapter), ['statement', 'call']);
    } finally {
      await adapter.dispose();
      await database.close();
    }
  });

  test('savepoints, isolation levels, executeScript, dispose', async () => {
    const { adapter, database } = await connect();
    try {
      const tx = await adapter.startTransaction('SERIALIZABLE');
      await tx.executeRaw(sql("INSERT INTO t (v) VALUES ('kept')"));
      await tx.createSavepoint!('sp_1');
      await tx.executeRaw(sql("INSERT INTO t (v) VALUES ('dropped')"));
      await tx.rollbackToSavepoint!('sp_1');
      await tx.releaseSavepoint!('sp_1');
      await tx.executeRaw(sql('COMMIT'));
      await tx.commit();
      assert.deepEqual(await values(adapter), ['kept']);

      await assert.rejects(adapter.startTransaction('READ COMMITTED'), (error) => error instanceof DriverAdapterError && error.cause.kind === 'InvalidIsolationLevel');
      await adapter.executeScript("INSERT INTO t (v) VALUES ('a'); INSERT INTO t (v) VALUES ('b');");
      assert.deepEqual(await values(adapter), ['kept', 'a', 'b']);

      // dispose() rolls back what is still open, and leaves the database (given, not opened here) open.
      const open = await adapter.startTransaction();
      await open.executeRaw(sql("INSERT INTO t (v) VALUES ('abandoned')"));
      await adapter.dispose();
      await adapter.dispose();
      assert.deepEqual(await database.values('SELECT v FROM t ORDER BY id'), [['kept'], ['a'], ['b']]);
    } finally {
      await database.close();
    }
  });

  test('raw result columns are typed from their values; integers are exact', async () => {
    const { adapter, database } = await connect();
    try {
      const result = await adapter.queryRaw(sql("SELECT 1 AS i, 1.5 AS r, 'x' AS s, x'00ff' AS b, NULL AS n, 9007199254740993 AS big"));
      assert.deepEqual(result.columnNames, ['i', 'r', 's', 'b', 'n', 'big']);
      assert.deepEqual(result.columnTypes, [ColumnTypeEnum.UnknownNumber, ColumnTypeEnum.UnknownNumber, ColumnTypeEnum.Text, ColumnTypeEnum.Bytes, ColumnTypeEnum.Int32, ColumnTypeEnum.UnknownNumber]);
      assert.deepEqual((await adapter.queryRaw(sql('UPDATE t SET v = v'))).rows, []);
    } finally {
      await adapter.dispose();
      await database.close();
    }
  });
});

describe('conversion', () => {
  const type = (scalarType: Parameters<typeof mapArg>[1] extends infer T ? (T extends { scalarType: infer S } ? S : never) : never) => ({ scalarType, arity: 'scalar' as const });

  test('arguments are bound as @prisma/adapter-better-sqlite3 binds them', () => {
    assert.equal(mapArg(null, type('int'), 'iso8601'), null);
    assert.equal(mapArg(undefined, undefined, 'iso8601'), null);
    assert.equal(mapArg('42', type('int'), 'iso8601'), 42);
    assert.equal(mapArg('1.25', type('float'), 'iso8601'), 1.25);
    assert.equal(mapArg('1.25', type('decimal'), 'iso8601'), 1.25);
    assert.equal(mapArg('9223372036854775807', type('bigint'), 'iso8601'), 9223372036854775807n);
    assert.equal(mapArg(true, type('boolean'), 'iso8601'), 1);
    assert.equal(mapArg(false, type('boolean'), 'iso8601'), 0);
    assert.equal(mapArg('2024-01-02T03:04:05.006Z', type('datetime'), 'iso8601'), '2024-01-02T03:04:05.006+00:00');
    assert.equal(mapArg(new Date('2024-01-02T03:04:05.006Z'), type('unknown'), 'unixepoch-ms'), Date.UTC(2024, 0, 2, 3, 4, 5, 6));
    assert.deepEqual(mapArg('AAH/', type('bytes'), 'iso8601'), Buffer.from([0, 1, 255]));
    assert.equal(mapArg('text', type('string'), 'iso8601'), 'text');
    assert.equal(mapArg(7n, undefined, 'iso8601'), 7n);
    assert.throws(() => mapArg({ an: 'object' }, type('unknown'), 'iso8601'), (error) => error instanceof DriverAdapterError && error.cause.kind === 'InvalidInputValue');
  });

  test('rows carry integers as numbers when exact, else as strings', () => {
    const rows = [
      [null, 5n, 2n ** 60n, 1.5, 'a', Buffer.from([1])],
      [null, 6n, 1n, 2.5, 'b', Buffer.from([2])],
    ];
    const types = inferColumnTypes(6, rows);
    assert.deepEqual(types, [ColumnTypeEnum.Int32, ColumnTypeEnum.Int64, ColumnTypeEnum.Int64, ColumnTypeEnum.UnknownNumber, ColumnTypeEnum.Text, ColumnTypeEnum.Bytes]);
    assert.deepEqual(mapRow(rows[0]!, types), [null, 5, '1152921504606846976', 1.5, 'a', Buffer.from([1])]);
    assert.deepEqual(mapRow([2.7], [ColumnTypeEnum.Int64]), [2]);
  });

  test('SQLite errors map to Prisma errors; others pass through', () => {
    const sqliteError = (code: string, message: string) => Object.assign(new Error(message), { code });
    const cause = (error: unknown) => (error as DriverAdapterError).cause as Record<string, unknown>;
    assert.deepEqual(cause(toPrismaError(sqliteError('SQLITE_CONSTRAINT_UNIQUE', 'UNIQUE constraint failed: users.a, users.b'))), {
      originalCode: 'SQLITE_CONSTRAINT_UNIQUE',
      originalMessage: 'UNIQUE constraint failed: users.a, users.b',
      kind: 'UniqueConstraintViolation',
      constraint: { fields: ['a', 'b'] },
    });
    assert.equal(cause(toPrismaError(sqliteError('SQLITE_CONSTRAINT_PRIMARYKEY', 'UNIQUE constraint failed: t.id'))).kind, 'UniqueConstraintViolation');
    assert.deepEqual(cause(toPrismaError(sqliteError('SQLITE_CONSTRAINT_NOTNULL', 'NOT NULL constraint failed: t.v'))).constraint, { fields: ['v'] });
    assert.equal(cause(toPrismaError(sqliteError('SQLITE_CONSTRAINT_FOREIGNKEY', 'FOREIGN KEY constraint failed'))).kind, 'ForeignKeyConstraintViolation');
    assert.equal(cause(toPrismaError(sqliteError('SQLITE_BUSY', 'database is locked'))).kind, 'SocketTimeout');
    assert.deepEqual(cause(toPrismaError(sqliteError('SQLITE_ERROR', 'no such table: nowhere'))), {
      originalCode: 'SQLITE_ERROR',
      originalMessage: 'no such table: nowhere',
      kind: 'TableDoesNotExist',
      table: 'nowhere',
    });
    assert.equal(cause(toPrismaError(sqliteError('SQLITE_ERROR', 'table t has no column named w'))).kind, 'ColumnNotFound');
    const syntax = sqliteError('SQLITE_ERROR', 'near "SELEC": syntax error');
    assert.equal(toPrismaError(syntax), syntax);
    const forwarding = Object.assign(new Error('no primary'), { code: 'PRIMARY_UNAVAILABLE' });
    assert.equal(toPrismaError(forwarding), forwarding);
  });
});

describe('migrate()', () => {
  function migrationsCopy(): string {
    const folder = mkdtempSync(join(root, 'migrations-'));
    cpSync(prismaMigrationsFolder(), folder, { recursive: true });
    return folder;
  }
  const tables = (database: LiteFSDatabase) =>
    database.values("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_litefs_forward%' ORDER BY name");

  test("records each migration as Prisma Migrate does, with Prisma's checksum", async () => {
    const { prisma, database, close } = await open();
    try {
      assert.deepEqual(await migratePrismaApp(prisma), PRISMA_MIGRATIONS);
      const rows = await database.all<Record<string, unknown>>('SELECT * FROM _prisma_migrations ORDER BY migration_name');
      assert.deepEqual(
        rows.map((row) => [row.migration_name, row.checksum, row.applied_steps_count, row.logs, row.rolled_back_at]),
        PRISMA_MIGRATIONS.map((name) => [name, createHash('sha256').update(readFileSync(join(prismaMigrationsFolder(), name, 'migration.sql'))).digest('hex'), 1, null, null]),
      );
      for (const row of rows) assert.ok(typeof row.finished_at === 'number' && Math.abs(row.finished_at - Date.now()) < 60_000, `finished_at ${row.finished_at}`);
      assert.deepEqual(await tables(database), [['_prisma_migrations'], ['prisma_accounts'], ['prisma_samples'], ['prisma_users']]);
    } finally {
      await close();
    }
  });

  test('migrations started at once on two nodes run exactly once', async () => {
    const { prisma, database, path, close } = await open();
    const other = await openDatabase({ driver: TEST_DRIVER, path, mode: 'local' });
    const prisma2 = new PrismaClient({ adapter: new PrismaLiteFS(other) });
    try {
      const results = await Promise.all([migratePrismaApp(prisma), migratePrismaApp(prisma2), migratePrismaApp(prisma)]);
      assert.deepEqual(results.flat().sort(), PRISMA_MIGRATIONS);
      assert.deepEqual(await database.values('SELECT count(*) FROM _prisma_migrations'), [[2]]);
    } finally {
      await prisma2.$disconnect();
      await other.close();
      await close();
    }
  });

  test('a failed migration leaves nothing behind, and a later fix applies', async () => {
    const { prisma, database, close } = await open();
    const folder = migrationsCopy();
    try {
      mkdirSync(join(folder, '20240301000000_broken'));
      writeFileSync(join(folder, '20240301000000_broken', 'migration.sql'), 'CREATE TABLE "t" ("id" INTEGER);\nINSERT INTO "nowhere" VALUES (1);\n');
      await assert.rejects(migrate(prisma, { migrationsFolder: folder }), (error) => error instanceof Prisma.PrismaClientKnownRequestError && /no such table: nowhere/.test(error.message));
      assert.deepEqual(await tables(database), []);
      writeFileSync(
        join(folder, '20240301000000_broken', 'migration.sql'),
        [
          '-- A trigger: its body holds semicolons.',
          'CREATE TABLE "t" ("id" INTEGER, "note" TEXT DEFAULT \'a; b\');',
          'CREATE TRIGGER "t_note" AFTER INSERT ON "t" BEGIN',
          '  UPDATE "t" SET "note" = \'set; by trigger\' WHERE "id" = NEW."id";',
          'END;',
          '/* a comment; with a semicolon */',
          'INSERT INTO "t" ("id") VALUES (1)',
        ].join('\n'),
      );
      const { applied } = await migrate(prisma, { migrationsFolder: folder });
      assert.deepEqual(applied, [...PRISMA_MIGRATIONS, '20240301000000_broken']);
      assert.deepEqual(await database.all('SELECT id, note FROM t'), [{ id: 1, note: 'set; by trigger' }]);
    } finally {
      await close();
    }
  });

  test('checks its options and the folder', async () => {
    const { prisma, close } = await open();
    try {
      await assert.rejects(migrate(prisma, { migrationsFolder: join(root, 'missing') }), { code: 'CONFIG_INVALID', message: /migrationsFolder/ });
      await assert.rejects(migrate(prisma, {} as never), { code: 'CONFIG_INVALID', message: /migrationsFolder/ });
      await assert.rejects(migrate(prisma, { migrationsFolder: prismaMigrationsFolder(), timeout: 0 }), { code: 'CONFIG_INVALID', message: /timeout/ });
      const folder = migrationsCopy();
      writeFileSync(join(folder, 'migration_lock.toml'), 'provider = "postgresql"\n');
      await assert.rejects(migrate(prisma, { migrationsFolder: folder }), { code: 'CONFIG_INVALID', message: /postgresql/ });
    } finally {
      await close();
    }
  });

  test('refuses to run past a migration another tool left unfinished', async () => {
    const { prisma, database, close } = await open();
    try {
      await migratePrismaApp(prisma);
      await database.run('UPDATE _prisma_migrations SET finished_at = NULL WHERE migration_name = ?', [PRISMA_MIGRATIONS[1]!]);
      await assert.rejects(migratePrismaApp(prisma), /profiles_and_samples.*never finished/);
    } finally {
      await close();
    }
  });

  test('statements are split where SQLite ends them', () => {
    const script = [
      '-- CreateTable',
      'CREATE TABLE "a" ("x" TEXT DEFAULT \';\', "y" TEXT DEFAULT "--");',
      '',
      'CREATE TEMP TRIGGER tr AFTER INSERT ON a BEGIN SELECT 1; SELECT \'end;\'; END ;',
      ';;  -- nothing',
      'CREATE TABLE [b;c] (`d;e` INTEGER); /* ; */ EXPLAIN SELECT 1;',
      'SELECT "unterminated;',
    ].join('\n');
    const statements = splitStatements(script);
    assert.deepEqual(statements, [
      '-- CreateTable\nCREATE TABLE "a" ("x" TEXT DEFAULT \';\', "y" TEXT DEFAULT "--");',
      'CREATE TEMP TRIGGER tr AFTER INSERT ON a BEGIN SELECT 1; SELECT \'end;\'; END ;',
      '-- nothing\nCREATE TABLE [b;c] (`d;e` INTEGER);',
      '/* ; */ EXPLAIN SELECT 1;',
      'SELECT "unterminated;',
    ]);
    // Each of them is exactly one statement to SQLite.
    const db = new BetterSqlite3(':memory:');
    try {
      for (const statement of statements.slice(0, -1)) db.prepare(statement).run();
    } finally {
      db.close();
    }
    assert.deepEqual(splitStatements('  -- only a comment\n'), []);
  });
});

describe('the factory', () => {
  test('a lazy database is opened on first use, closed by $disconnect(), and opened again', async () => {
    const path = join(root, `lazy-${++counter}.db`);
    const opened: LiteFSDatabase[] = [];
    let failures = 1;
    const prisma = new PrismaClient({
      adapter: new PrismaLiteFS(async () => {
        if (failures-- > 0) throw new Error('not yet');
        const database = await openDatabase({ driver: TEST_DRIVER, path, mode: 'local' });
        opened.push(database);
        return database;
      }),
    });
    assert.equal(opened.length, 0);
    await assert.rejects(prisma.$connect(), /not yet/);
    await migratePrismaApp(prisma);
    assert.equal(opened.length, 1);
    await prisma.$disconnect();
    await assert.rejects(opened[0]!.query('SELECT 1'), { code: 'CLOSED' });
    assert.equal(await prisma.user.count(), 0);
    assert.equal(opened.length, 2);
    await prisma.$disconnect();
  });

  test('a lazy database shared by two clients stays open until both disconnect', async () => {
    const path = join(root, `lazy-${++counter}.db`);
    let opens = 0;
    const adapter = new PrismaLiteFS(async () => {
      opens++;
      return openDatabase({ driver: TEST_DRIVER, path, mode: 'local' });
    });
    const first = new PrismaClient({ adapter });
    const second = new PrismaClient({ adapter });
    await Promise.all([first.$connect(), second.$connect()]);
    assert.equal(opens, 1);
    await first.$disconnect();
    assert.deepEqual(await second.$queryRaw`SELECT 1 AS one`, [{ one: 1 }]);
    await second.$disconnect();
    await first.$connect();
    assert.equal(opens, 2);
    await first.$disconnect();
  });

  test('a database given at once stays open after $disconnect()', async () => {
    const { prisma, database, close } = await open();
    try {
      await prisma.$connect();
      await prisma.$disconnect();
      assert.deepEqual(await database.values('SELECT 1'), [[1]]);
      assert.deepEqual(await prisma.$queryRaw`SELECT 2 AS two`, [{ two: 2 }]);
    } finally {
      await close();
    }
  });

  test('checks its arguments', () => {
    assert.throws(() => new PrismaLiteFS('/litefs/app.db' as never), { code: 'CONFIG_INVALID', message: /`database`/ });
    assert.throws(() => new PrismaLiteFS(undefined as never), { code: 'CONFIG_INVALID' });
    const lazy = async () => ({}) as LiteFSDatabase;
    assert.throws(() => new PrismaLiteFS(lazy, { timestampFormat: 'unix' as never }), { code: 'CONFIG_INVALID', message: /`timestampFormat`.*iso8601, unixepoch-ms/ });
    assert.throws(() => new PrismaLiteFS(lazy, { shadowDatabaseUrl: ':memory:' } as never), { code: 'CONFIG_INVALID', message: /`shadowDatabaseUrl`/ });
    assert.throws(() => new PrismaLiteFS(lazy, 'iso8601' as never), { code: 'CONFIG_INVALID', message: /`options`/ });
  });
});
