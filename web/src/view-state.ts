/**
 * The report view as data, and its round trip through the page's query string (pure, no DOM): a
 * bookmarked or shared URL opens the same view, and back/forward walk through views. Names in the
 * URL are the API's own (`groupBy`, `sort`, `filter[dimension]`), so a view's URL reads like the
 * /api/report call it makes.
 */
import { addDays, isDay, isPreset, isTimeZone, presetRange, type Preset } from './dates.js';

/** A drill-down step: the rows were grouped by `dim` and the one whose value is `value` was opened. */
export interface Step {
  dim: string;
  value: string;
}

export interface ViewState {
  /** A preset range is computed again when the view is opened: a bookmarked "Today" stays today. */
  preset: Preset;
  from: string;
  to: string;
  tz: string;
  groupBy: string;
  /** The drill path, sent as filters: each step narrows the report to one row of the step before. */
  drill: Step[];
  /** The API's sort: a metric or the grouped dimension, `-` first for descending. */
  sort: string;
  /** 0-based page of `pageSize` rows (1-based in the URL, as people count). */
  page: number;
  /** The metric columns shown, in the API's order; undefined: all of them. */
  columns?: string[];
}

export const pageSize = 50;
export const defaultSort = '-revenue';
export const defaultPreset: Preset = 'last7';

/** What the page reads the URL against: its defaults and the API's dimensions and metrics. */
export interface Known {
  tz: string;
  groupBy: string;
  now: Date;
  dimensions: readonly string[];
  metrics: readonly string[];
}

const filterParam = /^filter\[([A-Za-z0-9]+)\]$/;

/** The view a query string names; whatever is missing or unusable falls back to the defaults. */
export function readState(search: string, known: Known): ViewState {
  const q = new URLSearchParams(search);
  const tz = isTimeZone(q.get('tz')) ? q.get('tz')! : known.tz;
  const groupBy = known.dimensions.includes(q.get('groupBy') ?? '') ? q.get('groupBy')! : known.groupBy;
  const drill: Step[] = [];
  for (const [key, value] of q) {
    const dim = filterParam.exec(key)?.[1];
    if (dim && known.dimensions.includes(dim) && !drill.some((s) => s.dim === dim)) drill.push({ dim, value });
  }
  const from = q.get('from');
  const to = q.get('to');
  const asked = q.get('preset');
  // Dates without a preset are a custom range; a preset without usable dates is the default one.
  const preset: Preset = isPreset(asked) && asked !== 'custom' ? asked : isDay(from) && isDay(to) ? 'custom' : defaultPreset;
  const range = preset === 'custom' ? { from: from!, to: to! } : presetRange(preset, tz, known.now);
  const sort = q.get('sort') ?? defaultSort;
  const page = Number(q.get('page'));
  const columns = known.metrics.filter((m) => (q.get('columns') ?? '').split(',').includes(m));
  return {
    preset,
    ...range,
    tz,
    groupBy,
    drill,
    sort: isSortable(sort, groupBy, known.metrics) ? sort : defaultSort,
    page: Number.isInteger(page) && page >= 1 && page <= 10_000 ? page - 1 : 0,
    ...(columns.length > 0 && columns.length < known.metrics.length ? { columns } : {}),
  };
}

/** The query string of a view: only what a reader needs to open it again. */
export function writeState(s: ViewState): string {
  const q = new URLSearchParams();
  q.set('preset', s.preset);
  if (s.preset === 'custom') {
    q.set('from', s.from);
    q.set('to', s.to);
  }
  q.set('tz', s.tz);
  q.set('groupBy', s.groupBy);
  for (const step of s.drill) q.append(`filter[${step.dim}]`, step.value);
  if (s.sort !== defaultSort) q.set('sort', s.sort);
  if (s.page > 0) q.set('page', String(s.page + 1));
  if (s.columns) q.set('columns', s.columns.join(','));
  return q.toString();
}

/**
 * The /api/report query of a view (also the export's, without paging). One row more than a page
 * is asked for: the API gives no row count, and that extra row says whether a next page exists.
 */
export function apiQuery(s: ViewState, paging = true): URLSearchParams {
  const q = new URLSearchParams({ from: s.from, to: s.to, tz: s.tz, groupBy: s.groupBy });
  for (const step of s.drill) q.append(`filter[${step.dim}]`, step.value);
  q.set('sort', s.sort);
  if (paging) {
    q.set('limit', String(pageSize + 1));
    q.set('offset', String(s.page * pageSize));
  }
  return q;
}

/** The /api/timeseries query of a view: its range and drill path, every bucket, no grouping. */
export function seriesQuery(s: ViewState, interval: 'hour' | 'day'): URLSearchParams {
  const q = new URLSearchParams({ from: s.from, to: s.to, tz: s.tz, interval, limit: '10000' });
  for (const step of s.drill) q.append(`filter[${step.dim}]`, step.value);
  return q;
}

/** The range just before a view's, as long as it: the week before a week, the day before today. */
export function previousRange(s: Pick<ViewState, 'from' | 'to'>): { from: string; to: string } {
  const days = Math.round((Date.parse(`${s.to}T00:00:00Z`) - Date.parse(`${s.from}T00:00:00Z`)) / 86_400_000) + 1;
  return { from: addDays(s.from, -days), to: addDays(s.from, -1) };
}

/** A range the API would read as empty: from after to. */
export function rangeProblem(s: Pick<ViewState, 'from' | 'to'>): string | undefined {
  if (!isDay(s.from) || !isDay(s.to)) return 'Choose a start and an end date.';
  if (s.from > s.to) return `The start date (${s.from}) is after the end date (${s.to}).`;
  return undefined;
}

export function isSortable(sort: string, groupBy: string, metrics: readonly string[]): boolean {
  const name = sort.startsWith('-') ? sort.slice(1) : sort;
  return name === groupBy || metrics.includes(name);
}

/** A click on a column header: metrics start descending (largest first), a dimension ascending (A to Z); a second click reverses. */
export function toggleSort(current: string, column: string, isMetric: boolean): string {
  if (current === `-${column}`) return column;
  if (current === column) return `-${column}`;
  return isMetric ? `-${column}` : column;
}

/**
 * The grouping a row opens into: a keyword into its ads, an ad into its keywords, a campaign into
 * its keywords; never a dimension already on the drill path.
 */
const drillTargets: Record<string, readonly string[]> = {
  keyword: ['ad', 'matchType', 'device'],
  ad: ['keyword'],
  campaign: ['keyword', 'ad'],
  source: ['campaign', 'keyword'],
  matchType: ['keyword'],
  adgroup: ['keyword', 'ad'],
  placement: ['keyword'],
  country: ['device', 'keyword'],
  device: ['keyword', 'country'],
};
const fallbackTargets = ['keyword', 'ad', 'campaign', 'source', 'country', 'device'];

export function nextDimension(s: Pick<ViewState, 'groupBy' | 'drill'>, dimensions: readonly string[]): string | undefined {
  const used = new Set([s.groupBy, ...s.drill.map((d) => d.dim)]);
  return [...(drillTargets[s.groupBy] ?? []), ...fallbackTargets].find((d) => !used.has(d) && dimensions.includes(d));
}

/** The view after opening a row: filtered by it, grouped by the next dimension, from the first page. */
export function drillInto(s: ViewState, value: string, next: string): ViewState {
  const sort = s.sort.replace(/^-/, '') === s.groupBy ? defaultSort : s.sort;
  return { ...s, drill: [...s.drill, { dim: s.groupBy, value }], groupBy: next, sort, page: 0 };
}

/** The view of breadcrumb `i`: the drill path cut before step i, grouped as it was there. */
export function backTo(s: ViewState, i: number): ViewState {
  const step = s.drill[i];
  if (!step) return s;
  const sort = s.sort.replace(/^-/, '') === s.groupBy ? defaultSort : s.sort;
  return { ...s, drill: s.drill.slice(0, i), groupBy: step.dim, sort, page: 0 };
}
