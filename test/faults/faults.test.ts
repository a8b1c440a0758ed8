import { describe, expect, it } from 'vitest';
import { formatFaultReport, runFaults } from './fault-run.js';

/**
 * The fault suite: `npm test` runs its short form (two kills, one of them while the warehouse is
 * down and the spool at its limit); `npm run test:faults` the long one (FAULT_KILLS=5 and longer
 * spans between faults).
 */
const kills = Number(process.env.FAULT_KILLS ?? 2);
const spanMs = Number(process.env.FAULT_SPAN_MS ?? 2_500);

describe('fault suite', () => {
  it(`loses and doubles nothing acknowledged across ${kills} SIGKILLs, a warehouse outage and a full spool`, async () => {
    const r = await runFaults({ kills, spanMs, outageMs: 3_000, workers: 12 });
    console.log(`[faults]\n${formatFaultReport(r)}`);
    expect(r.acknowledged.clicks).toBeGreaterThan(500);
    expect(r.acknowledged.postbacks).toBeGreaterThan(100);
    expect(r.faults.filter((f) => f.startsWith('SIGKILL'))).toHaveLength(kills);
    expect(r.lost).toEqual({ clicks: [], postbacks: [] });
    expect(r.doubled).toEqual({ clicks: 0, postbacks: 0 });
    expect(r.countedTwice).toEqual({ conversions: [], attributed: [] });
    // What the reports count is what ClickHouse holds: every stored click, every stored sale at 1.00.
    expect(r.report.clicks).toBe(r.stored.clicks);
    expect(r.report.conversions).toBe(r.stored.postbacks);
    expect(r.report.revenue).toBeCloseTo(r.stored.postbacks, 6);
  }, 400_000);
});
