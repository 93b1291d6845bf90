import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, ERROR_CODES, isLiteFSForwardError, LiteFSForwardError, NotPrimaryError } from '../../src/errors.js';

test('isLiteFSForwardError: yes to our errors, no to another library whose error has one of our codes', () => {
  assert.ok(isLiteFSForwardError(new LiteFSForwardError('ABORTED', 'aborted')));
  assert.ok(isLiteFSForwardError(new NotPrimaryError('not primary', { knownPrimary: 'node2' })));
  assert.ok(isLiteFSForwardError(new ConfigError('timeout', -1, 'a number ≥ 0')));
  for (const code of ERROR_CODES) {
    assert.equal(isLiteFSForwardError({ code }), false, `a plain { code: '${code}' }`);
    assert.equal(isLiteFSForwardError(Object.assign(new Error('theirs'), { code })), false, `an Error with code ${code}`);
  }
  class AbortError extends Error {
    readonly code = 'ABORTED';
  }
  assert.equal(isLiteFSForwardError(new AbortError('the other library aborted')), false);
  for (const value of [undefined, null, 'ABORTED', 42, Symbol.for('litefs-forward.error')]) assert.equal(isLiteFSForwardError(value), false);
  // The brand sits on the prototype: an error compares and clones as before.
  assert.deepEqual(Object.getOwnPropertySymbols(new LiteFSForwardError('CLOSED', 'closed')), []);
});

test('isLiteFSForwardError: yes across two copies of the package (the brand is a registry symbol)', async () => {
  // The same file under another URL is a second module instance, as a second copy in node_modules would be.
  const copy = (await import(new URL('../../src/errors.js?copy=2', import.meta.url).href)) as typeof import('../../src/errors.js');
  assert.notEqual(copy.LiteFSForwardError, LiteFSForwardError);
  const theirs = new copy.NotPrimaryError('not primary');
  assert.equal(theirs instanceof LiteFSForwardError, false);
  assert.ok(isLiteFSForwardError(theirs));
  assert.ok(copy.isLiteFSForwardError(new LiteFSForwardError('CLOSED', 'closed')));
  assert.equal(copy.isLiteFSForwardError(Object.assign(new Error('theirs'), { code: 'CLOSED' })), false);
});

test('isLiteFSForwardError: a Prisma error that carries one of our codes counts, since Prisma keeps only code and message', () => {
  const prismaError = (code: string) => Object.assign(new Error('rethrown by Prisma'), { name: 'PrismaClientKnownRequestError', code, clientVersion: '7.9.1' });
  assert.ok(isLiteFSForwardError(prismaError('CLOSED')));
  assert.equal(isLiteFSForwardError(prismaError('P2002')), false);
  assert.equal(isLiteFSForwardError(prismaError('SQLITE_CONSTRAINT_UNIQUE')), false);
});
