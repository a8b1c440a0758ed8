/**
 * How report numbers read: pure functions (no DOM), so unit tests can import them. A value the
 * API answers as null (a ratio with nothing to divide by: no clicks, no cost) is a dash, never 0.
 */
export type MetricKind = 'count' | 'money' | 'ratio';

const counts = new Intl.NumberFormat('en', { maximumFractionDigits: 0 });
const money = new Intl.NumberFormat('en', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const percent = new Intl.NumberFormat('en', { minimumFractionDigits: 1, maximumFractionDigits: 1 });

export const noValue = '–';

/** A metric cell: counts with thousands separators, money with two decimals, ratios as a percentage. */
export function formatMetric(kind: MetricKind, value: number | string | null | undefined): string {
  if (value === null || value === undefined || value === '') return noValue;
  const n = Number(value);
  if (!Number.isFinite(n)) return noValue;
  // -0.004 rounds to "-0.00": a loss too small to show is no loss.
  const clean = (s: string) => (/^-[0.,\s%]+$/.test(s) ? s.slice(1) : s);
  if (kind === 'ratio') return `${clean(percent.format(n * 100))} %`;
  if (kind === 'money') return clean(money.format(n));
  return counts.format(n);
}

/** A dimension's value as a label: the API answers an empty string where a click had none. */
export function formatDimension(value: string | number | null | undefined): string {
  if (value === null || value === undefined || value === '') return '(none)';
  return String(value);
}

/**
 * The change from the previous period: relative for counts and money (+12.5 %), in percentage
 * points for ratios (a ROI from -50 % to 25 % is +75.0 pp, where a relative change means nothing).
 * "new" where there was nothing before; a dash where either side is undefined.
 */
export function formatDelta(kind: MetricKind, current: number | null | undefined, previous: number | null | undefined): string {
  if (current === null || current === undefined || previous === null || previous === undefined) return noValue;
  const sign = (n: number) => (n > 0 ? '+' : '');
  if (kind === 'ratio') {
    const pp = Math.round((current - previous) * 1000) / 10;
    return pp === 0 ? '±0 pp' : `${sign(pp)}${percent.format(pp)} pp`;
  }
  if (previous === 0) return current === 0 ? '±0 %' : 'new';
  const change = Math.round(((current - previous) / Math.abs(previous)) * 1000) / 10;
  return change === 0 ? '±0 %' : `${sign(change)}${percent.format(change)} %`;
}
