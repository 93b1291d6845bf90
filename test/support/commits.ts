import type BetterSqlite3 from 'better-sqlite3';

/** Counts the COMMITs that SQLite carried out on `connection` from now on: a write queue's commits, seen from outside. */
export function countCommits(connection: BetterSqlite3.Database): () => number {
  let commits = 0;
  const exec = connection.exec.bind(connection);
  connection.exec = (sql: string) => {
    exec(sql);
    if (/^\s*COMMIT\s*$/i.test(sql)) commits++;
    return connection;
  };
  return () => commits;
}
