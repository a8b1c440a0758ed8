/**
 * Attribution and report benchmarks (issue: attributing 1,000 conversions with 10M clicks stored
 * takes at most 1.5x the time with 100k stored; top 100 keywords by revenue over 30 days, 10M
 * clicks and 200k conversions: median <= 50 ms and <= 1/10 of the raw tables; export of 10M
 * attribution rows as CSV and Parquet >= 500k rows/s with RSS growth < 100 MB).
 *
 *   npx tsx bench/attribution.ts [clicks=10000000]
 *
 * Data is generated inside ClickHouse (INSERT ... SELECT FROM numbers()), through the real tables
 * and materialized views; postbacks go in as the spool's flusher inserts them.
 */
import { buildReportQuery, reportQuery } from '../analytics/report-query.js';
import { exportQuery, streamExport } from '../analytics/export.js';
import { clickIdEpochMs } from '../core/click-id.js';
import { migrate } from '../schema/migrate.js';
import { tempDir } from '../test/helpers/temp.js';
import { EmbeddedWarehouse } from '../warehouse/embedded.js';
import { percentile, report } from './lib.js';

const totalClicks = Number(process.argv[2] ?? 10_000_000);
const smallClicks = 100_000;
const conversions = 200_000;
const days = 30;
const now = Date.UTC(2026, 10, 1);
const startMs = now - days * 86_400_000;
const stepMs = (days * 86_400_000) / totalClicks;

const wh = await EmbeddedWarehouse.open(tempDir('keyrev-attr-bench-'));
await migrate(wh);

/** Clicks n0..n1 of the month: search-like data, 5,000 keywords each in its ad group and campaign. */
async function addClicks(n0: number, n1: number): Promise<void> {
  for (let from = n0; from < n1; from += 1_000_000) {
    const to = Math.min(n1, from + 1_000_000);
    await wh.exec(
      `INSERT INTO clicks (click_id, ts, campaign_id, traffic_source, keyword, match_type, ad, adgroup, country, device_type, cost, is_unique, user_agent, ip)
       SELECT bitShiftLeft(toUInt64(ms - {epoch:UInt64}), 22) + (n % 4096) AS click_id, fromUnixTimestamp64Milli(toInt64(ms)) AS ts,
              concat('c', toString(kw % 20)), 'google', concat('keyword ', toString(kw)), ['e', 'p', 'b'][kw % 3 + 1],
              toString(kw * 3 + n % 3), toString(kw), ['US', 'DE', 'GB', 'FR'][n % 4 + 1], ['desktop', 'mobile', 'tablet'][n % 3 + 1],
              0.25, n % 5 != 0, 'Mozilla/5.0', toIPv6('::ffff:198.51.100.1')
       FROM (SELECT number AS n, {start:UInt64} + toUInt64(number * {step:Float64}) AS ms, cityHash64(number) % 5000 AS kw FROM numbers({from:UInt64}, {count:UInt64}))`,
      { epoch: clickIdEpochMs, start: startMs, step: stepMs, from, count: to - from },
    );
  }
}

/**
 * Postbacks, as the flusher inserts them (JSONEachRow), for clicks picked among the `window`
 * latest of the first `stored` clicks: sales follow clicks within hours or days, so a batch's
 * clicks are recent ones whatever the table's size. (Clicks spread evenly over the whole table
 * make every batch read most of its granules; that cost grows with the table, see the README.)
 */
let postbackSeq = 0;
function postbackBatch(rows: number, stored: number, window = Math.min(stored, 100_000)): Buffer {
  const lines: string[] = [];
  for (let i = 0; i < rows; i++) {
    const n = stored - 1 - Math.floor(Math.random() * window);
    const ms = startMs + Math.floor(n * stepMs);
    const clickId = (BigInt(ms - clickIdEpochMs) << 22n) + BigInt(n % 4096);
    const id = ++postbackSeq;
    lines.push(JSON.stringify({ postback_id: String(id), received_at: now, click_id: clickId.toString(), txid: `b${id}`, status: 'sale', amount: '12.5', currency: 'USD', outcome: 'new', revenue: '12.5', conv_status: 'sale', conv_amount: '12.5', conv_currency: 'USD', conv_revenue: '12.5', converted_at: now, prev_version: '0' }));
  }
  return Buffer.from(`${lines.join('\n')}\n`);
}

async function timeAttribution(stored: number, window?: number, runs = 7): Promise<number> {
  const times: number[] = [];
  for (let r = 0; r < runs; r++) {
    const batch = postbackBatch(1_000, stored, window);
    const t0 = performance.now();
    await wh.insertRaw('postbacks', batch, 'JSONEachRow');
    times.push(performance.now() - t0);
  }
  return percentile(times.sort((a, b) => a - b), 50);
}

async function count(table: string): Promise<number> {
  return Number((await wh.query<{ c: string }>(`SELECT count() AS c FROM ${table}`))[0]!.c);
}

// 1. Attribution cost with 100k clicks, then with the full table.
await addClicks(0, smallClicks);
const attrSmall = await timeAttribution(smallClicks);
await addClicks(smallClicks, totalClicks);
const attrLarge = await timeAttribution(totalClicks);
const attrSpread = await timeAttribution(totalClicks, totalClicks, 3);
const attributed = await count('attributed_conversions');

// 2. Keyword ranking, 200k conversions in all.
for (let done = await count('conversions'); done < conversions; done += 50_000) await wh.insertRaw('postbacks', postbackBatch(50_000, totalClicks, totalClicks), 'JSONEachRow');
// Background merges would have summed the rollup parts by the time anyone asks; do it now.
await wh.exec('OPTIMIZE TABLE click_stats_search_daily FINAL');
await wh.exec('OPTIMIZE TABLE conversion_stats_search_daily FINAL');
const q = reportQuery.parse({ from: '2026-10-02', to: '2026-10-31', groupBy: 'keyword', sort: '-revenue', limit: '100' });
const rollup = buildReportQuery(q);
const rawQ = buildReportQuery(q, { rawTables: true });
async function median(sql: string, params: Parameters<typeof wh.query>[1], runs = 15): Promise<{ ms: number; rows: unknown[] }> {
  let rows: unknown[] = [];
  const times: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    rows = await wh.query(sql, params);
    times.push(performance.now() - t0);
  }
  return { ms: percentile(times.sort((a, b) => a - b), 50), rows };
}
const fromRollup = await median(rollup.sql, rollup.params);
const fromRaw = await median(rawQ.sql, rawQ.params, 5);
if (JSON.stringify(fromRollup.rows) !== JSON.stringify(fromRaw.rows)) throw new Error('rollup and raw tables disagree');

// 3. Export of as many attribution rows as clicks.
const have = await count('attributed_conversions');
await wh.exec(
  `INSERT INTO attributed_conversions (click_id, conversion_type, txid, network, status, amount, currency, revenue, converted_at, sign, version, clicked_at, campaign_id, traffic_source, keyword, ad, country, device_type)
   SELECT number + 1, '', concat('x', toString(number)), 'net', 'sale', 12.5, 'USD', 12.5, toDateTime64({now:UInt64} / 1000, 3), 1, number + 1,
          toDateTime64(({start:UInt64} + number * 250) / 1000, 3), concat('c', toString(number % 20)), 'google', concat('keyword ', toString(number % 5000)), toString(number % 15000), 'US', 'desktop'
   FROM numbers({n:UInt64})`,
  { now, start: startMs, n: Math.max(0, totalClicks - have) },
);
const exportRows = await count('attributed_conversions');
async function timeExport(format: 'csv' | 'parquet') {
  const eq = exportQuery.parse({ from: '2026-09-01', to: '2026-11-30', format, report: 'attribution' });
  const rss0 = process.memoryUsage().rss;
  let peak = rss0;
  let bytes = 0;
  // Sampled all along: the embedded engine writes the file in this process before it streams.
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  const t0 = performance.now();
  for await (const chunk of streamExport(wh, eq, new AbortController().signal)) bytes += chunk.length;
  const seconds = (performance.now() - t0) / 1000;
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage().rss);
  return { rowsPerSec: exportRows / seconds, mb: bytes / 1024 / 1024, rssGrowthMb: (peak - rss0) / 1024 / 1024 };
}
const csv = await timeExport('csv');
const parquet = await timeExport('parquet');
await wh.close();

const r3 = (x: number) => Number(x.toFixed(3));
report('attribution', [
  { what: `attribute 1,000 conversions, ${smallClicks} clicks stored (median ms)`, value: r3(attrSmall), target: '' },
  { what: `attribute 1,000 conversions, ${totalClicks} clicks stored (median ms)`, value: r3(attrLarge), target: '' },
  { what: 'attribution cost ratio large / small', value: r3(attrLarge / attrSmall), target: '<= 1.5' },
  { what: `same, clicks picked over the whole month of ${totalClicks} (median ms)`, value: r3(attrSpread), target: '' },
  { what: `attributed conversions after the timing batches (expected ${17 * 1000})`, value: attributed, target: '' },
  { what: `top 100 keywords by revenue, 30 days, rollup (median ms, ${rollup.source})`, value: r3(fromRollup.ms), target: '<= 50' },
  { what: 'same answer from the raw tables (median ms)', value: r3(fromRaw.ms), target: '' },
  { what: 'rollup / raw time', value: r3(fromRollup.ms / fromRaw.ms), target: '<= 0.1' },
  { what: `export ${exportRows} attribution rows as CSV (rows/s)`, value: Math.round(csv.rowsPerSec), target: '>= 500000' },
  { what: 'CSV export: MB written, RSS growth MB', value: `${Math.round(csv.mb)}, ${Math.round(csv.rssGrowthMb)}`, target: 'growth < 100' },
  { what: `export ${exportRows} attribution rows as Parquet (rows/s)`, value: Math.round(parquet.rowsPerSec), target: '>= 500000' },
  { what: 'Parquet export: MB written, RSS growth MB', value: `${Math.round(parquet.mb)}, ${Math.round(parquet.rssGrowthMb)}`, target: 'growth < 100' },
]);
process.exit(0);
