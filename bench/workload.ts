// The schema and statements every benchmark phase uses, shared by the driver and the node processes.

export const SCHEMA = `
CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY, grp INTEGER NOT NULL, name TEXT NOT NULL, value REAL NOT NULL, payload TEXT NOT NULL, created_at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS items_grp ON items (grp);
CREATE TABLE IF NOT EXISTS w (id INTEGER PRIMARY KEY, node TEXT NOT NULL, seq INTEGER NOT NULL, value REAL NOT NULL, payload TEXT NOT NULL, created_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS counters (id INTEGER PRIMARY KEY, n INTEGER NOT NULL);
INSERT OR IGNORE INTO counters (id, n) VALUES (1, 0);
`;

/** The interactive read-then-write transaction (the halt-lock phase): read a counter, then write it + 1. */
export const COUNTER_READ_SQL = 'SELECT n FROM counters WHERE id = 1';
export const COUNTER_WRITE_SQL = 'UPDATE counters SET n = ? WHERE id = 1';

/** The single-row insert every write phase measures, forwarded or local, library or raw. */
export const INSERT_SQL = 'INSERT INTO w (node, seq, value, payload, created_at) VALUES (?, ?, ?, ?, ?)';

const PAYLOAD = 'p'.repeat(100);

export function insertParams(node: string, seq: number): [string, number, number, string, number] {
  return [node, seq, Math.random(), PAYLOAD, Date.now()];
}

export const SEED_SQL = 'INSERT INTO items (grp, name, value, payload, created_at) VALUES (?, ?, ?, ?, ?)';
export const SEED_GROUPS = 100;

export function seedParams(i: number): [number, string, number, string, number] {
  return [i % SEED_GROUPS, `item-${i}`, i * 1.25, PAYLOAD, 1_700_000_000_000 + i];
}

export interface ReadQuery {
  name: string;
  mode: 'get' | 'all';
  sql: string;
  params(i: number, rows: number): number[];
}

/** The read mix: a point lookup, a short range, an indexed aggregate and a 100-row page. */
export const READ_QUERIES: readonly ReadQuery[] = [
  { name: 'point (get by id)', mode: 'get', sql: 'SELECT id, grp, name, value, payload, created_at FROM items WHERE id = ?', params: (i, rows) => [1 + ((i * 7919) % rows)] },
  { name: 'range 10 rows (all)', mode: 'all', sql: 'SELECT id, name, value FROM items WHERE id BETWEEN ? AND ?', params: (i, rows) => rangeOf(i, rows, 10) },
  { name: 'aggregate (get, 100-row index scan)', mode: 'get', sql: 'SELECT count(*) AS n, sum(value) AS s FROM items WHERE grp = ?', params: (i) => [i % SEED_GROUPS] },
  { name: 'page 100 rows (all)', mode: 'all', sql: 'SELECT * FROM items WHERE id > ? ORDER BY id LIMIT 100', params: (i, rows) => [(i * 104_729) % (rows - 100)] },
];

function rangeOf(i: number, rows: number, size: number): number[] {
  const start = 1 + ((i * 104_729) % (rows - size));
  return [start, start + size - 1];
}

/** The database the transport comparison's endpoint serves: only its path is signed and answered. */
export const BENCH_DATABASE = 'bench.db';

/** The network floor's probe path: node-app answers it itself, in front of the forwarding endpoint. */
export const PING_PATH = '/bench/ping';
