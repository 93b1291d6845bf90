import type { OpenOptions, SqliteColumn, SqliteDatabase, SqliteDriver, SqliteRunResult, SqliteStatement } from '../driver-types.js';
import { explainedStatement, parameterNameCandidates, splitStatements } from '../script.js';
import { ConfigError } from '../../errors.js';
import { SqliteError } from '../errors.js';
import { resultCodeName } from './result-codes.js';

// node:sqlite (Node 24 and later) behind better-sqlite3's interface, with better-sqlite3's contract: the same
// binding rules and refusals, rows as plain objects, blobs as Buffers, integers as numbers unless safe integers
// are on, and SQLite's errors as a SqliteError whose `code` names the result code. The library above, the wire
// and the adapters then behave the same on either driver, and a forwarded call fails as a local one does.

/** The part of node:sqlite's StatementSync used here. */
interface NativeStatement {
  run(...params: unknown[]): { changes: number | bigint; lastInsertRowid: number | bigint };
  get(...params: unknown[]): unknown[] | undefined;
  all(...params: unknown[]): unknown[][];
  iterate(...params: unknown[]): IterableIterator<unknown[]>;
  columns(): SqliteColumn[];
  setReadBigInts(enabled: boolean): void;
  setReturnArrays(enabled: boolean): void;
  setAllowUnknownNamedParameters(enabled: boolean): void;
  setAllowBareNamedParameters(enabled: boolean): void;
  readonly sourceSQL: string;
}

/** The part of node:sqlite's DatabaseSync used here. */
interface NativeDatabase {
  prepare(sql: string): NativeStatement;
  exec(sql: string): void;
  close(): void;
  readonly isOpen: boolean;
  readonly isTransaction: boolean;
}

interface NodeSqliteModule {
  DatabaseSync: { new (path: string, options: { readOnly: boolean; timeout: number }): NativeDatabase; readonly prototype: object };
  StatementSync: { readonly prototype: object };
}

/** better-sqlite3's busy timeout when none is given; node:sqlite's own default is 0. */
const DEFAULT_TIMEOUT_MS = 5_000;
/** SQLite's default SQLITE_MAX_VARIABLE_NUMBER: no statement has more parameters. */
const MAX_PARAMETERS = 32_766;
const SQLITE_RANGE = 25;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** Loads node:sqlite, or says why this Node cannot run it. */
export async function loadNodeSqlite(): Promise<SqliteDriver> {
  // Node 22 has a node:sqlite too, still experimental, and it binds an empty BLOB differently: the contract holds
  // from Node 24, where it is tested.
  if (Number(process.versions.node.split('.')[0]) < 24) throw unsupported('its node:sqlite is experimental and differs from better-sqlite3, an empty BLOB for one');
  let native: NodeSqliteModule;
  try {
    // Through a variable: the build's @types/node predates node:sqlite, and the shape used is declared above.
    const specifier = 'node:sqlite';
    native = (await import(specifier)) as NodeSqliteModule;
  } catch (error) {
    throw unsupported(`it has no node:sqlite module (${(error as Error).message})`);
  }
  const missing = ['setReturnArrays', 'setReadBigInts', 'columns', 'setAllowUnknownNamedParameters', 'setAllowBareNamedParameters'].filter((name) => !(name in native.StatementSync.prototype));
  // isOpen and isTransaction are accessors of each instance, not of the prototype.
  const probe = new native.DatabaseSync(':memory:', { readOnly: false, timeout: 0 });
  for (const name of ['isOpen', 'isTransaction'] as const) if (typeof probe[name] !== 'boolean') missing.push(name);
  probe.close();
  if (missing.length > 0) throw unsupported(`its node:sqlite lacks ${missing.join(', ')}`);
  return {
    name: 'node:sqlite',
    open: (path, options) => new NodeSqliteDatabase(native, path, options),
    SqliteError,
  };
}

function unsupported(reason: string): Error {
  return new ConfigError('driver', 'node:sqlite', `a driver this Node can run: node:sqlite needs Node 24 or later, and Node ${process.version} cannot run it (${reason}); or 'better-sqlite3'`);
}

/** node:sqlite's failure as better-sqlite3 would have reported it. */
function translated(error: unknown): unknown {
  const { code, errcode } = (error ?? {}) as { code?: unknown; errcode?: unknown };
  if (code !== 'ERR_SQLITE_ERROR' || typeof errcode !== 'number') return error;
  // Binding past the last parameter; the checks before binding make this rare, but the refusal is the same.
  if (errcode === SQLITE_RANGE && (error as Error).message === 'column index out of range') return new RangeError('Too many parameter values were provided');
  return new SqliteError((error as Error).message, resultCodeName(errcode));
}

function native<T>(action: () => T): T {
  try {
    return action();
  } catch (error) {
    throw translated(error);
  }
}

class NodeSqliteDatabase implements SqliteDatabase {
  readonly name: string;
  readonly readonly: boolean;
  readonly #database: NativeDatabase;
  #safeIntegers = false;
  #totalChanges: NativeStatement | undefined;

  constructor(module: NodeSqliteModule, path: string, options: OpenOptions = {}) {
    this.name = path;
    this.readonly = options.readonly === true;
    this.#database = native(() => new module.DatabaseSync(path, { readOnly: this.readonly, timeout: options.timeout ?? DEFAULT_TIMEOUT_MS }));
  }

  get open(): boolean {
    return this.#database.isOpen;
  }

  get inTransaction(): boolean {
    return this.#database.isOpen && this.#database.isTransaction;
  }

  prepare(source: string): SqliteStatement {
    this.#assertOpen();
    // node:sqlite compiles the first statement and ignores the rest; better-sqlite3 refuses the text.
    const count = splitStatements(source).length;
    if (count !== 1) throw new RangeError(`The supplied SQL string contains ${count === 0 ? 'no statements' : 'more than one statement'}`);
    const statement = native(() => this.#database.prepare(source));
    return new NodeSqliteStatement(statement, this.#database, this.#safeIntegers, () => this.#readTotalChanges());
  }

  exec(source: string): this {
    this.#assertOpen();
    native(() => this.#database.exec(source));
    return this;
  }

  pragma(source: string, options: { simple?: boolean } = {}): unknown {
    const statement = this.prepare(`PRAGMA ${source}`);
    if (!statement.reader) {
      statement.run();
      return options.simple === true ? undefined : [];
    }
    return options.simple === true ? (statement.raw(true).get() as unknown[] | undefined)?.[0] : statement.all();
  }

  close(): this {
    if (this.#database.isOpen) native(() => this.#database.close());
    return this;
  }

  defaultSafeIntegers(toggle = true): this {
    this.#safeIntegers = toggle;
    return this;
  }

  /** sqlite3_total_changes: tells whether a statement changed rows, which sqlite3_changes alone cannot. */
  #readTotalChanges(): bigint {
    if (this.#totalChanges === undefined) {
      this.#totalChanges = this.#database.prepare('SELECT total_changes()');
      this.#totalChanges.setReadBigInts(true);
      this.#totalChanges.setReturnArrays(true);
    }
    return this.#totalChanges.get()![0] as bigint;
  }

  #assertOpen(): void {
    if (!this.#database.isOpen) throw new TypeError('The database connection is not open');
  }
}

interface Parameters {
  /** How many `?` slots (parameters without a name) the statement has. */
  readonly anonymous: number;
  /** Its named parameters, prefix included (`:a`), in the order SQLite numbers them. */
  readonly named: readonly string[];
}

class NodeSqliteStatement implements SqliteStatement {
  readonly reader: boolean;
  readonly #statement: NativeStatement;
  readonly #database: NativeDatabase;
  #safeIntegers: boolean;
  #raw = false;
  #readonly: boolean | undefined;
  #parameters: Parameters | undefined;
  readonly #totalChanges: () => bigint;

  constructor(statement: NativeStatement, database: NativeDatabase, safeIntegers: boolean, totalChanges: () => bigint) {
    this.#totalChanges = totalChanges;
    this.#statement = statement;
    this.#database = database;
    this.#safeIntegers = safeIntegers;
    // Every value comes back lossless and in an array; the contract's shape is made from that in one pass.
    statement.setReadBigInts(true);
    statement.setReturnArrays(true);
    // Keys are passed with their prefix (`:a`), one per parameter; bare-name matching would refuse `:a` beside `$a`.
    statement.setAllowBareNamedParameters(false);
    statement.setAllowUnknownNamedParameters(true);
    this.reader = native(() => statement.columns()).length > 0;
  }

  get source(): string {
    return this.#statement.sourceSQL;
  }

  /**
   * sqlite3_stmt_readonly, which node:sqlite does not expose, read off the statement's bytecode by the rule SQLite
   * itself applies when it finishes the program (vdbeaux.c): not read-only when it opens a write transaction on
   * any database, or checkpoints, vacuums or changes the journal mode. SQLite judges an EXPLAIN by the program
   * it explains, so that is the one read.
   */
  get readonly(): boolean {
    if (this.#readonly === undefined) {
      const source = this.#statement.sourceSQL;
      const program = native(() => this.#database.prepare(`EXPLAIN ${explainedStatement(source)}`).all()) as unknown as { opcode: string; p2: number }[];
      this.#readonly = !program.some(
        (op) => (op.opcode === 'Transaction' && Number(op.p2) !== 0) || op.opcode === 'Checkpoint' || op.opcode === 'Vacuum' || op.opcode === 'JournalMode',
      );
    }
    return this.#readonly;
  }

  run(...params: unknown[]): SqliteRunResult {
    const bound = this.#bind(params);
    const before = this.#totalChanges();
    const info = native(() => this.#statement.run(...bound));
    // sqlite3_changes still holds the last INSERT, UPDATE or DELETE's count after any other statement; better-sqlite3 reports 0 then.
    const changed = this.#totalChanges() !== before;
    return { changes: changed ? Number(info.changes) : 0, lastInsertRowid: this.#safeIntegers ? BigInt(info.lastInsertRowid) : Number(info.lastInsertRowid) };
  }

  get(...params: unknown[]): unknown {
    this.#assertReader();
    const bound = this.#bind(params);
    const row = native(() => this.#statement.get(...bound));
    return row === undefined ? undefined : this.#shape(row, this.#raw ? undefined : this.#columnNames());
  }

  all(...params: unknown[]): unknown[] {
    this.#assertReader();
    const bound = this.#bind(params);
    const rows = native(() => this.#statement.all(...bound));
    const names = this.#raw ? undefined : this.#columnNames();
    return rows.map((row) => this.#shape(row, names));
  }

  iterate(...params: unknown[]): IterableIterator<unknown> {
    this.#assertReader();
    const bound = this.#bind(params);
    const rows = native(() => this.#statement.iterate(...bound));
    return this.#shaped(rows, this.#raw ? undefined : this.#columnNames());
  }

  *#shaped(rows: IterableIterator<unknown[]>, names: string[] | undefined): IterableIterator<unknown> {
    try {
      while (true) {
        const next = native(() => rows.next());
        if (next.done === true) return;
        yield this.#shape(next.value, names);
      }
    } finally {
      rows.return?.();
    }
  }

  raw(toggle = true): this {
    if (!this.reader) throw new TypeError('The raw() method is only for statements that return data');
    this.#raw = toggle;
    return this;
  }

  safeIntegers(toggle = true): this {
    this.#safeIntegers = toggle;
    return this;
  }

  columns(): SqliteColumn[] {
    return native(() => this.#statement.columns()).map(({ name, column, table, database, type }) => ({ name, column, table, database, type }));
  }

  #assertReader(): void {
    if (!this.reader) throw new TypeError('This statement does not return data. Use run() instead');
  }

  #columnNames(): string[] {
    // Read per call: a `SELECT *` recompiled after a schema change can have other columns.
    return native(() => this.#statement.columns()).map((column) => column.name);
  }

  /** One pass over a row: integers as the caller asked, blobs as Buffers, an object with plain keys unless raw. */
  #shape(row: unknown[], names: string[] | undefined): unknown {
    for (let i = 0; i < row.length; i++) {
      const value = row[i];
      if (typeof value === 'bigint') {
        if (!this.#safeIntegers) row[i] = Number(value);
      } else if (value instanceof Uint8Array && !Buffer.isBuffer(value)) {
        row[i] = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
      }
    }
    if (names === undefined) return row;
    const object: Record<string, unknown> = {};
    for (let i = 0; i < names.length; i++) object[names[i]!] = row[i];
    return object;
  }

  /**
   * better-sqlite3's binding rules, checked before node:sqlite sees the values, with its refusals in its order:
   * arguments bind left to right (arrays spread, one plain object for the named parameters), and the count is
   * checked last. Gives node:sqlite's arguments.
   */
  #bind(params: unknown[]): unknown[] {
    const { anonymous, named: names } = this.#parameterList();
    const positional: unknown[] = [];
    let named: Record<string, unknown> | undefined;
    let count = 0;
    const bindPositional = (value: unknown): void => {
      positional.push(bindable(value));
      // Past the last `?` slot: refused as it binds, before any later argument is looked at.
      if (positional.length > anonymous) throw new RangeError('Too many parameter values were provided');
      count++;
    };
    for (const param of params) {
      // An array's items are positional values, one level deep.
      if (Array.isArray(param)) {
        for (const item of param) bindPositional(item);
        continue;
      }
      if (param !== null && typeof param === 'object' && !(param instanceof Uint8Array)) {
        const prototype = Object.getPrototypeOf(param);
        if (prototype === Object.prototype || prototype === null) {
          if (named !== undefined) throw new TypeError('You cannot specify named parameters in two different objects');
          const given = param as Record<string, unknown>;
          named = {};
          // One value per parameter, looked up by its bare name: `:a` and `@a` both take `a`.
          for (const parameter of names) {
            const name = parameter.slice(1);
            if (!Object.hasOwn(given, name)) throw new RangeError(`Missing named parameter "${name}"`);
            named[parameter] = bindable(given[name]);
            count++;
          }
          continue;
        }
        if (names.length > 0) throw new TypeError('Named parameters can only be passed within plain objects');
      }
      bindPositional(param);
    }
    const expected = anonymous + names.length;
    if (count < expected) {
      if (named === undefined && names.length > 0) throw new TypeError('Missing named parameters');
      throw new RangeError('Too few parameter values were provided');
    }
    if (count > expected) throw new RangeError('Too many parameter values were provided');
    return named === undefined || names.length === 0 ? positional : [named, ...positional];
  }

  /**
   * The statement's parameters, found once by asking node:sqlite to bind (it binds on `iterate()` without running
   * the statement): the largest count of positional values it accepts, and which candidate names it knows.
   */
  #parameterList(): Parameters {
    if (this.#parameters !== undefined) return this.#parameters;
    const statement = this.#statement;
    const binds = (...values: unknown[]): boolean => {
      try {
        statement.iterate(...values).return?.();
        return true;
      } catch {
        return false;
      }
    };
    const accepts = (count: number): boolean => binds(...new Array<null>(count).fill(null));
    // Grow until refused, then halve the gap: the largest accepted count.
    let low = 0;
    let high = 1;
    while (high <= MAX_PARAMETERS && accepts(high)) {
      low = high;
      high *= 2;
    }
    high = Math.min(high, MAX_PARAMETERS + 1);
    while (high - low > 1) {
      const middle = Math.floor((low + high) / 2);
      if (accepts(middle)) low = middle;
      else high = middle;
    }
    statement.setAllowUnknownNamedParameters(false);
    let named: string[];
    try {
      named = parameterNameCandidates(statement.sourceSQL).filter((name) => binds({ [name]: null }));
    } finally {
      statement.setAllowUnknownNamedParameters(true);
    }
    this.#parameters = { anonymous: low, named };
    return this.#parameters;
  }
}

/** A value better-sqlite3 would bind, as node:sqlite binds it; anything else is refused with better-sqlite3's words. */
function bindable(value: unknown): unknown {
  switch (typeof value) {
    case 'number':
    case 'string':
      return value;
    case 'bigint':
      if (value < INT64_MIN || value > INT64_MAX) throw new RangeError('The bound string, buffer, or bigint is too big');
      return value;
    case 'undefined':
      return null;
    case 'object':
      if (value === null || value instanceof Uint8Array) return value;
  }
  throw new TypeError('SQLite3 can only bind numbers, strings, bigints, buffers, and null');
}
