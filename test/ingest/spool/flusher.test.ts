import { describe, expect, it } from 'vitest';
import { Flusher } from '../../../ingest/spool/flusher.js';
import { Spool } from '../../../ingest/spool/spool.js';
import { WarehouseError } from '../../../warehouse/warehouse.js';
import { tempDir } from '../../helpers/temp.js';

const quiet = { warn() {}, error() {}, info() {} };

/** A one-shot event: `fire` it once, `await` its `fired`. */
function signal() {
  let fire!: () => void;
  const fired = new Promise<void>((resolve) => (fire = resolve));
  return { fire, fired };
}

/**
 * A spool with about 10 kB in small segments, and a flusher whose inserts wait until the test
 * opens them (or fail at once with `failWith`).
 */
async function backlogged() {
  const spool = Spool.open({ dir: tempDir('keyrev-flusher-'), maxSegmentBytes: 1_000, maxSegmentAgeMs: 60_000, maxTotalBytes: 1 << 30 });
  await Promise.all(Array.from({ length: 100 }, (_, i) => spool.append(`${JSON.stringify({ i, pad: 'x'.repeat(80) })}\n`)));
  const opened = signal();
  const inserts = { open: opened.fire, failWith: undefined as Error | undefined, taken: 0, called: signal(), failed: signal() };
  const flusher = new Flusher(
    spool,
    async () => {
      inserts.called.fire();
      if (inserts.failWith) throw inserts.failWith;
      await opened.fired;
      inserts.taken++;
    },
    { intervalMs: 10, maxBackoffMs: 60_000, log: quiet, onFailure: () => inserts.failed.fire() },
  );
  return { spool, flusher, inserts };
}

/**
 * Whether the promise settles before the event loop's next turn (false: it is still waiting).
 * keepPace lets a producer go without waiting or polls every 20 ms, so this tells them apart.
 */
async function settlesThisTurn(p: Promise<void>): Promise<boolean> {
  return Promise.race([p.then(() => true), new Promise<boolean>((resolve) => setImmediate(() => resolve(false)))]);
}

describe('flusher pacing (keepPace)', () => {
  it('holds a producer while the backlog is past the bound and lets it go once the inserts catch up', async () => {
    const { spool, flusher, inserts } = await backlogged();
    flusher.start();
    try {
      expect(spool.stats().bytes).toBeGreaterThan(5_000);
      let released: { bytes: number; taken: number } | undefined;
      const paced = flusher.keepPace(5_000).then(() => {
        released = { bytes: spool.stats().bytes, taken: inserts.taken };
      });
      // The flusher is in its first insert, which waits: nothing has left the spool yet.
      await inserts.called.fired;
      expect(released).toBeUndefined();
      inserts.open();
      await paced;
      expect(released!.bytes).toBeLessThanOrEqual(5_000);
      expect(released!.taken).toBeGreaterThan(0);
    } finally {
      inserts.open();
      await flusher.stop();
    }
  });

  it('never holds a producer while ClickHouse is down: the spool takes the stream', async () => {
    const { spool, flusher, inserts } = await backlogged();
    inserts.failWith = new WarehouseError('unreachable', true);
    flusher.start();
    try {
      const waiting = flusher.keepPace(5_000);
      await inserts.failed.fired;
      // One that waited since before the failure goes, and a new one does not wait at all.
      await waiting;
      expect(await settlesThisTurn(flusher.keepPace(5_000))).toBe(true);
      expect(spool.stats().bytes).toBeGreaterThan(5_000);
      expect(inserts.taken).toBe(0);
    } finally {
      await flusher.stop();
    }
  });

  it('never holds a producer while the flusher is stopped', async () => {
    const { flusher } = await backlogged();
    expect(await settlesThisTurn(flusher.keepPace(0))).toBe(true);
  });
});
