import type { Compilable, DeleteResult, InsertResult, MergeResult, QueryExecutor, QueryResult, UnknownRow, UpdateResult } from 'kysely';
import { LiteFSForwardError } from '../../errors.js';
import { LiteFSConnection } from './kysely-connection.js';

/** The rows a query returns: its selection, or nothing for a write without RETURNING. */
type RowOf<C> = C extends Compilable<infer O> ? (O extends InsertResult | UpdateResult | DeleteResult | MergeResult ? never : O) : never;

/** One Kysely `QueryResult` per query, in order, typed from each query. */
export type BatchResult<Q extends readonly Compilable[]> = { -readonly [K in keyof Q]: QueryResult<RowOf<Q[K]>> };

/**
 * Runs the queries atomically: all of them or none. `db` is a Kysely instance on `LiteFSDialect`, or one of its
 * transactions. Outside a transaction the queries run as one batch on the primary, a single round trip from a
 * replica; given a transaction (`trx`) they run in it, in order. Each result is Kysely's `QueryResult`: `rows`,
 * plus `numAffectedRows` and `insertId` for writes. Kysely plugins apply, as in `db.executeQuery()`.
 *
 * ```ts
 * const [inserted, updated] = await executeBatch(db, [
 *   db.insertInto('person').values({ name: 'Ada' }).returning('id'),
 *   db.updateTable('stats').set((eb) => ({ people: eb('people', '+', 1) })),
 * ])
 * ```
 */
export async function executeBatch<const Q extends readonly Compilable[]>(db: { getExecutor(): QueryExecutor }, queries: Q): Promise<BatchResult<Q>> {
  if (queries.length === 0) return [] as unknown as BatchResult<Q>;
  const executor = db.getExecutor();
  const compiled = queries.map((query) => query.compile());
  const results = await executor.provideConnection(async (connection) => {
    if (!(connection instanceof LiteFSConnection)) {
      throw new LiteFSForwardError('INVALID_ARGUMENT', 'executeBatch() needs a Kysely instance built on the litefs-forward dialect (LiteFSDialect).');
    }
    return connection.executeBatch(compiled);
  });
  const transformed: QueryResult<unknown>[] = [];
  for (let i = 0; i < results.length; i++) {
    let result = results[i] as QueryResult<UnknownRow>;
    for (const plugin of executor.plugins) result = await plugin.transformResult({ result, queryId: compiled[i]!.queryId });
    transformed.push(result);
  }
  return transformed as unknown as BatchResult<Q>;
}
