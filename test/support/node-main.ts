// A cluster node for integration tests: a real process that opens a database with the options it is given and
// runs the calls its parent sends over IPC.
import { type LiteFSDatabase, openDatabase, type Transaction } from '../../src/index.js';

type Command =
  | { id: number; op: 'call'; method: string; args: unknown[] }
  | { id: number; op: 'begin'; args: unknown[] }
  | { id: number; op: 'txCall'; tx: number; method: string; args: unknown[] }
  | { id: number; op: 'status' };

const options = JSON.parse(process.env.LITEFS_FORWARD_TEST_OPTIONS ?? '{}');
const database: LiteFSDatabase = await openDatabase(options);
const transactions = new Map<number, Transaction>();
let nextTx = 1;

process.on('message', async (message: Command) => {
  try {
    let result: unknown;
    switch (message.op) {
      case 'call':
        result = await (database as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>)[message.method]!(...message.args);
        break;
      case 'begin': {
        const tx = await database.begin(...(message.args as []));
        transactions.set(nextTx, tx);
        result = nextTx++;
        break;
      }
      case 'txCall':
        result = await (transactions.get(message.tx) as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>)[message.method]!(...message.args);
        break;
      case 'status':
        result = await database.status();
        break;
    }
    process.send!({ id: message.id, ok: true, result });
  } catch (error) {
    const { name, message: text, code } = error as Error & { code?: string };
    process.send!({ id: message.id, ok: false, error: { name, message: text, code } });
  }
});

process.once('SIGTERM', () => {
  void database.close().then(() => process.exit(0));
});
process.send!({ ready: true, listenUrl: database.listenUrl, role: database.role });
