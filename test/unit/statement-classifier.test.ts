import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { writerRefusal } from '../../src/primary/units.js';
import { leadingWords, splitStatements } from '../../src/sqlite/script.js';
import type { SqliteDatabase, SqliteDriver } from '../../src/sqlite/driver-types.js';
import { prepareEntry, StatementCache } from '../../src/sqlite/statements.js';
import { availableDrivers } from '../support/drivers.js';

// How SQLite classifies each statement, and what the shared writer refuses: 'ok' runs, anything else is the
// StatementRefusedError's `reason`. A single call and a step of an interactive transaction are told apart.
const TABLE: [sql: string, kind: string, call: string, transaction: string][] = [
  ['SELECT * FROM items', 'read', 'ok', 'ok'],
  ['/* lead */ select 1', 'read', 'ok', 'ok'],
  ['WITH x AS (SELECT 1) SELECT * FROM x', 'read', 'ok', 'ok'],
  ['INSERT INTO items (name) VALUES (?)', 'write', 'ok', 'ok'],
  ['INSERT INTO items (name) VALUES (:name) RETURNING id', 'write', 'ok', 'ok'],
  ['UPDATE items SET name = ? WHERE id = ?', 'write', 'ok', 'ok'],
  ['DELETE FROM main.items', 'write', 'ok', 'ok'],
  ['CREATE TABLE other (v)', 'write', 'ok', 'ok'],
  ['CREATE INDEX items_name ON items (name)', 'write', 'ok', 'ok'],
  ['CREATE TRIGGER t AFTER INSERT ON items BEGIN UPDATE items SET name = name; END', 'write', 'ok', 'ok'],
  ['DROP TABLE IF EXISTS nosuch', 'write', 'ok', 'ok'],
  ['ANALYZE', 'write', 'ok', 'ok'],
  ['BEGIN', 'transaction-control', 'transaction-control', 'transaction-control'],
  ['BEGIN IMMEDIATE', 'transaction-control', 'transaction-control', 'transaction-control'],
  ['COMMIT', 'transaction-control', 'transaction-control', 'transaction-control'],
  ['END TRANSACTION', 'transaction-control', 'transaction-control', 'transaction-control'],
  ['ROLLBACK', 'transaction-control', 'transaction-control', 'transaction-control'],
  ['SAVEPOINT s', 'savepoint', 'transaction-control', 'ok'],
  ['RELEASE s', 'savepoint', 'transaction-control', 'ok'],
  ['ROLLBACK TO s', 'savepoint', 'transaction-control', 'ok'],
  ["ATTACH '/nonexistent/x.db' AS x", 'connection-state', 'connection-state', 'connection-state'],
  ['DETACH x', 'connection-state', 'connection-state', 'connection-state'],
  ['VACUUM', 'connection-state', 'connection-state', 'connection-state'],
  ["VACUUM INTO '/nonexistent/y.db'", 'connection-state', 'connection-state', 'connection-state'],
  ['CREATE TEMP TABLE items (v)', 'local-write', 'temp-object', 'temp-object'],
  ['CREATE TEMPORARY VIEW v AS SELECT 1', 'local-write', 'temp-object', 'temp-object'],
  ['CREATE TABLE temp.shadow (v)', 'local-write', 'temp-object', 'temp-object'],
  ['CREATE TEMP TRIGGER tt AFTER INSERT ON main.items BEGIN SELECT 1; END', 'local-write', 'temp-object', 'temp-object'],
  // Pragmas: harmless reads and database-file settings run; connection settings are refused.
  ['PRAGMA table_info(items)', 'read', 'ok', 'ok'],
  ['PRAGMA main.index_list("items")', 'read', 'ok', 'ok'],
  ['PRAGMA integrity_check', 'read', 'ok', 'ok'],
  ['PRAGMA user_version', 'read', 'ok', 'ok'],
  ['PRAGMA user_version = 7', 'write', 'ok', 'ok'],
  ['PRAGMA foreign_keys', 'read', 'ok', 'ok'],
  ['PRAGMA foreign_keys = OFF', 'read', 'ok', 'ok'],
  ['PRAGMA defer_foreign_keys = ON', 'read', 'ok', 'ok'],
  ['PRAGMA journal_mode', 'write', 'ok', 'ok'],
  ['PRAGMA busy_timeout', 'read', 'ok', 'ok'],
  ['PRAGMA query_only = ON', 'refused', 'connection-state', 'connection-state'],
  ['pragma QUERY_ONLY=1', 'refused', 'connection-state', 'connection-state'],
  ['PRAGMA main.query_only = true', 'refused', 'connection-state', 'connection-state'],
  ['/* c */ -- line\n PRAGMA "busy_timeout" = 8000', 'refused', 'connection-state', 'connection-state'],
  ['PRAGMA busy_timeout(8000)', 'refused', 'connection-state', 'connection-state'],
  ['PRAGMA journal_mode = DELETE', 'refused', 'connection-state', 'connection-state'],
  ['PRAGMA synchronous = OFF', 'refused', 'connection-state', 'connection-state'],
  ['PRAGMA recursive_triggers = ON', 'refused', 'connection-state', 'connection-state'],
  ['PRAGMA writable_schema = ON', 'refused', 'connection-state', 'connection-state'],
  ['PRAGMA schema_version = 1', 'refused', 'connection-state', 'connection-state'],
  ['PRAGMA temp_store = MEMORY', 'refused', 'connection-state', 'connection-state'],
  ['PRAGMA wal_checkpoint(TRUNCATE)', 'refused', 'connection-state', 'connection-state'],
  ['EXPLAIN PRAGMA query_only = ON', 'refused', 'connection-state', 'connection-state'],
  ['EXPLAIN QUERY PLAN PRAGMA busy_timeout = 1', 'refused', 'connection-state', 'connection-state'],
];

const { drivers } = await availableDrivers();

function open(t: { after(fn: () => void): void }, driver: SqliteDriver): SqliteDatabase {
  const dir = mkdtempSync(join(tmpdir(), 'litefs-forward-classifier-'));
  const connection = driver.open(join(dir, 'app.db'), { timeout: 0 });
  connection.defaultSafeIntegers(true);
  connection.exec('CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT)');
  t.after(() => {
    connection.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return connection;
}

for (const driver of drivers) {
  test(`the classifier and the writer policy, statement by statement (${driver.name})`, (t) => {
    const connection = open(t, driver);
    for (const [sql, kind, call, transaction] of TABLE) {
      let entry: ReturnType<typeof prepareEntry> | undefined;
      try {
        entry = prepareEntry(connection, sql);
      } catch (error) {
        assert.equal(kind, 'refused', `${sql}: ${(error as Error).message}`);
        assert.equal((error as { code?: string }).code, 'STATEMENT_REFUSED', sql);
        assert.equal((error as { reason?: string }).reason, call, sql);
        continue;
      }
      assert.equal(entry.kind, kind, sql);
      assert.equal(writerRefusal(entry, sql, 'call')?.reason ?? 'ok', call, `${sql} as a call`);
      assert.equal(writerRefusal(entry, sql, 'transaction')?.reason ?? 'ok', transaction, `${sql} in a transaction`);
      const refusal = writerRefusal(entry, sql, 'call');
      if (refusal !== undefined) {
        assert.equal(refusal.code, 'STATEMENT_REFUSED');
        assert.equal(refusal.sql, sql);
      }
    }
    // Nothing the table prepared changed the connection: refused pragmas are never compiled.
    assert.equal(connection.pragma('query_only', { simple: true }), 0n);
    assert.equal(connection.pragma('busy_timeout', { simple: true }), 0n);
    assert.equal(connection.pragma('journal_mode', { simple: true }), 'delete');
    assert.equal(connection.inTransaction, false);
  });

  test(`the statement cache refuses a connection pragma before SQLite applies it (${driver.name})`, (t) => {
    const connection = open(t, driver);
    const cache = new StatementCache(connection);
    assert.throws(() => cache.prepare('PRAGMA query_only = 1'), { code: 'STATEMENT_REFUSED' });
    assert.throws(() => cache.prepare('PRAGMA busy_timeout = 8000'), { code: 'STATEMENT_REFUSED' });
    assert.equal(connection.pragma('query_only', { simple: true }), 0n);
    assert.equal(connection.pragma('busy_timeout', { simple: true }), 0n);
  });
}

test('scripts split as sqlite3_complete splits them', () => {
  const cases: [string, string[]][] = [
    ['SELECT 1; SELECT 2', ['SELECT 1;', 'SELECT 2']],
    ["INSERT INTO t VALUES ('a;b'); -- c;\n", ["INSERT INTO t VALUES ('a;b');"]],
    ['CREATE TRIGGER x AFTER INSERT ON t BEGIN SELECT 1; SELECT 2; END; BEGIN', ['CREATE TRIGGER x AFTER INSERT ON t BEGIN SELECT 1; SELECT 2; END;', 'BEGIN']],
    ['/* ; */ ;; ;', []],
    ['"a;b"; [c;d]; `e;f`', ['"a;b";', '[c;d];', '`e;f`']],
  ];
  for (const [script, expected] of cases) assert.deepEqual(splitStatements(script), expected, script);
  assert.deepEqual(leadingWords('/* x */ PRAGMA main."busy_timeout" = 1', 6), ['pragma', 'main', '.', 'busy_timeout', '=', '1']);
});
