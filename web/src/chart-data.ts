/** What the ranking's bar chart draws, prepared without a DOM (unit-tested). */
import type { MetricKind } from './format.js';

export interface Bar {
  label: string;
  value: number;
}

/** Bars shown at most: the top of the ranking, the table has the rest. */
export const maxBars = 20;

/**
 * The metric the bars show: the one the table is sorted by when it is an amount (a count or
 * money), else revenue; ratios of small rows (100 % CR on one click) would only mislead as bars.
 */
export function chartMetric(sort: string, metrics: readonly { name: string; kind: MetricKind }[]): string {
  const name = sort.replace(/^-/, '');
  const m = metrics.find((x) => x.name === name);
  return m && m.kind !== 'ratio' ? m.name : 'revenue';
}

/** The top rows as bars, in table order; a missing or null value is a zero-length bar. */
export function barData(rows: readonly Record<string, string | number | null>[], label: (row: Record<string, string | number | null>) => string, metric: string): Bar[] {
  return rows.slice(0, maxBars).map((r) => ({ label: label(r), value: Number(r[metric] ?? 0) || 0 }));
}

/** The value axis: always includes 0, extends below it for losses, and is never empty. */
export function valueDomain(bars: readonly Bar[]): [number, number] {
  const lo = Math.min(0, ...bars.map((b) => b.value));
  const hi = Math.max(0, ...bars.map((b) => b.value));
  return lo === hi ? [0, 1] : [lo, hi];
}

/** Hours for a range of up to two days, else days: a day of hours shows when the clicks came. */
export function seriesInterval(from: string, to: string): 'hour' | 'day' {
  const days = (Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000 + 1;
  return days <= 2 ? 'hour' : 'day';
}

/**
 * Every bucket of the range, as /api/timeseries names them (`YYYY-MM-DD`, or `YYYY-MM-DDTHH:00`
 * in the report's zone), so that a day or hour without clicks is a zero, not a straight line over it.
 */
export function seriesBuckets(from: string, to: string, interval: 'hour' | 'day'): string[] {
  const out: string[] = [];
  for (let t = Date.parse(`${from}T00:00:00Z`), end = Date.parse(`${to}T00:00:00Z`); t <= end && out.length < 400 * 24; t += 86_400_000) {
    const day = new Date(t).toISOString().slice(0, 10);
    if (interval === 'day') out.push(day);
    else for (let h = 0; h < 24; h++) out.push(`${day}T${String(h).padStart(2, '0')}:00`);
  }
  return out;
}

/** The metric per bucket of the range, from the time series rows (buckets without a row are 0). */
export function seriesData(rows: readonly Record<string, string | number | null>[], metric: string, buckets: readonly string[]): Bar[] {
  const byTime = new Map(rows.map((r) => [String(r.time), Number(r[metric] ?? 0) || 0]));
  return buckets.map((b) => ({ label: b, value: byTime.get(b) ?? 0 }));
}
