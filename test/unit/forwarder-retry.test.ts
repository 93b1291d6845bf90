import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LiteFSForwardError, NotPrimaryError, PrimaryUnavailableError, UnauthorizedError } from '../../src/errors.js';
import { deadlineError, type RetryContext, retryDecision } from '../../src/replica/forwarder.js';
import { ConnectionFailure } from '../../src/replica/rpc-client.js';
import { SqliteError, toSqliteError } from '../../src/sqlite/errors.js';

const KEY = '0190a8c2-0000-7000-8000-000000000001';
/** A single call: idempotent exactly when it has a key. */
const single = (key?: string): RetryContext => ({ pinned: false, idempotent: key !== undefined, key });
/** A transaction step: pinned to its primary; idempotent through the session's sequence number. */
const step = (idempotent: boolean, key?: string): RetryContext => ({ pinned: true, idempotent, key });

const refused = () => new ConnectionFailure('connect ECONNREFUSED', false, new Error('ECONNREFUSED'));
const reset = () => new ConnectionFailure('socket hang up', true, new Error('ECONNRESET'));

type Expected = 'retry' | { code: string | undefined; mayHaveBeenApplied: boolean | undefined; idempotencyKey?: string; unchanged?: true };

/** (outcome, whether it may have reached the primary, key) -> (retried, the caller's error code, mayHaveBeenApplied) */
const ROWS: [string, () => Error, RetryContext, Expected][] = [
  ['OVERLOADED: refused before it ran', () => new LiteFSForwardError('OVERLOADED', 'busy'), single(), 'retry'],
  ['OVERLOADED, transaction step', () => new LiteFSForwardError('OVERLOADED', 'busy'), step(false), 'retry'],
  ['NOT_PRIMARY: another node is primary', () => new NotPrimaryError('not primary'), single(), 'retry'],
  ['NOT_PRIMARY, transaction step: its primary is gone', () => new NotPrimaryError('not primary'), step(true), { code: 'NOT_PRIMARY', mayHaveBeenApplied: undefined, unchanged: true }],
  ['PRIMARY_UNAVAILABLE: an election', () => new PrimaryUnavailableError('none'), single(KEY), 'retry'],
  ['PRIMARY_UNAVAILABLE, transaction step', () => new PrimaryUnavailableError('none'), step(true), { code: 'PRIMARY_UNAVAILABLE', mayHaveBeenApplied: undefined, unchanged: true }],
  ['connection refused: not sent, no key', refused, single(), 'retry'],
  ['connection refused: not sent, transaction step', refused, step(false), 'retry'],
  ['reset after sending, with a key', reset, single(KEY), 'retry'],
  ['reset after sending, no key', reset, single(), { code: 'FORWARD_FAILED', mayHaveBeenApplied: true }],
  ['reset after sending, transaction step with its sequence number', reset, step(true), 'retry'],
  ['reset after sending, transaction step without one', reset, step(false), { code: 'FORWARD_FAILED', mayHaveBeenApplied: true }],
  ['reset after sending, not deduplicated although keyed', reset, { pinned: false, idempotent: false, key: KEY }, { code: 'FORWARD_FAILED', mayHaveBeenApplied: true, idempotencyKey: KEY }],
  ["SQLite's error from the primary: its verdict", () => toSqliteError(SqliteError, 'SQLITE_CONSTRAINT_UNIQUE', 'UNIQUE constraint failed: items.name'), single(KEY), { code: 'SQLITE_CONSTRAINT_UNIQUE', mayHaveBeenApplied: undefined, unchanged: true }],
  [
    'an unverifiable answer: may have run',
    () => new LiteFSForwardError('PROTOCOL_ERROR', 'not signed', { mayHaveBeenApplied: true, idempotencyKey: KEY }),
    single(KEY),
    { code: 'PROTOCOL_ERROR', mayHaveBeenApplied: true, idempotencyKey: KEY, unchanged: true },
  ],
  ['UNAUTHORIZED, signed: nothing ran', () => new UnauthorizedError('bad signature'), single(KEY), { code: 'UNAUTHORIZED', mayHaveBeenApplied: undefined, unchanged: true }],
  ['REQUEST_TOO_LARGE', () => new LiteFSForwardError('REQUEST_TOO_LARGE', 'too large'), single(), { code: 'REQUEST_TOO_LARGE', mayHaveBeenApplied: undefined, unchanged: true }],
  ["the primary's internal failure", () => new LiteFSForwardError('FORWARD_FAILED', 'internal'), single(KEY), { code: 'FORWARD_FAILED', mayHaveBeenApplied: undefined, unchanged: true }],
  ['a binding error', () => new RangeError('Too few parameter values were provided'), single(), { code: undefined, mayHaveBeenApplied: undefined, unchanged: true }],
];

test("the forwarder's retry decisions, case by case", () => {
  for (const [name, makeError, call, expected] of ROWS) {
    const error = makeError();
    const decision = retryDecision(error, call);
    if (expected === 'retry') {
      assert.deepEqual(decision, { retry: true }, name);
      continue;
    }
    assert.equal(decision.retry, false, name);
    if (decision.retry) continue;
    const thrown = decision.error as Error & { code?: unknown; mayHaveBeenApplied?: unknown; idempotencyKey?: unknown };
    assert.equal(thrown.code, expected.code, name);
    assert.equal(thrown.mayHaveBeenApplied, expected.mayHaveBeenApplied, name);
    assert.equal(thrown.idempotencyKey, expected.idempotencyKey, name);
    if (expected.unchanged) assert.equal(thrown, error, `${name}: the error reaches the caller as it is`);
    else assert.equal(thrown.cause, (error as ConnectionFailure).cause, `${name}: the socket's error is the cause`);
  }
});

test('a deadline: nothing applied if no primary was reached, else maybe applied with the key to retry under', () => {
  const primary = { hostname: 'node1', rpcUrl: 'http://node1:20202' };
  const state = { node: 'node2', cause: new Error('last'), elapsedMs: 1_000, key: KEY };
  const rows: [string, Parameters<typeof deadlineError>[1], string, boolean | undefined][] = [
    ['no primary was ever known', { ...state, endpoint: undefined, maybeApplied: false }, 'PRIMARY_UNAVAILABLE', undefined],
    ["a primary was known, but no attempt reached it (its app refused connections)", { ...state, endpoint: primary, maybeApplied: false }, 'PRIMARY_UNAVAILABLE', undefined],
    ['the request was out to a primary', { ...state, endpoint: primary, maybeApplied: true }, 'FORWARD_TIMEOUT', true],
    ['an earlier attempt may have reached one', { ...state, endpoint: undefined, maybeApplied: true }, 'FORWARD_TIMEOUT', true],
  ];
  for (const [name, deadlineState, code, mayHaveBeenApplied] of rows) {
    const error = deadlineError({ timeoutMs: 1_000, sql: 'INSERT INTO t VALUES (1)' }, deadlineState) as LiteFSForwardError;
    assert.equal(error.code, code, name);
    assert.equal(error.mayHaveBeenApplied, mayHaveBeenApplied, name);
    assert.equal(error.idempotencyKey, KEY, name);
    assert.equal(error.node, 'node2', name);
    assert.equal(error.primary, deadlineState.endpoint?.hostname, name);
  }
  // The caller's own abort wins over the deadline.
  const controller = new AbortController();
  controller.abort();
  const aborted = deadlineError({ timeoutMs: 1_000, signal: controller.signal }, { ...state, endpoint: primary, maybeApplied: true }) as LiteFSForwardError;
  assert.equal(aborted.code, 'ABORTED');
});
