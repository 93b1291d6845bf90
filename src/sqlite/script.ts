// Splitting a script into statements: exec() on the primary prepares and classifies each one, and clients that run
// one statement per call (Prisma's `$executeRawUnsafe`) run them one by one. The ends of statements are found as SQLite's sqlite3_complete() finds them (complete.c):
// semicolons outside strings, quoted identifiers and comments, except inside CREATE TRIGGER ... END.

const SEMI = 0;
const WS = 1;
const OTHER = 2;
const EXPLAIN = 3;
const CREATE = 4;
const TEMP = 5;
const TRIGGER = 6;
const END = 7;

const START = 1;

// biome-ignore format: the table is complete.c's `trans[8][8]`, aligned to be compared with it.
const TRANSITIONS: readonly (readonly number[])[] = [
  /*              SEMI  WS  OTHER  EXPLAIN  CREATE  TEMP  TRIGGER  END */
  /* 0 INVALID */ [ 1,   0,     2,       3,      4,    2,       2,   2 ],
  /* 1 START   */ [ 1,   1,     2,       3,      4,    2,       2,   2 ],
  /* 2 NORMAL  */ [ 1,   2,     2,       2,      2,    2,       2,   2 ],
  /* 3 EXPLAIN */ [ 1,   3,     3,       2,      4,    2,       2,   2 ],
  /* 4 CREATE  */ [ 1,   4,     2,       2,      2,    4,       5,   2 ],
  /* 5 TRIGGER */ [ 6,   5,     5,       5,      5,    5,       5,   5 ],
  /* 6 SEMI    */ [ 6,   6,     5,       5,      5,    5,       5,   7 ],
  /* 7 END     */ [ 1,   7,     5,       5,      5,    5,       5,   5 ],
];

const KEYWORDS: ReadonlyMap<string, number> = new Map([
  ['create', CREATE],
  ['temp', TEMP],
  ['temporary', TEMP],
  ['trigger', TRIGGER],
  ['end', END],
  ['explain', EXPLAIN],
]);

/** SQLite's IdChar: a character of an unquoted identifier or keyword. */
function isIdChar(code: number): boolean {
  return (code >= 0x30 && code <= 0x39) || (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a) || code === 0x5f || code === 0x24 || code >= 0x80;
}

/** The token at `start`: its kind and where it ends. An unterminated string or comment runs to the end. */
function nextToken(sql: string, start: number): [kind: number, end: number] {
  const c = sql[start]!;
  switch (c) {
    case ';':
      return [SEMI, start + 1];
    case ' ':
    case '\r':
    case '\t':
    case '\n':
    case '\f':
      return [WS, start + 1];
    case '/': {
      if (sql[start + 1] !== '*') return [OTHER, start + 1];
      const close = sql.indexOf('*/', start + 2);
      return [WS, close === -1 ? sql.length : close + 2];
    }
    case '-': {
      if (sql[start + 1] !== '-') return [OTHER, start + 1];
      const newline = sql.indexOf('\n', start + 2);
      return [WS, newline === -1 ? sql.length : newline + 1];
    }
    case '[':
    case '`':
    case '"':
    case "'": {
      const close = sql.indexOf(c === '[' ? ']' : c, start + 1);
      return [OTHER, close === -1 ? sql.length : close + 1];
    }
    default: {
      if (!isIdChar(c.charCodeAt(0))) return [OTHER, start + 1];
      let end = start + 1;
      while (end < sql.length && isIdChar(sql.charCodeAt(end))) end++;
      return [KEYWORDS.get(sql.slice(start, end).toLowerCase()) ?? OTHER, end];
    }
  }
}

/**
 * The statements of a script, each with its leading comments and its semicolon, in order. Empty statements and
 * comments after the last statement are dropped.
 */
export function splitStatements(script: string): string[] {
  const statements: string[] = [];
  let state = 0;
  let start = 0;
  let hasContent = false;
  for (let position = 0; position < script.length; ) {
    const [token, end] = nextToken(script, position);
    state = TRANSITIONS[state]![token]!;
    if (token === SEMI && state === START) {
      if (hasContent) statements.push(script.slice(start, end).trim());
      start = end;
      hasContent = false;
    } else if (token !== WS) {
      hasContent = true;
    }
    position = end;
  }
  if (hasContent) statements.push(script.slice(start).trim());
  return statements;
}

/**
 * The leading words of a statement, lower-cased, with comments, whitespace and quoting skipped as SQLite's
 * tokenizer skips them: `/* x *\/ PRAGMA main.busy_timeout = 1` gives `['pragma', 'main', '.', 'busy_timeout', ...]`.
 * Quoted identifiers come back unquoted. Used only where SQLite's bytecode cannot name the statement (PRAGMA).
 */
export function leadingWords(sql: string, count: number): string[] {
  const words: string[] = [];
  for (let position = 0; position < sql.length && words.length < count; ) {
    const [token, end] = nextToken(sql, position);
    if (token !== WS) {
      let word = sql.slice(position, end);
      const quote = word[0];
      if (quote === '"' || quote === '`' || quote === '[' || quote === "'") word = word.slice(1, -1);
      words.push(word.toLowerCase());
    }
    position = end;
  }
  return words;
}

/**
 * The named parameters a statement may have (`:id`, `@id`, `$id`), in order of first appearance: every `:`, `@` or
 * `$` word outside strings, quoted identifiers and comments. Candidates only: the driver asks SQLite which of them
 * the statement really has.
 */
export function parameterNameCandidates(sql: string): string[] {
  const names = new Set<string>();
  let previous = '';
  for (let position = 0; position < sql.length; ) {
    const [, end] = nextToken(sql, position);
    const text = sql.slice(position, end);
    if (text.length > 1 && text[0] === '$') names.add(text);
    else if ((previous === ':' || previous === '@') && isIdChar(text.charCodeAt(0)) && text[0] !== '$') names.add(`${previous}${text}`);
    // A prefix counts only right before its word: `: a` is no parameter.
    previous = text;
    position = end;
  }
  return [...names];
}

/** The statement an `EXPLAIN` or `EXPLAIN QUERY PLAN` explains; any other statement as it is. */
export function explainedStatement(sql: string): string {
  const words: { word: string; end: number }[] = [];
  for (let position = 0; position < sql.length && words.length < 3; ) {
    const [token, end] = nextToken(sql, position);
    if (token !== WS) words.push({ word: sql.slice(position, end).toLowerCase(), end });
    position = end;
  }
  if (words[0]?.word !== 'explain') return sql;
  const queryPlan = words[1]?.word === 'query' && words[2]?.word === 'plan';
  return sql.slice(words[queryPlan ? 2 : 0]!.end);
}
