import { z } from 'zod';
import { fail } from '../core/errors.js';
import { importedCostSql } from '../warehouse/cost-store.js';
import type { QueryParams } from '../warehouse/warehouse.js';
import { dimensionNames, dimensions, rollups, type Dimension } from './dimensions.js';
import { baseSums, conversionSumSql, metricNames, metrics, type BaseSum, type Metric } from './report-metrics.js';
import { rangeBoundsSql, rangeParams, timeRangeFields } from './time-range.js';

const list = (text: string) => text.split(',').map((s) => s.trim()).filter(Boolean);

/** The query of /api/report, /api/timeseries and grouped exports; filters come as `filter[dimension]=value`. */
export const reportQuery = z
  .looseObject({
    ...timeRangeFields,
    groupBy: z
      .string()
      .max(300)
      .default('')
      .transform(list)
      .refine((dims) => dims.every((d) => (dimensionNames as string[]).includes(d)), `must be dimensions among ${dimensionNames.join(', ')}`)
      .refine((dims) => dims.length <= 5 && new Set(dims).size === dims.length, 'at most 5 different dimensions'),
    sort: z.string().max(200).default('-revenue'),
    limit: z.coerce.number().int().min(1).max(10_000).default(100),
    offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
    /** click: conversions count on the day of their click (as trackers do); conversion: on their own day. */
    basis: z.enum(['click', 'conversion']).default('click'),
    interval: z.enum(['hour', 'day']).default('day'),
  })
  .transform((q, ctx) => {
    const filters: Partial<Record<Dimension, string[]>> = {};
    for (const [key, value] of Object.entries(q)) {
      if (key in reportKeys) continue;
      const m = /^filter\[([A-Za-z0-9]+)\]$/.exec(key);
      if (!m || !(dimensionNames as string[]).includes(m[1]!)) {
        ctx.addIssue({ code: 'custom', path: [key], message: m ? `not a dimension; use one of ${dimensionNames.join(', ')}` : 'unknown parameter' });
        return z.NEVER;
      }
      const values = (Array.isArray(value) ? value : [value]).map(String);
      if (values.length > 100 || values.some((v) => v.length > 512)) {
        ctx.addIssue({ code: 'custom', path: [key], message: 'at most 100 values of 512 characters' });
        return z.NEVER;
      }
      filters[m[1] as Dimension] = values;
    }
    return { from: q.from, to: q.to, tz: q.tz, groupBy: q.groupBy as Dimension[], sort: q.sort, limit: q.limit, offset: q.offset, basis: q.basis, interval: q.interval, filters };
  });

const reportKeys = { from: 1, to: 1, tz: 1, groupBy: 1, sort: 1, limit: 1, offset: 1, basis: 1, interval: 1, format: 1, report: 1 };

export type ReportQuery = z.output<typeof reportQuery>;

interface Source {
  name: string;
  /** The range bounds in the type of the source's time columns, so the bounds are compared as they are stored. */
  bound: (instant: string) => string;
  clickTable: string;
  clickTime: string;
  convTable: string;
  convTime: Record<ReportQuery['basis'], string>;
  sums: Record<BaseSum, string>;
}

const clickSums = new Set<BaseSum>(['clicks', 'uniqueClicks', 'botClicks', 'cost']);
const moneySums = new Set<BaseSum>(['cost', 'revenue', 'pendingRevenue']);

const raw: Source = {
  name: 'raw',
  bound: (instant) => instant,
  clickTable: 'clicks',
  clickTime: 'ts',
  convTable: 'attributed_conversions',
  convTime: { click: 'clicked_at', conversion: 'converted_at' },
  sums: {
    clicks: 'count()',
    uniqueClicks: 'sum(is_unique)',
    botClicks: 'sum(is_bot)',
    cost: 'sum(cost)',
    // The same functions the rollup views sum (schema/007_status_sums.sql).
    leads: `sum(${conversionSumSql('leads')})`,
    sales: `sum(${conversionSumSql('sales')})`,
    rebills: `sum(${conversionSumSql('rebills')})`,
    rejected: `sum(${conversionSumSql('rejected')})`,
    chargebacks: `sum(${conversionSumSql('chargebacks')})`,
    revenue: `sum(${conversionSumSql('revenue')})`,
    pendingRevenue: `sum(${conversionSumSql('pendingRevenue')})`,
  },
};

const rollupSource = (name: string, grain: (typeof rollups)[number]['grain']): Source => ({
  name: `rollup:${name}`,
  bound: (instant) => (grain === 'utcDay' ? `toDate(${instant}, 'UTC')` : `toDateTime(${instant}, 'UTC')`),
  clickTable: `click_stats_${name}`,
  clickTime: 'bucket',
  convTable: `conversion_stats_${name}`,
  convTime: { click: 'click_bucket', conversion: 'conv_bucket' },
  sums: {
    clicks: 'sum(clicks)',
    uniqueClicks: 'sum(unique_clicks)',
    botClicks: 'sum(bot_clicks)',
    cost: 'sum(cost)',
    leads: 'sum(leads)',
    sales: 'sum(sales)',
    rebills: 'sum(rebills)',
    rejected: 'sum(rejected)',
    chargebacks: 'sum(chargebacks)',
    revenue: 'sum(revenue)',
    pendingRevenue: 'sum(pending_revenue)',
  },
});

/**
 * Imported ad spend (POST /api/costs) replaces the click costs of its campaigns and days: rows
 * from the raw clicks and the uploaded rows that correct the `cost` sum of any source
 * (warehouse/cost-store.ts says how the spend is spread). Campaigns and days without imported
 * spend keep their clicks' own cost (the link's `cost=` or the campaign's cost model).
 */
const importedCost: Pick<Source, 'sums' | 'bound'> = { bound: raw.bound, sums: { ...raw.sums, cost: 'sum(cost_delta)' } };
const clickColumns = [...new Set(Object.values(dimensions))];

/** A range that starts or ends inside a rollup's bucket is read from the raw tables. */
const onQuarterHour = (t: string) => t.length === 10 || /[T ]\d{2}:(?:00|15|30|45)(?::00(?:\.0+)?)?$/.test(t);
const onDay = (t: string) => t.length === 10 || /[T ]00:00(?::00(?:\.0+)?)?$/.test(t);
const utcZones = new Set(['UTC', 'Etc/UTC', 'Etc/UCT', 'UCT', 'GMT', 'Etc/GMT', 'Etc/GMT0', 'Etc/GMT+0', 'Etc/GMT-0', 'GMT0', 'Etc/Universal', 'Universal', 'Etc/Zulu', 'Zulu', 'Etc/Greenwich', 'Greenwich']);

function pickSource(q: ReportQuery, time: ReportQuery['interval'] | undefined): Source {
  const used = new Set<Dimension>([...q.groupBy, ...(Object.keys(q.filters) as Dimension[])]);
  const fits = (grain: (typeof rollups)[number]['grain']) =>
    grain === 'utcDay'
      ? utcZones.has(q.tz) && time !== 'hour' && onDay(q.from) && onDay(q.to)
      : onQuarterHour(q.from) && onQuarterHour(q.to);
  const fit = rollups.find((r) => fits(r.grain) && [...used].every((d) => r.dimensions.includes(d)));
  return fit ? rollupSource(fit.name, fit.grain) : raw;
}

export interface BuiltQuery {
  sql: string;
  params: QueryParams;
  source: string;
  /** Output columns in order: dimensions (and `time`), then metrics. */
  columns: { dimensions: string[]; metrics: Metric[] };
}

/**
 * Builds the one report query every number comes from: the click sums and the conversion sums
 * of the chosen source, each grouped by the dimensions, stacked (UNION ALL) and summed, then the
 * metrics of analytics/report-metrics.ts over the sums. Identifiers come from allowlists only; every
 * value is a query parameter.
 */
export function buildReportQuery(
  q: ReportQuery,
  opts: { time?: ReportQuery['interval']; totals?: boolean; noPaging?: boolean; rawTables?: boolean; importedCost?: boolean } = {},
): BuiltQuery {
  // rawTables: the same numbers from the raw tables, for checking rollups against them.
  // importedCost: imported ad spend is in force (hasImportedCost), so the cost correction is added.
  const source = opts.rawTables ? raw : pickSource(q, opts.time);
  const dims = opts.totals ? [] : q.groupBy;
  const params: Record<string, string | number | string[]> = { ...rangeParams(q), limit: q.limit, offset: q.offset };

  const filterSql = filterConditions(q.filters, params);
  const timeExpr = (column: string) =>
    opts.time === 'hour'
      ? `formatDateTime(toStartOfHour(${column}, {tz:String}), '%Y-%m-%dT%H:00', {tz:String})`
      : `formatDateTime(toStartOfDay(${column}, {tz:String}), '%Y-%m-%d', {tz:String})`;

  const part = (table: string, time: string, own: (s: BaseSum) => boolean, reader: Pick<Source, 'sums' | 'bound'> = source) => {
    const selects = [
      ...(opts.time && !opts.totals ? [`${timeExpr(time)} AS d_time`] : []),
      ...dims.map((d) => `${dimensions[d]} AS d_${d}`),
      ...baseSums.map((s) => {
        const value = own(s) ? reader.sums[s] : '0';
        return moneySums.has(s) ? `toDecimal128(${value}, 6) AS p_${s}` : `toInt64(${value}) AS p_${s}`;
      }),
    ];
    const groupKeys = [...(opts.time && !opts.totals ? ['d_time'] : []), ...dims.map((d) => `d_${d}`)];
    return `SELECT ${selects.join(', ')} FROM ${table}
        WHERE ${time} >= ${reader.bound(rangeBoundsSql.from)} AND ${time} < ${reader.bound(rangeBoundsSql.to)}${filterSql}
        ${groupKeys.length > 0 ? `GROUP BY ${groupKeys.join(', ')}` : ''}`;
  };

  const outDims = [...(opts.time && !opts.totals ? ['time'] : []), ...dims];
  const metricSql = metricNames.map((m) => `${metrics[m].sql} AS ${m}`);
  const sums = baseSums.map((s) => `sum(p_${s}) AS b_${s}`);
  const order = opts.totals ? [] : orderBy(q.sort, outDims, Boolean(opts.time));
  const sql = `SELECT ${[...outDims.map((d) => `d_${d} AS ${d}`), ...sums, ...metricSql].join(', ')}
    FROM (
        ${part(source.clickTable, source.clickTime, (s) => clickSums.has(s))}
        UNION ALL
        ${part(source.convTable, source.convTime[q.basis], (s) => !clickSums.has(s))}
        ${opts.importedCost ? `UNION ALL ${part(`(${importedCostSql(clickColumns, rangeBoundsSql.from, rangeBoundsSql.to)})`, 'ts', (s) => s === 'cost', importedCost)}` : ''}
    )
    ${outDims.length > 0 ? `GROUP BY ${outDims.map((d) => `d_${d}`).join(', ')}` : ''}
    ${order.length > 0 ? `ORDER BY ${order.join(', ')}` : ''}
    ${opts.totals || opts.noPaging ? '' : 'LIMIT {limit:UInt32} OFFSET {offset:UInt32}'}`;
  return { sql, params, source: source.name, columns: { dimensions: outDims, metrics: metricNames } };
}

/**
 * ` AND column IN {fN:Array(String)}` for each `filter[dimension]`, the values added to `params`:
 * columns from the dimension allowlist, values as query parameters only.
 */
export function filterConditions(filters: ReportQuery['filters'], params: Record<string, string | number | string[]>): string {
  return Object.entries(filters)
    .map(([dim, values], i) => {
      params[`f${i}`] = values;
      return ` AND ${dimensions[dim as Dimension]} IN {f${i}:Array(String)}`;
    })
    .join('');
}

/** `-revenue,keyword`: metrics or grouped dimensions, `-` for descending; ties broken by the dimensions. */
function orderBy(sort: string, outDims: string[], timeFirst: boolean): string[] {
  const keys = list(sort).map((k) => {
    const desc = k.startsWith('-');
    const name = desc ? k.slice(1) : k;
    if (!(metricNames as string[]).includes(name) && !outDims.includes(name)) {
      fail('KR_BAD_REQUEST', `querystring.sort: ${name} is neither a metric nor a grouped dimension`);
    }
    return `${name} ${desc ? 'DESC' : 'ASC'} NULLS LAST`;
  });
  const ties = outDims.map((d) => `${d} ASC`);
  return timeFirst ? ['time ASC', ...keys, ...ties.filter((t) => t !== 'time ASC')] : [...keys, ...ties];
}

/** A result row as JSON: dimensions as text, counts and money as numbers, undefined ratios as null. */
export function toReportRow(row: Record<string, unknown>, columns: BuiltQuery['columns']): Record<string, string | number | null> {
  const out: Record<string, string | number | null> = {};
  for (const d of columns.dimensions) out[d] = String(row[d] ?? '');
  for (const m of columns.metrics) out[m] = row[m] === null || row[m] === undefined ? null : Number(row[m]);
  return out;
}
