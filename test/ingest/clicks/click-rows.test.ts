import { describe, expect, it } from 'vitest';
import type { ClickRecord } from '../../../ingest/clicks/click-record.js';
import { clickColumns, createClickRowEncoder } from '../../../ingest/clicks/click-rows.js';
import { WorkerClickEncoder } from '../../../ingest/clicks/click-encoder.js';

const chrome = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
const record = (over: Partial<ClickRecord> = {}): ClickRecord => ({
  id: '383751356126593024',
  ts: Date.UTC(2026, 10, 24, 12),
  campaign: 'camp1',
  source: 'google',
  missed: 0,
  modelCost: '0.250000',
  query: 'kw=c%2B%2B&ad=7&foo=bar',
  ip: '::ffff:81.2.69.142',
  userAgent: chrome,
  referrer: 'https://www.google.com/',
  ...over,
});
const segment = (...records: ClickRecord[]) => Buffer.from(records.map((r) => `${JSON.stringify(r)}\n`).join(''));

describe('click rows', () => {
  it('turns spooled records into enriched clicks rows', () => {
    const encode = createClickRowEncoder({ ipStorage: 'truncated', uniqueWindowMs: 60_000 });
    const out = encode(segment(record(), record({ id: '383751356126593025', query: 'kw=x&cost=1,5', countryHint: 'de' })));
    expect(out).toMatchObject({ rows: 2, skipped: 0 });
    // Each line is a JSON array in clickColumns order (JSONCompactEachRow).
    const [a, b] = out.data
      .toString()
      .trimEnd()
      .split('\n')
      .map((l) => Object.fromEntries((JSON.parse(l) as unknown[]).map((v, i) => [clickColumns[i], v])));
    expect(a).toMatchObject({
      click_id: '383751356126593024',
      campaign_id: 'camp1',
      traffic_source: 'google',
      keyword: 'c++',
      ad: '7',
      cost: '0.250000',
      ip: '81.2.69.0',
      country: 'GB',
      device_type: 'desktop',
      browser: 'Chrome',
      is_bot: 0,
      is_unique: 1,
      extra: { foo: 'bar' },
    });
    expect(b).toMatchObject({ keyword: 'x', cost: '1.5', country: 'DE', is_unique: 0 });
  });

  it('reads a record as keyrev 0.1 spooled it (short names), so an upgrade replays an old spool', () => {
    const r = record({ countryHint: 'de' });
    const short = { id: r.id, ts: r.ts, c: r.campaign, src: r.source, missed: r.missed, mc: r.modelCost, q: r.query, ip: r.ip, ua: r.userAgent, ref: r.referrer, cc: 'de' };
    const fresh = () => createClickRowEncoder({ ipStorage: 'full', uniqueWindowMs: 60_000 });
    const old = fresh()(Buffer.from(`${JSON.stringify(short)}\n`));
    expect(old).toMatchObject({ rows: 1, skipped: 0 });
    expect(old.data.toString()).toBe(fresh()(segment(r)).data.toString());
  });

  it('skips and counts a damaged line instead of failing the segment', () => {
    const encode = createClickRowEncoder({ ipStorage: 'full', uniqueWindowMs: 60_000 });
    const out = encode(Buffer.concat([segment(record()), Buffer.from('{"id":\n'), segment(record({ id: '2' }))]));
    expect(out).toMatchObject({ rows: 2, skipped: 1 });
  });

  it('runs in a worker thread with the same result', async () => {
    const worker = new WorkerClickEncoder({ ipStorage: 'full', uniqueWindowMs: 60_000 });
    try {
      const inThread = createClickRowEncoder({ ipStorage: 'full', uniqueWindowMs: 60_000 })(segment(record()));
      const viaWorker = await worker.encode(segment(record()));
      expect(viaWorker.data.toString()).toBe(inThread.data.toString());
      expect(viaWorker.rows).toBe(1);
    } finally {
      await worker.close();
    }
  });
});
