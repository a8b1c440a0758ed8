import { describe, expect, it } from 'vitest';
import { Flusher } from '../../../ingest/spool/flusher.js';
import { Spool } from '../../../ingest/spool/spool.js';
import { WarehouseError } from '../../../warehouse/warehouse.js';
import { tempDir } from '../../helpers/temp.js';

const quiet = { warn() {}, error() {}, info() {} };

/** A spool with about 10 kB in small segments, and a flusher whose inserts finish when the test says. */
async function backlogged() {
  const spool = Spool.open({ dir: tempDir('keyrev-flusher-'), maxSegmentBytes: 1_000, maxSegmentAgeMs: 60_000, maxTotalBytes: 1 << 30 });
  await Promise.all(Array.from({ length: 100 }, (_, i) => spool.append(`${JSON.stringify({ i, pad: 'x'.repeat(80) })}\n`)));
  const inserts = { open: false, failWith: undefined as Error | undefined, taken: 0 };
  const flusher = new Flusher(
    spool,
    async () => {
      while (!inserts.open && !inserts.failWith) await new Promise((resolve) => setTimeout(resolve, 5));
      if (inserts.failWith) throw inserts.failWith;
      inserts.taken++;
    },
    { intervalMs: 10, maxBackoffMs: 60_000, log: quiet },
  );
  return { spool, flusher, inserts };
}

/** Whether the promise settles within the time (false: still waiting). */
async function settlesWithin(p: Promise<void>, ms: number): Promise<boolean> {
  return Promise.race([p.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), ms))]);
}

describe('flusher pacing (keepPace)', () => {
  it('holds a producer while the backlog is past the bound and lets it go once the inserts catch up', async () => {
    const { spool, flusher, inserts } = await backlogged();
    flusher.start();
    try {
      expect(spool.stats().bytes).toBeGreaterThan(5_000);
      const paced = flusher.keepPace(5_000);
      expect(await settlesWithin(paced, 200)).toBe(false);
      inserts.open = true;
      expect(await settlesWithin(paced, 5_000)).toBe(true);
      expect(spool.stats().bytes).toBeLessThanOrEqual(5_000);
      expect(inserts.taken).toBeGreaterThan(0);
    } finally {
      await flusher.stop();
    }
  });

  it('never holds a producer while ClickHouse is down: the spool takes the stream', async () => {
    const { spool, flusher, inserts } = await backlogged();
    inserts.failWith = new WarehouseError('unreachable', true);
    flusher.start();
    try {
      expect(await settlesWithin(flusher.keepPace(5_000), 2_000)).toBe(true);
      expect(spool.stats().bytes).toBeGreaterThan(5_000);
      expect(inserts.taken).toBe(0);
    } finally {
      await flusher.stop();
    }
  });

  it('never holds a producer while the flusher is stopped', async () => {
    const { flusher } = await backlogged();
    expect(await settlesWithin(flusher.keepPace(0), 200)).toBe(true);
  });
});
