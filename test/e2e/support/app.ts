// Shared by the end-to-end suites: how to run the example app on a cluster node, and how to read a node's data.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { type LiteFSDatabase, type LiteFSForwardOptions, openDatabase } from '../../../src/index.js';
import type { ClusterNode } from '../../harness/cluster.js';

export const SECRET = 'e2e-cluster-secret-0123456789abcdef0123';
const APP = fileURLToPath(new URL('../../../examples/app/server.js', import.meta.url));

export function appSpec(node: ClusterNode, secret = SECRET, port = node.appPort) {
  return {
    command: process.execPath,
    args: [APP],
    env: { LITEFS_FORWARD_SECRET: secret, NODE_NAME: node.name, APP_PORT: String(port), ADVERTISE_URL: `http://127.0.0.1:${port}` },
    port,
    readyPath: '/health',
  };
}

// biome-ignore lint/suspicious/noExplicitAny: JSON from the example app, checked by the assertions
export async function http(url: string, method = 'GET', body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: any; headers: Headers }> {
  const response = await fetch(url, {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: body === undefined ? null : JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  return { status: response.status, json: await response.json(), headers: response.headers };
}

/** Reads a node's SQLite file directly through its LiteFS mount. */
export function query<T>(node: ClusterNode, sql: string, ...params: unknown[]): T[] {
  if (!existsSync(node.dbPath)) return [];
  const db = new Database(node.dbPath, { readonly: true, fileMustExist: true, timeout: 2_000 });
  try {
    return db.prepare(sql).all(...params) as T[];
  } finally {
    db.close();
  }
}

export const names = (node: ClusterNode): string[] => query<{ name: string }>(node, 'SELECT name FROM items ORDER BY id').map((row) => row.name);


/**
 * Opens the library in this process on a node's mount, next to that node's app. It must not become primary with
 * an address nobody can reach: give it `advertiseUrl` and `listen` when it may.
 */
export function openOnNode(node: ClusterNode, options: Partial<LiteFSForwardOptions> = {}): Promise<LiteFSDatabase> {
  return openDatabase({
    path: node.dbPath,
    mode: 'litefs',
    primaryFile: join(node.mountDir, '.primary'),
    eventStreamUrl: `${node.httpUrl}/events`,
    infoUrl: `${node.httpUrl}/info`,
    hostname: node.name,
    advertiseUrl: 'http://127.0.0.1:9',
    listen: false,
    secret: SECRET,
    ...options,
  });
}
