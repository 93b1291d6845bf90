import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { type LineageChange, ReplicationPosition } from '../../src/detection/replication-position.js';
import { formatTxid } from '../../src/util/txid.js';

// The lineage rules: a TXID alone does not name a transaction once LiteFS reuses numbers after a failover, so a
// wait for a commit is satisfied only by that commit (TXID and post-apply checksum), and a position that moves
// back restarts the high-water mark instead of hiding behind it.

const tx = (n: number): string => formatTxid(BigInt(n));
const sum = (lineage: string, n: number): string => `${lineage.repeat(8)}${n.toString(16).padStart(8, '0')}`.slice(-16);

function setup(t: { after(fn: () => void): void }) {
  const dir = mkdtempSync(join(tmpdir(), 'litefs-forward-position-'));
  const path = join(dir, 'app.db');
  const changes: LineageChange[] = [];
  const position = new ReplicationPosition(path, (change) => changes.push(change));
  t.after(() => {
    position.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const file = (n: number, checksum: string): void => writeFileSync(`${path}-pos`, `${tx(n)}/${checksum}\n`);
  return { position, changes, file };
}

test('a commit is verified by its TXID and checksum, and refused when another transaction holds that TXID', async (t) => {
  const { position, changes } = setup(t);
  position.advance(tx(5), sum('a', 5));
  assert.equal(await position.waitFor(tx(5), 1_000, undefined, undefined, sum('a', 5)), 'verified');
  await assert.rejects(position.waitFor(tx(5), 1_000, undefined, undefined, sum('b', 5)), { code: 'LINEAGE_CHANGED', txid: tx(5) });
  // Without a checksum, reaching the TXID is all that can be said.
  assert.equal(await position.waitFor(tx(4), 1_000, undefined), 'reached');
  assert.equal(changes.length, 0);
});

test('a pending wait is judged when its TXID arrives: the same transaction resolves it, another one refuses it', async (t) => {
  const { position } = setup(t);
  position.advance(tx(6), sum('a', 6));
  const same = position.waitFor(tx(7), 5_000, undefined, undefined, sum('a', 7));
  const other = position.waitFor(tx(8), 5_000, undefined, undefined, sum('a', 8));
  position.advance(tx(7), sum('a', 7));
  assert.equal(await same, 'verified');
  position.advance(tx(8), sum('b', 8));
  await assert.rejects(other, { code: 'LINEAGE_CHANGED' });
});

test('a TXID passed without its checksum seen (a snapshot) is only reached: the caller checks the write another way', async (t) => {
  const { position, file } = setup(t);
  file(20, sum('a', 20));
  assert.equal(await position.waitFor(tx(12), 1_000, undefined, undefined, sum('a', 12)), 'reached');
});

test('a position that moves back is a lineage change: later waits are judged against the new lineage, not the old mark', async (t) => {
  const { position, changes, file } = setup(t);
  file(9, sum('a', 9));
  assert.equal(position.current(), tx(9));
  // A failover to a node that had only TXID 3: the file moves back.
  file(3, sum('b', 3));
  assert.equal(position.current(), tx(3));
  assert.equal(changes.length, 1);
  assert.equal(changes[0]!.reason, 'position-moved-back');
  assert.deepEqual(changes[0]!.from, { txid: tx(9), checksum: sum('a', 9) });
  assert.equal(position.lineageChanges, 1);
  // TXID 7 is below the old mark; on this lineage it has not happened yet, so the wait waits.
  let settled = false;
  const wait = position.waitFor(tx(7), 5_000, undefined, undefined, sum('b', 7)).finally(() => {
    settled = true;
  });
  await new Promise((resolve) => setTimeout(resolve, 30));
  assert.equal(settled, false);
  position.advance(tx(7), sum('b', 7));
  assert.equal(await wait, 'verified');
});

test('a late event older than the file is no lineage change; a known TXID with another checksum is', (t) => {
  const { position, changes, file } = setup(t);
  position.advance(tx(4), sum('a', 4));
  file(5, sum('a', 5));
  assert.equal(position.current(), tx(5));
  position.advance(tx(4), sum('a', 4));
  assert.equal(changes.length, 0);
  position.advance(tx(5), sum('b', 5));
  assert.equal(changes.length, 1);
  assert.equal(changes[0]!.reason, 'checksum-differs');
});

test('property: across any failover, no wait for a commit of the old lineage is verified by the new one', async () => {
  // Two lineages share TXIDs 1..shared; the node follows lineage a up to `reachedA`, fails over to lineage b, and
  // follows it up to `reachedB`. The node learns of each commit by its event, by reading the file, or both.
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 0, max: 10 }),
      fc.integer({ min: 1, max: 20 }),
      fc.integer({ min: 1, max: 20 }),
      fc.integer({ min: 1, max: 20 }),
      fc.array(fc.constantFrom('event', 'file', 'both'), { minLength: 40, maxLength: 40 }),
      async (shared, reachedA, reachedB, target, sources) => {
        const dir = mkdtempSync(join(tmpdir(), 'litefs-forward-position-'));
        const path = join(dir, 'app.db');
        const position = new ReplicationPosition(path);
        const checksum = (lineage: string, n: number): string => sum(n <= shared ? 'a' : lineage, n);
        let step = 0;
        // As LiteFS does: the `-pos` file always shows the current position, and a `tx` event follows each commit;
        // the node may hear the event, read the file, or both.
        const observe = (lineage: string, n: number): void => {
          const source = sources[step++ % sources.length];
          writeFileSync(`${path}-pos`, `${tx(n)}/${checksum(lineage, n)}\n`);
          if (source !== 'file') position.advance(tx(n), checksum(lineage, n));
          if (source !== 'event') position.current();
        };
        try {
          for (let n = 1; n <= reachedA; n++) observe('a', n);
          const wait = position.waitFor(tx(target), 10_000, undefined, undefined, checksum('a', target)).then(
            (outcome) => outcome,
            (error: { code?: string }) => error.code ?? 'error',
          );
          for (let n = 1; n <= reachedB; n++) observe('b', n);
          // The node is now on lineage b at reachedB; settle any wait still pending.
          const outcome = await Promise.race([wait, new Promise((resolve) => setTimeout(() => resolve('pending'), 20))]);
          const onlyOnA = target > shared;
          if (target <= reachedA) {
            // Judged while still on lineage a.
            assert.ok(outcome === 'verified' || outcome === 'reached', `target ${target} on a: ${String(outcome)}`);
          } else if (onlyOnA && target <= reachedB) {
            assert.notEqual(outcome, 'verified', `target ${target} (shared ${shared}) verified by lineage b`);
          } else if (target <= reachedB) {
            assert.ok(outcome === 'verified' || outcome === 'reached', `shared target ${target} on b: ${String(outcome)}`);
          } else {
            assert.equal(outcome, 'pending');
          }
        } finally {
          position.close();
          rmSync(dir, { recursive: true, force: true });
        }
      },
    ),
    { numRuns: 300 },
  );
});
