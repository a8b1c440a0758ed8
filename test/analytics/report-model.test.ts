import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClickIdGenerator } from '../../core/click-id.js';
import type { ClickRecord } from '../../ingest/clicks/click-record.js';
import { adminAuth, startApp, type TestApp } from '../helpers/app.js';

/**
 * A model check of attribution and reports: random clicks (spread around local midnights and a DST
 * change), postbacks with retries, status changes, stale retries, chargebacks and clicks that land
 * after their postbacks; the expected report is computed here in plain TypeScript and the API's
 * answer must match it for several groupings, time zones and both sources (rollup and raw).
 */
const statusPaths = [['lead'], ['sale'], ['lead', 'sale'], ['lead', 'rejected'], ['sale', 'chargeback'], ['lead', 'sale', 'chargeback']] as const;

interface ModelClick {
  id: string;
  ts: number;
  campaign: string;
  keyword: string;
  matchType: string;
  utmSource: string;
  sub1: string;
  cost: number;
  /** Final status and payout of each of its conversions. */
  conversions: { status: string; amount: number }[];
}

const start = Date.UTC(2026, 9, 29); // 2026-10-29; New York leaves DST on 2026-11-01

const world = fc.array(
  fc.record({
    offset: fc.integer({ min: 0, max: 7 * 96 - 1 }).map((q) => q * 15 * 60_000 + 7 * 60_000), // 7 past each quarter hour
    campaign: fc.constantFrom('c1', 'c2'),
    keyword: fc.constantFrom('running shoes', 'c++ books', 'a+b', 'trail'),
    matchType: fc.constantFrom('e', 'p', 'b'),
    utmSource: fc.constantFrom('google', 'bing'),
    sub1: fc.constantFrom('x', 'y', ''),
    cost: fc.integer({ min: 0, max: 300 }).map((c) => c / 100),
    conversions: fc.array(
      fc.record({ path: fc.constantFrom(...statusPaths), cents: fc.integer({ min: 1, max: 99_999 }), retries: fc.boolean(), staleRetry: fc.boolean() }),
      { maxLength: 2 },
    ),
    late: fc.boolean(),
  }),
  { minLength: 30, maxLength: 60 },
);

function localDay(ts: number, tz: string): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit' }).format(ts);
}

function expected(clicks: ModelClick[], tz: string, from: string, to: string, groupBy: (keyof ModelClick)[]) {
  const groups = new Map<string, Record<string, number | string>>();
  for (const c of clicks) {
    const d = localDay(c.ts, tz);
    if (d < from || d > to) continue;
    const key = groupBy.map((g) => c[g]).join('\u0001');
    const g = groups.get(key) ?? { ...Object.fromEntries(groupBy.map((k) => [k, c[k] as string])), clicks: 0, cost: 0, leads: 0, sales: 0, rejected: 0, chargebacks: 0, revenue: 0 };
    g.clicks = (g.clicks as number) + 1;
    g.cost = Math.round(((g.cost as number) + c.cost) * 100) / 100;
    for (const conv of c.conversions) {
      const field = { lead: 'leads', sale: 'sales', rejected: 'rejected', chargeback: 'chargebacks' }[conv.status]!;
      g[field] = (g[field] as number) + 1;
      if (conv.status === 'sale') g.revenue = Math.round(((g.revenue as number) + conv.amount) * 100) / 100;
    }
    groups.set(key, g);
  }
  return groups;
}

describe('reports match a model of clicks and postbacks', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp({ KEYREV_FLUSH_INTERVAL_MS: '20' });
  });
  afterAll(async () => t.close());

  it('for every grouping, time zone and source', async () => {
    const ids = new ClickIdGenerator(11);
    let txid = 0;
    await fc.assert(
      fc.asyncProperty(world, async (generated) => {
        await t.app.keyrev.warehouse.exec('TRUNCATE TABLE clicks');
        const rollupTables = ['search', 'utm', 'search_daily'].flatMap((r) => [`click_stats_${r}`, `conversion_stats_${r}`]);
        for (const table of ['postbacks', 'conversions', 'attributed_conversions', ...rollupTables]) {
          await t.app.keyrev.warehouse.exec(`TRUNCATE TABLE ${table}`);
        }
        const clicks: ModelClick[] = [];
        const record = (c: ModelClick): string => {
          const q = new URLSearchParams({ kw: c.keyword, matchtype: c.matchType, utm_source: c.utmSource, sub1: c.sub1, cost: c.cost.toFixed(2) });
          const r: ClickRecord = { id: c.id, ts: c.ts, campaign: c.campaign, source: 'google', missed: 0, modelCost: '0', query: q.toString(), ip: '198.51.100.1', userAgent: 'Mozilla/5.0', referrer: '' };
          return `${JSON.stringify(r)}\n`;
        };
        const late: ModelClick[] = [];
        const postbacks: string[] = [];
        for (const g of generated) {
          const ts = start + g.offset;
          const c: ModelClick = { id: ids.next(ts).id.toString(), ts, campaign: g.campaign, keyword: g.keyword, matchType: g.matchType, utmSource: g.utmSource, sub1: g.sub1, cost: g.cost, conversions: [] };
          for (const conv of g.conversions) {
            const tx = `t${txid++}`;
            const amount = conv.cents / 100;
            for (const status of conv.path) {
              const url = `/postback?cid=${c.id}&txid=${tx}&status=${status}&payout=${amount.toFixed(2).replace('.', ',')}`;
              postbacks.push(url);
              if (conv.retries) postbacks.push(url);
            }
            if (conv.staleRetry && conv.path.length > 1) postbacks.push(`/postback?cid=${c.id}&txid=${tx}&status=lead&payout=1`);
            c.conversions.push({ status: conv.path[conv.path.length - 1]!, amount });
          }
          clicks.push(c);
          if (g.late) late.push(c);
          else await t.app.keyrev.clicks.spool.append(record(c));
        }
        await t.app.keyrev.clicks.flusher.drain();
        for (const url of postbacks) expect((await t.app.inject({ method: 'GET', url })).statusCode).toBe(200);
        await t.app.keyrev.postbacks.flusher.drain();
        for (const c of late) await t.app.keyrev.clicks.spool.append(record(c));
        await t.app.keyrev.clicks.flusher.drain();

        const cases: { tz: string; from: string; to: string; groupBy: (keyof ModelClick)[]; api: string }[] = [
          { tz: 'UTC', from: '2026-10-29', to: '2026-11-04', groupBy: ['keyword'], api: 'keyword' },
          { tz: 'Asia/Kolkata', from: '2026-10-30', to: '2026-11-02', groupBy: ['campaign', 'matchType'], api: 'campaign,matchType' },
          { tz: 'America/New_York', from: '2026-10-31', to: '2026-11-01', groupBy: ['utmSource'], api: 'utmSource' },
          { tz: 'Asia/Kathmandu', from: '2026-10-29', to: '2026-10-31', groupBy: ['sub1', 'keyword'], api: 'sub1,keyword' },
        ];
        for (const k of cases) {
          const want = expected(clicks, k.tz, k.from, k.to, k.groupBy);
          const res = await t.app.inject({ method: 'GET', url: `/api/report?from=${k.from}&to=${k.to}&tz=${k.tz}&groupBy=${k.api}&limit=1000`, headers: adminAuth });
          expect(res.statusCode, res.body).toBe(200);
          const body = res.json() as { rows: Record<string, number | string | null>[]; totals: Record<string, number>; source: string };
          expect(body.source).toBe(k.groupBy.includes('sub1') ? 'raw' : k.groupBy.includes('utmSource') ? 'rollup:utm' : k.tz === 'UTC' ? 'rollup:search_daily' : 'rollup:search');
          const got = new Map(body.rows.map((r) => [k.groupBy.map((g) => r[g]).join('\u0001'), r]));
          expect([...got.keys()].sort(), k.tz).toEqual([...want.keys()].sort());
          for (const [key, w] of want) {
            const r = got.get(key)!;
            for (const [field, value] of Object.entries(w)) expect(r[field], `${k.tz} ${key} ${field}`).toBe(value);
            const conversions = (w.leads as number) + (w.sales as number);
            expect(r.conversions).toBe(conversions);
            expect(r.cr).toBeCloseTo(conversions / (w.clicks as number), 9);
            if ((w.cost as number) > 0) expect(r.roi).toBeCloseTo(((w.revenue as number) - (w.cost as number)) / (w.cost as number), 9);
            else expect(r.roi).toBeNull();
          }
          const sum = (f: string) => Math.round([...want.values()].reduce((a, w) => a + (w[f] as number), 0) * 100) / 100;
          expect([body.totals.clicks, body.totals.revenue, body.totals.sales]).toEqual([sum('clicks'), sum('revenue'), sum('sales')]);
        }
        // A day series across the DST change: New York's 2026-11-01 has 25 hours.
        const series = await t.app.inject({ method: 'GET', url: '/api/timeseries?from=2026-10-30&to=2026-11-02&tz=America/New_York&interval=day', headers: adminAuth });
        const perDay = new Map<string, number>();
        for (const c of clicks) {
          const d = localDay(c.ts, 'America/New_York');
          if (d >= '2026-10-30' && d <= '2026-11-02') perDay.set(d, (perDay.get(d) ?? 0) + 1);
        }
        const days = (series.json() as { rows: { time: string; clicks: number }[] }).rows.map((r) => [r.time, r.clicks]);
        expect(days).toEqual([...perDay].sort());
      }),
      { numRuns: 4 },
    );
  }, 240_000);
});
