import { type ERROR_CODES, type LiteFSDatabase, type LiteFSForwardOptions, LiteFSForwardError, openDatabase } from 'litefs-forward';
import { expressConsistency, withConsistency } from 'litefs-forward/middleware';

const options: LiteFSForwardOptions = { path: ':memory:', mode: 'local' };
const database: LiteFSDatabase = await openDatabase(options);
const row: { n: number } | undefined = await database.get<{ n: number }>('SELECT 1 AS n');
const handler: (request: Request) => Promise<Response> = withConsistency(database, async () => new Response(String(row?.n)));
const middleware = expressConsistency(database);
const code: (typeof ERROR_CODES)[number] = 'CLOSED';
const isOurs = (error: unknown): boolean => error instanceof LiteFSForwardError && error.code === code;
void [handler, middleware, isOurs];
await database.close();
