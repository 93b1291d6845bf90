import type { SqliteStatement } from './driver-types.js';
import type { Connection } from './statements.js';

/** Statements on every write's path, prepared once per connection (the writer and the reader each have theirs). */
export class PreparedStatements {
  readonly #prepared = new WeakMap<Connection, Map<string, SqliteStatement>>();

  get(connection: Connection, sql: string): SqliteStatement {
    let statements = this.#prepared.get(connection);
    if (statements === undefined) this.#prepared.set(connection, (statements = new Map()));
    let statement = statements.get(sql);
    if (statement === undefined) statements.set(sql, (statement = connection.prepare(sql)));
    return statement;
  }
}
