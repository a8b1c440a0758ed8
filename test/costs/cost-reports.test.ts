import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminAuth, startApp, type TestApp } from '../helpers/app.js';

const utcDay = (offsetDays = 0) => new Date(Date.now() + offsetDays * 86_400_000).toISOString().slice(0, 10);

/** Money in cents, as reports must get it right. */
const cents = (n: number) => Math.round(n * 100);

describe('imported spend in reports', () => {
  let t: TestApp;
  let campaign: string;
  let other: string;
  const today = utcDay();
  const yesterday = utcDay(-1);

  const report = async (query: string) => {
    const res = await t.app.inject({ method: 'GET', url: `/api/report?${query}`, headers: adminAuth });
    expect(res.statusCode, res.body).toBe(200);
    return res.json() as { rows: Record<string, number | string | null>[]; totals: Record<string, number | null>; source: string };
  };
  const costBy = async (query: string, dim: string) => Object.fromEntries((await report(query)).rows.map((r) => [r[dim], cents(r.cost as number)]));
  const upload = async (rows: object[], c = campaign) => {
    const res = await t.app.inject({
      method: 'POST',
      url: `/api/costs?campaign=${c}&tz=UTC`,
      headers: { ...adminAuth, 'content-type': 'application/x-ndjson' },
      payload: rows.map((r) => JSON.stringify(r)).join('\n'),
    });
    expect(res.statusCode, res.body).toBe(200);
    return res.json();
  };
  const undo = async (id: string) => expect((await t.app.inject({ method: 'DELETE', url: `/api/costs/uploads/${id}`, headers: adminAuth })).statusCode).toBe(204);

  beforeAll(async () => {
    t = await startApp({ KEYREV_FLUSH_INTERVAL_MS: '20' });
    const create = async (name: string) =>
      (await t.app.inject({ method: 'POST', url: '/api/campaigns', headers: adminAuth, payload: { name, offerUrl: 'https://o.example/?c={clickid}', costModel: 'cpc', costValue: 0.1 } })).json().id as string;
    campaign = await create('Imported');
    other = await create('Cost model');
    const clicks = ['kw=alpha&matchtype=e&sub1=a', 'kw=alpha&matchtype=e&sub1=a', 'kw=Alpha&matchtype=e&sub1=b', 'kw=beta&matchtype=p&sub1=b', 'kw=gamma&sub1=a', 'kw=gamma&sub1=a'];
    const ids: string[] = [];
    for (const q of clicks) ids.push((await t.app.inject({ method: 'GET', url: `/c/${campaign}?${q}` })).headers['x-keyrev-click-id'] as string);
    for (const q of ['kw=alpha', 'kw=beta']) await t.app.inject({ method: 'GET', url: `/c/${other}?${q}` });
    await t.app.keyrev.clicks.flusher.drain();
    await t.app.inject({ method: 'GET', url: `/postback?cid=${ids[0]}&payout=20&txid=1` });
    await t.app.keyrev.postbacks.flusher.drain();
  });
  afterAll(async () => t.close());

  it('is the cost of the keywords it names, spread over the clicks elsewhere; other campaigns keep their cost model', async () => {
    const range = `from=${today}&to=${today}&tz=UTC`;
    const before = await report(`${range}&filter[campaign]=${campaign}`);
    expect(cents(before.totals.cost!)).toBe(60);

    const up = await upload([
      { date: today, keyword: 'alpha', matchType: 'exact', spend: '9.99' },
      { date: today, keyword: 'beta', matchType: 'phrase', spend: '1.01' },
      { date: today, keyword: 'delta', spend: '5' },
    ]);
    expect(up).toMatchObject({ rows: 3, matched: 2 });
    const q = `${range}&filter[campaign]=${campaign}`;
    // Keyword level: exactly the uploaded figures (alpha's clicks written as "Alpha" too); gamma had
    // no spend that day; delta's spend has no click and shows as its own row.
    const byKeyword = await costBy(`${q}&groupBy=keyword`, 'keyword');
    expect(byKeyword.alpha! + byKeyword.Alpha!).toBe(999);
    expect(byKeyword).toMatchObject({ beta: 101, gamma: 0, delta: 500 });
    // By sub-id: alpha's 9.99 split 2:1 by clicks, beta's whole 1.01 on b, delta unmatched on ''.
    expect(await costBy(`${q}&groupBy=sub1`, 'sub1')).toEqual({ a: 666, b: 434, '': 500 });
    const totals = (await report(`${q}&groupBy=keyword`)).totals;
    expect(cents(totals.cost!)).toBe(1600);
    expect(cents(totals.profit!)).toBe(2000 - 1600);
    expect(totals.roi).toBeCloseTo((20 - 16) / 16, 9);
    const alphaRow = (await report(`${q}&groupBy=keyword,matchType`)).rows.find((r) => r.keyword === 'alpha')!;
    expect(cents(alphaRow.profit as number)).toBe(2000 - 666);
    // The campaign without imported spend keeps its cost model (CPC 0.10).
    expect(cents((await report(`${range}&filter[campaign]=${other}`)).totals.cost!)).toBe(20);
    // Grouped exports and time series read the same figures.
    const exported = await t.app.inject({ method: 'GET', url: `/api/export?format=ndjson&report=grouped&groupBy=keyword&${q}`, headers: adminAuth });
    const lines = exported.body.trim().split('\n').map((l) => JSON.parse(l) as { cost: number });
    expect(lines.reduce((sum, l) => sum + cents(l.cost), 0)).toBe(1600);
    const hours = (await t.app.inject({ method: 'GET', url: `/api/timeseries?interval=hour&${q}`, headers: adminAuth })).json().rows as { cost: number }[];
    expect(hours.reduce((sum, h) => sum + cents(h.cost), 0)).toBe(1600);
    await undo(up.uploadId);
    expect(cents((await report(q)).totals.cost!)).toBe(60);
  });

  it('sums to the uploaded total in every grouping and time zone, across re-uploads, partial overlaps and undos', async () => {
    const keywords = ['alpha', 'beta', 'gamma', 'delta'];
    const row = fc.record({ day: fc.constantFrom(today, yesterday), keyword: fc.constantFrom(...keywords), cents: fc.integer({ min: 0, max: 100_000 }) });
    const step = fc.oneof(fc.record({ upload: fc.array(row, { minLength: 1, maxLength: 5 }) }), fc.record({ undo: fc.nat() }));
    // The model: uploads in force, newest last; a day's spend is its newest upload's rows of that day.
    const expected = (uploads: { id: string; rows: { day: string; cents: number }[] }[]) => {
      const byDay = new Map<string, number>();
      for (const u of uploads) for (const day of new Set(u.rows.map((r) => r.day))) byDay.set(day, u.rows.filter((r) => r.day === day).reduce((s, r) => s + r.cents, 0));
      // Days without imported spend keep their click costs: yesterday had no clicks, today 6 at 0.10.
      if (!byDay.has(today)) byDay.set(today, 60);
      return [...byDay.values()].reduce((a, b) => a + b, 0);
    };
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 3 }), async (steps) => {
        const live: { id: string; rows: { day: string; cents: number }[] }[] = [];
        for (const s of steps) {
          if ('upload' in s) {
            const res = await upload(s.upload.map((r) => ({ date: r.day, keyword: r.keyword, spend: (r.cents / 100).toFixed(2) })));
            live.push({ id: res.uploadId, rows: s.upload });
          } else if (live.length > 0) {
            const [gone] = live.splice(s.undo % live.length, 1);
            await undo(gone!.id);
          }
        }
        const want = expected(live);
        const f = `filter[campaign]=${campaign}`;
        for (const [tz, from, to] of [['UTC', yesterday, today], ['Asia/Tokyo', yesterday, utcDay(1)], ['America/Los_Angeles', utcDay(-2), utcDay(1)]] as const) {
          const range = `from=${from}&to=${to}&tz=${tz}&${f}`;
          expect(cents((await report(range)).totals.cost!), `${tz} totals`).toBe(want);
          for (const groupBy of tz === 'UTC' ? ['keyword', 'sub1,matchType,adgroup'] : tz === 'Asia/Tokyo' ? ['sub1'] : []) {
            const rows = (await report(`${range}&groupBy=${groupBy}&limit=1000`)).rows;
            expect(rows.reduce((s, r) => s + cents(r.cost as number), 0), `${tz} ${groupBy}`).toBe(want);
          }
        }
        for (const u of live) await undo(u.id);
      }),
      { numRuns: 3, seed: 20_261_202 },
    );
  }, 120_000);
});
