import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClickIdGenerator } from '../../core/click-id.js';
import type { ClickRecord } from '../../ingest/clicks/click-record.js';
import { dimensionNames, rollups, type Dimension } from '../../analytics/dimensions.js';
import { buildReportQuery, reportQuery, toReportRow, type ReportQuery } from '../../analytics/report-query.js';
import { startApp, type TestApp } from '../helpers/app.js';

/**
 * Rollups are an optimisation: whatever a report asks, the rollup that serves it must give the
 * numbers the raw tables give (buildReportQuery's rawTables option). One small dataset goes in
 * through the real app (spool, enrichment, postbacks, attribution and rollup views); random
 * reports then compare both sources: groupings within a rollup's dimensions and beyond them,
 * filters, ranges on and off quarter hours and days, time zones with 30 and 45 minute offsets,
 * both time bases and time series. Conversions are stamped with the time of their postback, i.e.
 * now, so the dataset lies around now and the conversion basis sees them.
 */
const day = 24 * 3600_000;
const start = Math.floor(Date.now() / day) * day - day; // yesterday 00:00 UTC: three days, now in the middle one

/** A fixed sequence (not Math.random): the same dataset in every run. */
function sequence(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s / 2 ** 31;
  };
}

const pools = {
  campaign: ['c1', 'c2', 'c3'],
  source: ['google', 'bing'],
  keyword: ['running shoes', 'c++ books', 'trail'],
  matchType: ['e', 'p', 'b'],
  ad: ['4711', '4712'],
  adgroup: ['g1', 'g2'],
  placement: ['', 'news.example'],
  country: ['DE', 'US', ''],
  utmSource: ['google', 'newsletter'],
  utmCampaign: ['spring', 'fall'],
  sub1: ['x', 'y', ''],
} as const satisfies Partial<Record<Dimension, readonly string[]>>;
const userAgents = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
  'Googlebot/2.1 (+http://www.google.com/bot.html)',
];
// A rebill after its sale adds to the sale; a rebill on its own is a rebill conversion.
const statusPaths = [['lead'], ['sale'], ['lead', 'sale'], ['lead', 'rejected'], ['sale', 'chargeback'], ['sale', 'rebill'], ['rebill']] as const;

/** Minutes of the quarter hour clicks fall on: on a bucket edge, inside, and a hair before the next. */
const minuteOffsets = [0, 0, 7, 14.999, 15, 30, 44];

interface Dataset {
  clicks: string[];
  late: string[];
  postbacks: string[];
}

function dataset(): Dataset {
  const rnd = sequence(7);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const ids = new ClickIdGenerator(13);
  const out: Dataset = { clicks: [], late: [], postbacks: [] };
  let tx = 0;
  for (let i = 0; i < 90; i++) {
    const quarter = Math.floor(rnd() * 3 * 96);
    const ts = Math.round(start + quarter * 15 * 60_000 + pick(minuteOffsets) * 60_000);
    const id = ids.next(ts).id.toString();
    const q = new URLSearchParams({
      kw: pick(pools.keyword),
      matchtype: pick(pools.matchType),
      ad: pick(pools.ad),
      adgroup: pick(pools.adgroup),
      placement: pick(pools.placement),
      utm_source: pick(pools.utmSource),
      utm_campaign: pick(pools.utmCampaign),
      sub1: pick(pools.sub1),
      cost: (Math.floor(rnd() * 300) / 100).toFixed(2),
    });
    const record: ClickRecord = {
      id,
      ts,
      campaign: pick(pools.campaign),
      source: pick(pools.source),
      missed: 0,
      modelCost: '0',
      query: q.toString(),
      // Few addresses and agents, so some clicks are repeats (not unique) and some are bots.
      ip: `198.51.100.${1 + Math.floor(rnd() * 5)}`,
      userAgent: pick(userAgents),
      referrer: '',
      countryHint: pick(pools.country),
    };
    const line = `${JSON.stringify(record)}\n`;
    // Some clicks land after their postbacks: the late-click attribution view credits them.
    if (rnd() < 0.15) out.late.push(line);
    else out.clicks.push(line);
    const conversions = rnd() < 0.6 ? 1 + Math.floor(rnd() * 2) : 0;
    for (let c = 0; c < conversions; c++) {
      const txid = `t${tx++}`;
      const payout = (1 + Math.floor(rnd() * 9999) / 100).toFixed(2);
      for (const status of pick(statusPaths)) out.postbacks.push(`/postback?cid=${id}&txid=${txid}&status=${status}&payout=${payout}`);
    }
  }
  return out;
}

const utcZones = ['UTC', 'Etc/UTC'];
const otherZones = ['Europe/Berlin', 'America/New_York', 'Asia/Kolkata', 'Asia/Kathmandu', 'Australia/Lord_Howe', 'Pacific/Chatham'];
const pad = (n: number) => String(n).padStart(2, '0');
/** A local date or date-time in the report's zone, `minutes` after the first day's midnight. */
function localTime(minutes: number, kind: 'date' | 'quarterHour' | 'offGrid'): string {
  const t = new Date(start + minutes * 60_000);
  const date = `${t.getUTCFullYear()}-${pad(t.getUTCMonth() + 1)}-${pad(t.getUTCDate())}`;
  if (kind === 'date') return date;
  const time = `${pad(t.getUTCHours())}:${pad(t.getUTCMinutes())}`;
  return kind === 'quarterHour' ? `${date}T${time}` : `${date}T${time}:${pad(t.getUTCSeconds())}`;
}
type Bound = { kind: 'date' | 'quarterHour' | 'offGrid'; minutes: number; jitter: number };
const bound: fc.Arbitrary<Bound> = fc.record({
  kind: fc.constantFrom('date', 'date', 'quarterHour', 'offGrid'),
  minutes: fc.integer({ min: -12 * 60, max: 4 * 24 * 60 }),
  // offGrid: this many seconds past a quarter hour, never on the next one
  jitter: fc.integer({ min: 1, max: 15 * 60 - 1 }),
});
const boundText = (b: Bound) =>
  b.kind === 'date' ? localTime(b.minutes, 'date') : b.kind === 'quarterHour' ? localTime(Math.floor(b.minutes / 15) * 15, 'quarterHour') : localTime(Math.floor(b.minutes / 15) * 15 + b.jitter / 60, 'offGrid');

/** Dimensions from one rollup's list (so that rollup may serve the report) or from all of them. */
const dimensionPool = fc.oneof(...rollups.map((r) => fc.constant([...r.dimensions])), fc.constant([...dimensionNames]));
const valuesOf = (d: Dimension): readonly string[] =>
  d === 'device' ? ['desktop', 'mobile', 'bot'] : ((pools as Partial<Record<Dimension, readonly string[]>>)[d] ?? ['']);

const report = dimensionPool.chain((pool) =>
  fc.record({
    groupBy: fc.shuffledSubarray([...pool], { maxLength: 3 }),
    filters: fc.uniqueArray(
      fc.constantFrom(...pool).chain((d) => fc.tuple(fc.constant(d), fc.subarray([...valuesOf(d), 'absent'], { minLength: 1 }))),
      { maxLength: 2, selector: ([d]) => d },
    ),
    // from before to (an empty range says little)
    range: fc.tuple(bound, bound).map(([a, b]) => (a.minutes <= b.minutes ? [a, b] : [b, a])),
    // the daily rollup serves UTC only: UTC is drawn as often as all other zones together
    tz: fc.oneof(fc.constantFrom(...utcZones), fc.constantFrom(...otherZones)),
    basis: fc.constantFrom<ReportQuery['basis']>('click', 'conversion'),
    time: fc.constantFrom<ReportQuery['interval'] | undefined>(undefined, 'day', 'hour'),
  }),
);
type Report = typeof report extends fc.Arbitrary<infer R> ? R : never;

/** Reports each source serves, always run besides the random ones. */
const date = (minutes: number): Bound => ({ kind: 'date', minutes, jitter: 1 });
const examples: Report[] = [
  { groupBy: ['keyword', 'adgroup'], filters: [], range: [date(0), date(2 * 1440)], tz: 'UTC', basis: 'click', time: undefined },
  { groupBy: ['device', 'country'], filters: [['keyword', ['trail', 'c++ books']]], range: [{ kind: 'quarterHour', minutes: 615, jitter: 1 }, date(3 * 1440)], tz: 'Asia/Kathmandu', basis: 'click', time: 'hour' },
  { groupBy: ['utmCampaign'], filters: [['campaign', ['c1', 'c2']]], range: [date(-1440), date(3 * 1440)], tz: 'Australia/Lord_Howe', basis: 'conversion', time: 'day' },
  { groupBy: ['sub1', 'keyword'], filters: [], range: [{ kind: 'offGrid', minutes: 600, jitter: 61 }, date(2 * 1440)], tz: 'America/New_York', basis: 'click', time: undefined },
];

describe('rollup-served reports equal raw-table reports', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp({ KEYREV_FLUSH_INTERVAL_MS: '20' });
    const data = dataset();
    for (const line of data.clicks) await t.app.keyrev.clicks.spool.append(line);
    await t.app.keyrev.clicks.flusher.drain();
    for (const url of data.postbacks) expect((await t.app.inject({ method: 'GET', url })).statusCode).toBe(200);
    await t.app.keyrev.postbacks.flusher.drain();
    for (const line of data.late) await t.app.keyrev.clicks.spool.append(line);
    await t.app.keyrev.clicks.flusher.drain();
  });
  afterAll(async () => t.close());

  async function run(q: ReportQuery, opts: Parameters<typeof buildReportQuery>[1]) {
    const built = buildReportQuery(q, opts);
    const rows = await t.app.keyrev.warehouse.query<Record<string, unknown>>(built.sql, built.params);
    return { source: built.source, rows: rows.map((r) => toReportRow(r, built.columns)) };
  }

  it('holds every status and kind of click the comparison relies on', async () => {
    // Otherwise the comparison below could pass on sums that are all zero.
    const q = reportQuery.parse({ from: localTime(-24 * 60, 'date'), to: localTime(4 * 24 * 60, 'date'), basis: 'conversion' });
    const [totals] = (await run(q, { totals: true, rawTables: true })).rows;
    for (const m of ['clicks', 'uniqueClicks', 'botClicks', 'cost', 'leads', 'sales', 'rebills', 'rejected', 'chargebacks', 'revenue', 'pendingRevenue']) {
      expect(totals![m], m).toBeGreaterThan(0);
    }
  });

  it('for random groupings, filters, ranges, time zones and time bases', async () => {
    const served = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(report, async (r) => {
        const [from, to] = r.range.map(boundText);
        const q = reportQuery.parse({
          from,
          to,
          tz: r.tz,
          groupBy: r.groupBy.join(','),
          basis: r.basis,
          ...Object.fromEntries(r.filters.map(([d, values]) => [`filter[${d}]`, values])),
        });
        const time = r.time;
        const page = { noPaging: true, ...(time ? { time } : {}) };
        const [picked, raw, pickedTotals, rawTotals] = await Promise.all([
          run(q, page),
          run(q, { ...page, rawTables: true }),
          run(q, { totals: true }),
          run(q, { totals: true, rawTables: true }),
        ]);
        served.set(picked.source, (served.get(picked.source) ?? 0) + 1);
        const context = `${picked.source} ${JSON.stringify(q)} time=${time}`;
        expect(raw.source).toBe('raw');
        expect(picked.rows, context).toEqual(raw.rows);
        expect(pickedTotals.rows, context).toEqual(rawTotals.rows);
      }),
      { numRuns: 20, examples: examples.map((e) => [e]) },
    );
    // The comparison meant something: every rollup served some reports, and the raw tables others.
    expect([...served.keys()].sort()).toEqual(['raw', 'rollup:search', 'rollup:search_daily', 'rollup:utm']);
  }, 60_000);
});
