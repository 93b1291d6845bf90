import { type DatabaseConnection, type Driver, IdentifierNode, type QueryCompiler, RawNode, type TransactionSettings, createQueryId } from 'kysely';
import type { LiteFSDatabase } from '../../database.js';
import { LiteFSForwardError } from '../../errors.js';
import { LiteFSConnection } from './kysely-connection.js';
import type { LiteFSDialectConfig } from './kysely-dialect-config.js';

/**
 * Kysely's driver for litefs-forward. Unlike SQLite's single better-sqlite3 connection, connections here are
 * cheap and concurrent: every `acquireConnection()` returns a new one, so concurrent transactions never share
 * a connection. Their writes are serialized on the primary, not here.
 */
export class LiteFSDriver implements Driver {
  readonly #config: LiteFSDialectConfig;
  readonly #open = new Set<LiteFSConnection>();
  #database: LiteFSDatabase | undefined;

  constructor(config: LiteFSDialectConfig) {
    this.#config = config;
  }

  async init(): Promise<void> {
    const { database } = this.#config;
    this.#database = typeof database === 'function' ? await database() : database;
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    const database = this.#database;
    if (database === undefined) throw new LiteFSForwardError('CLOSED', 'The Kysely driver is not initialized or was destroyed.');
    const connection = new LiteFSConnection(database);
    this.#open.add(connection);
    return connection;
  }

  async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    // SQLite transactions are serializable whatever the isolation level asked for; only the access mode matters.
    await own(connection).begin(settings.accessMode === 'read only');
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await own(connection).commit();
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await own(connection).rollback();
  }

  async savepoint(connection: DatabaseConnection, savepointName: string, compileQuery: QueryCompiler['compileQuery']): Promise<void> {
    await savepointCommand(connection, 'savepoint', savepointName, compileQuery);
  }

  async rollbackToSavepoint(connection: DatabaseConnection, savepointName: string, compileQuery: QueryCompiler['compileQuery']): Promise<void> {
    await savepointCommand(connection, 'rollback to', savepointName, compileQuery);
  }

  async releaseSavepoint(connection: DatabaseConnection, savepointName: string, compileQuery: QueryCompiler['compileQuery']): Promise<void> {
    await savepointCommand(connection, 'release', savepointName, compileQuery);
  }

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    const litefs = own(connection);
    this.#open.delete(litefs);
    // Kysely releases a connection only after commit or rollback; a transaction still open here was abandoned.
    if (litefs.inTransaction) await litefs.rollback();
  }

  async destroy(): Promise<void> {
    const database = this.#database;
    this.#database = undefined;
    const open = [...this.#open];
    this.#open.clear();
    await Promise.allSettled(open.map((connection) => connection.rollback()));
    await database?.close();
  }
}

function own(connection: DatabaseConnection): LiteFSConnection {
  if (connection instanceof LiteFSConnection) return connection;
  throw new LiteFSForwardError('INVALID_ARGUMENT', 'This connection does not belong to the litefs-forward Kysely driver; use the connection Kysely hands to this dialect.');
}

function savepointCommand(
  connection: DatabaseConnection,
  command: 'savepoint' | 'rollback to' | 'release',
  savepointName: string,
  compileQuery: QueryCompiler['compileQuery'],
): Promise<unknown> {
  // The same statement Kysely's SQLite driver sends; IdentifierNode quotes the name.
  const node = RawNode.createWithChildren([RawNode.createWithSql(`${command} `), IdentifierNode.create(savepointName)]);
  return connection.executeQuery(compileQuery(node, createQueryId()));
}
