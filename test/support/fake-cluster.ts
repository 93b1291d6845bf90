import BetterSqlite3 from 'better-sqlite3';
import { type LiteFSDatabase, type LiteFSForwardOptions, openDatabase } from '../../src/index.js';
import { FakeLiteFS } from './fake-litefs.js';
import { NodeProcess } from './node-process.js';
import { TEST_DRIVER } from './drivers.js';

export const TEST_SECRET = 'integration-test-secret-0123456789abcdef';

export interface FakeNode {
  name: string;
  litefs: FakeLiteFS;
  process: NodeProcess;
  /** Opens this node's SQLite file from the test process, to assert on what it holds. */
  read<T>(fn: (db: BetterSqlite3.Database) => T): T;
}

export function nodeOptions(name: string, litefs: FakeLiteFS, extra: Partial<LiteFSForwardOptions> = {}): LiteFSForwardOptions & { secret: string } {
  return {
    path: litefs.databasePath,
    mode: 'litefs',
    primaryFile: litefs.primaryFile,
    eventStreamUrl: litefs.eventStreamUrl,
    hostname: name,
    secret: TEST_SECRET,
    listen: { host: '127.0.0.1', port: 0 },
    advertiseUrl: 'http://127.0.0.1:1',
    readYourWrites: false,
    driver: TEST_DRIVER,
    ...extra,
  } as LiteFSForwardOptions & { secret: string };
}

export async function startNode(name: string, litefs: FakeLiteFS, extra: Partial<LiteFSForwardOptions> = {}): Promise<FakeNode> {
  const process = await NodeProcess.start(nodeOptions(name, litefs, extra));
  return {
    name,
    litefs,
    process,
    read: (fn) => {
      const db = new BetterSqlite3(litefs.databasePath, { readonly: true });
      db.defaultSafeIntegers(true);
      try {
        return fn(db);
      } finally {
        db.close();
      }
    },
  };
}

/**
 * Plays LiteFS's replication by hand: copies the primary's database (WAL included) over the replica's file.
 * Only between test steps, while the replica has no open statement on the tables involved.
 */
export async function replicate(from: FakeNode, to: FakeNode): Promise<void> {
  const source = new BetterSqlite3(from.litefs.databasePath, { readonly: true });
  try {
    await source.backup(to.litefs.databasePath);
  } finally {
    source.close();
  }
}

/**
 * A primary and a replica, each a real process with its own SQLite file and its own fake LiteFS. The primary
 * listens on a free port and publishes it; the replica's file starts as a copy of the primary's.
 */
export async function startPair(extra: Partial<LiteFSForwardOptions> = {}): Promise<{ primary: FakeNode; replica: FakeNode; close(): Promise<void> }> {
  const primaryLiteFS = await FakeLiteFS.start({ isPrimary: true });
  const replicaLiteFS = await FakeLiteFS.start({ isPrimary: false, primaryHostname: 'node-a' });
  const nodes: FakeNode[] = [];
  const close = async (): Promise<void> => {
    await Promise.all(nodes.map((node) => node.process.stop()));
    await primaryLiteFS.close();
    await replicaLiteFS.close();
  };
  try {
    const port = await freePort();
    const primary = await startNode('node-a', primaryLiteFS, { ...extra, listen: { host: '127.0.0.1', port }, advertiseUrl: `http://127.0.0.1:${port}` });
    nodes.push(primary);
    seedReplicaFile(primary, replicaLiteFS);
    const replica = await startNode('node-b', replicaLiteFS, extra);
    nodes.push(replica);
    return { primary, replica, close };
  } catch (error) {
    await close();
    throw error;
  }
}

export function seedReplicaFile(primary: FakeNode, replica: FakeLiteFS): void {
  const source = new BetterSqlite3(primary.litefs.databasePath, { readonly: true });
  try {
    source.exec(`VACUUM INTO '${replica.databasePath.replaceAll("'", "''")}'`);
  } finally {
    source.close();
  }
}

export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

/**
 * A primary and a replica as two databases in this process. The replica opens the primary's own file, which stands
 * in for LiteFS's replication (instant, no lag), and forwards every write over HTTP.
 */
export async function startInProcessPair(extra: Partial<LiteFSForwardOptions> = {}): Promise<{ primary: LiteFSDatabase; replica: LiteFSDatabase; close(): Promise<void> }> {
  const primaryLiteFS = await FakeLiteFS.start({ isPrimary: true });
  const replicaLiteFS = await FakeLiteFS.start({ isPrimary: false, primaryHostname: 'node-a' });
  const port = await freePort();
  const primary = await openDatabase(nodeOptions('node-a', primaryLiteFS, { ...extra, listen: { host: '127.0.0.1', port }, advertiseUrl: `http://127.0.0.1:${port}` }));
  const replica = await openDatabase(nodeOptions('node-b', replicaLiteFS, { ...extra, path: primaryLiteFS.databasePath }));
  return {
    primary,
    replica,
    close: async () => {
      await replica.close();
      await primary.close();
      await replicaLiteFS.close();
      await primaryLiteFS.close();
    },
  };
}
