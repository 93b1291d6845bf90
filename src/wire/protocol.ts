import type { WireParams, WireResult } from './codec.js';

const RPC_PATH_PREFIX = '/litefs-forward/v1/rpc/';

/**
 * The endpoint's path for one database. The signature covers the path, so a request signed for one database can
 * never run against another, even when several databases' endpoints share a port.
 */
export function rpcPath(databaseName: string): string {
  return RPC_PATH_PREFIX + encodeURIComponent(databaseName);
}

/** How a statement's result is shaped; the primary skips reading rows for `run`. */
export const STATEMENT_MODES = ['run', 'get', 'all', 'values', 'query'] as const;
export type StatementMode = (typeof STATEMENT_MODES)[number];

export interface WireStatement {
  sql: string;
  params?: WireParams;
}

export type Request =
  | { op: 'query'; mode: StatementMode; sql: string; params?: WireParams; key?: string; timeoutMs: number }
  | { op: 'batch'; statements: WireStatement[]; key?: string; timeoutMs: number }
  | { op: 'exec'; sql: string; key?: string; timeoutMs: number }
  | { op: 'tx'; session: string; seq: 0; action: 'begin'; timeoutMs: number }
  | { op: 'tx'; session: string; seq: number; action: 'query'; mode: StatementMode; sql: string; params?: WireParams; timeoutMs: number }
  | { op: 'tx'; session: string; seq: number; action: 'exec'; sql: string; timeoutMs: number }
  | { op: 'tx'; session: string; seq: number; action: 'commit'; key?: string; timeoutMs: number }
  | { op: 'tx'; session: string; seq: number; action: 'rollback'; timeoutMs: number }
  | { op: 'status'; timeoutMs: number };

export interface WireError {
  code: string;
  message: string;
  /** The class the error had on the primary; absent from older primaries. */
  kind?: WireErrorKind;
  /** Set by the primary when the call did not run (a refusal before the queue), so the replica may retry it. */
  notRun?: boolean;
  /** The primary's hostname, when NOT_PRIMARY knows a better place to go. */
  primary?: string;
}

export type Response =
  | { ok: true; result?: WireResult | WireResult[] | null; session?: string; status?: unknown; txid?: string; checksum?: string }
  | { ok: false; error: WireError };

/** The error kinds that cross the wire with their class intact, so a forwarded call fails exactly like a local one. */
export const WIRE_ERROR_KINDS = ['SqliteError', 'RangeError', 'TypeError', 'LiteFSForwardError'] as const;
export type WireErrorKind = (typeof WIRE_ERROR_KINDS)[number];

/** The longest a forwarded call may ask the primary to keep working on it. */
export const MAX_REQUEST_TIMEOUT_MS = 10 * 60_000;
const MAX_SQL_CHARS = 100 * 1024 * 1024;
const MAX_ID_CHARS = 256;

/** A request that does not match its schema. `field` names where, the message never echoes a value. */
export class RequestShapeError extends Error {
  readonly field: string;
  constructor(field: string, problem: string) {
    super(`Invalid request: \`${field}\` ${problem}.`);
    this.field = field;
  }
}

type Json = Record<string, unknown>;

/**
 * Checks a parsed body against the schema of its op, before anything runs. Only own, plain-JSON properties are
 * read (the body comes from JSON.parse, so there are no getters), and no value reaches Number(), String() or a
 * template literal before its type is checked.
 */
export function validateRequest(body: unknown, valueProblem: (value: unknown) => string | undefined): Request {
  const request = object(body, 'request');
  const op = request.op;
  timeout(request);
  switch (op) {
    case 'status':
      only(request, ['op', 'timeoutMs']);
      break;
    case 'query':
      only(request, ['op', 'mode', 'sql', 'params', 'key', 'timeoutMs']);
      mode(request.mode, 'mode');
      sql(request.sql, 'sql');
      params(request.params, 'params', valueProblem);
      key(request.key, 'key');
      break;
    case 'batch': {
      only(request, ['op', 'statements', 'key', 'timeoutMs']);
      if (!Array.isArray(request.statements)) throw new RequestShapeError('statements', 'must be an array');
      request.statements.forEach((statement, i) => {
        const s = object(statement, `statements[${i}]`);
        only(s, ['sql', 'params'], `statements[${i}].`);
        sql(s.sql, `statements[${i}].sql`);
        params(s.params, `statements[${i}].params`, valueProblem);
      });
      key(request.key, 'key');
      break;
    }
    case 'exec':
      only(request, ['op', 'sql', 'key', 'timeoutMs']);
      sql(request.sql, 'sql');
      key(request.key, 'key');
      break;
    case 'tx':
      transactionStep(request, valueProblem);
      break;
    default:
      throw new RequestShapeError('op', 'is not a known operation');
  }
  return request as unknown as Request;
}

function transactionStep(request: Json, valueProblem: (value: unknown) => string | undefined): void {
  if (typeof request.session !== 'string' || request.session.length === 0 || request.session.length > MAX_ID_CHARS) {
    throw new RequestShapeError('session', `must be a string of 1 to ${MAX_ID_CHARS} characters`);
  }
  if (typeof request.seq !== 'number' || !Number.isSafeInteger(request.seq) || request.seq < 0) throw new RequestShapeError('seq', 'must be a non-negative integer');
  switch (request.action) {
    case 'begin':
      only(request, ['op', 'session', 'seq', 'action', 'timeoutMs']);
      if (request.seq !== 0) throw new RequestShapeError('seq', 'must be 0 for begin');
      return;
    case 'query':
      only(request, ['op', 'session', 'seq', 'action', 'mode', 'sql', 'params', 'timeoutMs']);
      mode(request.mode, 'mode');
      sql(request.sql, 'sql');
      params(request.params, 'params', valueProblem);
      return;
    case 'exec':
      only(request, ['op', 'session', 'seq', 'action', 'sql', 'timeoutMs']);
      sql(request.sql, 'sql');
      return;
    case 'commit':
      only(request, ['op', 'session', 'seq', 'action', 'key', 'timeoutMs']);
      key(request.key, 'key');
      return;
    case 'rollback':
      only(request, ['op', 'session', 'seq', 'action', 'timeoutMs']);
      return;
    default:
      throw new RequestShapeError('action', 'is not a known transaction action');
  }
}

function object(value: unknown, field: string): Json {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new RequestShapeError(field, 'must be an object');
  return value as Json;
}

function only(value: Json, allowed: readonly string[], prefix = ''): void {
  for (const name of Object.keys(value)) {
    if (!allowed.includes(name)) throw new RequestShapeError(`${prefix}${name.length > 64 ? `${name.slice(0, 64)}…` : name}`, 'is not a known field');
  }
}

function timeout(request: Json): void {
  const value = request.timeoutMs;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 1 || value > MAX_REQUEST_TIMEOUT_MS) {
    throw new RequestShapeError('timeoutMs', `must be a number from 1 to ${MAX_REQUEST_TIMEOUT_MS}`);
  }
}

function mode(value: unknown, field: string): void {
  if (typeof value !== 'string' || !(STATEMENT_MODES as readonly string[]).includes(value)) throw new RequestShapeError(field, `must be one of ${STATEMENT_MODES.join(', ')}`);
}

function sql(value: unknown, field: string): void {
  if (typeof value !== 'string' || value.length > MAX_SQL_CHARS) throw new RequestShapeError(field, 'must be a string');
}

function key(value: unknown, field: string): void {
  if (value !== undefined && (typeof value !== 'string' || value.length === 0 || value.length > MAX_ID_CHARS)) {
    throw new RequestShapeError(field, `must be a string of 1 to ${MAX_ID_CHARS} characters`);
  }
}

function params(value: unknown, field: string, valueProblem: (value: unknown) => string | undefined): void {
  if (value === undefined) return;
  const wrapper = object(value, field);
  const keys = Object.keys(wrapper);
  if (keys.length !== 1 || (keys[0] !== 'p' && keys[0] !== 'n')) throw new RequestShapeError(field, 'must be { p: [...] } or { n: {...} }');
  if (keys[0] === 'p') {
    if (!Array.isArray(wrapper.p)) throw new RequestShapeError(`${field}.p`, 'must be an array');
    wrapper.p.forEach((item, i) => {
      const problem = valueProblem(item);
      if (problem !== undefined) throw new RequestShapeError(`${field}.p[${i}]`, problem);
    });
    return;
  }
  const named = object(wrapper.n, `${field}.n`);
  for (const [name, item] of Object.entries(named)) {
    const problem = valueProblem(item);
    if (problem !== undefined) throw new RequestShapeError(`${field}.n.${name.length > 64 ? `${name.slice(0, 64)}…` : name}`, problem);
  }
}
