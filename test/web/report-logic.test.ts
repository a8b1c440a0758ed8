import { describe, expect, it } from 'vitest';
import { barData, chartMetric, seriesBuckets, seriesData, seriesInterval, valueDomain } from '../../web/src/chart-data.js';
import { addDays, dayIn, isDay, presetRange, timeZones } from '../../web/src/dates.js';
import { formatDelta, formatDimension, formatMetric } from '../../web/src/format.js';
import { apiQuery, backTo, drillInto, nextDimension, previousRange, rangeProblem, readState, toggleSort, writeState, type Known } from '../../web/src/view-state.js';

describe('formatting', () => {
  it('shows money with two decimals and separators, never a negative zero', () => {
    expect(formatMetric('money', 1234.5)).toBe('1,234.50');
    expect(formatMetric('money', -12.345)).toBe('-12.35');
    expect(formatMetric('money', -0.001)).toBe('0.00');
    expect(formatMetric('money', 0)).toBe('0.00');
  });
  it('shows ratios as percentages with one decimal, and a dash where there is nothing to divide by', () => {
    expect(formatMetric('ratio', 0.5)).toBe('50.0 %');
    expect(formatMetric('ratio', 1)).toBe('100.0 %');
    expect(formatMetric('ratio', -0.25)).toBe('-25.0 %');
    expect(formatMetric('ratio', 12.3456)).toBe('1,234.6 %');
    expect(formatMetric('ratio', null)).toBe('–');
    expect(formatMetric('money', undefined)).toBe('–');
  });
  it('shows counts with thousands separators', () => {
    expect(formatMetric('count', 2004)).toBe('2,004');
    expect(formatMetric('count', 0)).toBe('0');
  });
  it('names an empty dimension value', () => {
    expect(formatDimension('')).toBe('(none)');
    expect(formatDimension('trail shoes')).toBe('trail shoes');
  });
});

describe('date presets in the chosen zone', () => {
  // 2026-12-02T14:04Z: in Auckland (UTC+13) already 3 December, in Honolulu (UTC-10) still 2 December.
  const now = new Date('2026-12-02T14:04:00Z');
  it("puts today where the zone's calendar is", () => {
    expect(dayIn('Pacific/Auckland', now)).toBe('2026-12-03');
    expect(dayIn('Asia/Kolkata', now)).toBe('2026-12-02');
    expect(dayIn('Pacific/Honolulu', new Date('2026-12-03T05:00:00Z'))).toBe('2026-12-02');
    expect(presetRange('today', 'Pacific/Auckland', now)).toEqual({ from: '2026-12-03', to: '2026-12-03' });
    expect(presetRange('today', 'UTC', now)).toEqual({ from: '2026-12-02', to: '2026-12-02' });
  });
  it('computes the other presets as whole days, across month and year ends', () => {
    expect(presetRange('yesterday', 'Pacific/Auckland', now)).toEqual({ from: '2026-12-02', to: '2026-12-02' });
    expect(presetRange('last7', 'Asia/Kolkata', now)).toEqual({ from: '2026-11-26', to: '2026-12-02' });
    expect(presetRange('last30', 'UTC', now)).toEqual({ from: '2026-11-03', to: '2026-12-02' });
    expect(presetRange('thisMonth', 'UTC', now)).toEqual({ from: '2026-12-01', to: '2026-12-02' });
    expect(presetRange('lastMonth', 'UTC', now)).toEqual({ from: '2026-11-01', to: '2026-11-30' });
    expect(presetRange('lastMonth', 'UTC', new Date('2027-01-15T00:00:00Z'))).toEqual({ from: '2026-12-01', to: '2026-12-31' });
    expect(addDays('2028-03-01', -1)).toBe('2028-02-29');
  });
  it('checks days and lists zones with UTC first and the browser zone included', () => {
    expect([isDay('2026-02-28'), isDay('2026-02-30'), isDay('2026-2-3'), isDay(null)]).toEqual([true, false, false, false]);
    const zones = timeZones('Asia/Calcutta');
    expect(zones[0]).toBe('UTC');
    expect(zones).toContain('Asia/Calcutta');
    expect(zones).toContain('Pacific/Auckland');
  });
});

describe('view state in the URL', () => {
  const known: Known = { tz: 'Europe/Berlin', groupBy: 'keyword', now: new Date('2026-12-02T14:04:00Z'), dimensions: ['campaign', 'keyword', 'ad', 'matchType', 'device'], metrics: ['clicks', 'revenue', 'cr'] };

  it('defaults to the last 7 days in the browser zone, by keyword, by revenue', () => {
    expect(readState('', known)).toEqual({ preset: 'last7', from: '2026-11-26', to: '2026-12-02', tz: 'Europe/Berlin', groupBy: 'keyword', drill: [], sort: '-revenue', page: 0 });
  });

  it('round-trips a view, keeping the drill path in order', () => {
    const view = { preset: 'custom' as const, from: '2026-11-01', to: '2026-11-30', tz: 'Asia/Kolkata', groupBy: 'ad', drill: [{ dim: 'campaign', value: 'k3x9q2m7ab' }, { dim: 'keyword', value: 'trail & road shoes' }], sort: 'clicks', page: 2 };
    const search = writeState(view);
    expect(search).toBe('preset=custom&from=2026-11-01&to=2026-11-30&tz=Asia%2FKolkata&groupBy=ad&filter%5Bcampaign%5D=k3x9q2m7ab&filter%5Bkeyword%5D=trail+%26+road+shoes&sort=clicks&page=3');
    expect(readState(search, known)).toEqual(view);
  });

  it('recomputes a preset when opened, and drops what it cannot use', () => {
    expect(readState('preset=today&tz=Pacific/Auckland&from=2020-01-01&to=2020-01-02', known)).toMatchObject({ preset: 'today', from: '2026-12-03', to: '2026-12-03' });
    expect(readState('tz=Mars/Olympus&groupBy=nope&sort=-bogus&page=-1&filter[nope]=x', known)).toEqual(readState('', known));
    expect(readState('groupBy=ad&sort=keyword', known).sort).toBe('-revenue');
  });

  it('keeps the chosen columns in the API order, all of them by default', () => {
    const view = readState('columns=revenue,bogus,clicks', known);
    expect(view.columns).toEqual(['clicks', 'revenue']);
    expect(writeState(view)).toContain('&columns=clicks%2Crevenue');
    expect(readState('columns=clicks,revenue,cr', known).columns).toBeUndefined();
  });

  it('asks the API for one row more than a page, and exports without paging', () => {
    const view = { ...readState('', known), page: 1, drill: [{ dim: 'keyword', value: 'x' }] };
    expect(apiQuery(view).toString()).toBe('from=2026-11-26&to=2026-12-02&tz=Europe%2FBerlin&groupBy=keyword&filter%5Bkeyword%5D=x&sort=-revenue&limit=51&offset=50');
    expect(apiQuery(view, false).has('limit')).toBe(false);
  });

  it('refuses a range that ends before it starts', () => {
    expect(rangeProblem({ from: '2026-12-02', to: '2026-12-01' })).toBe('The start date (2026-12-02) is after the end date (2026-12-01).');
    expect(rangeProblem({ from: '2026-12-01', to: '2026-12-01' })).toBeUndefined();
  });

  it('sorts metrics largest first and dimensions A to Z, a second click reversing', () => {
    expect(toggleSort('-revenue', 'clicks', true)).toBe('-clicks');
    expect(toggleSort('-clicks', 'clicks', true)).toBe('clicks');
    expect(toggleSort('clicks', 'clicks', true)).toBe('-clicks');
    expect(toggleSort('-revenue', 'keyword', false)).toBe('keyword');
  });

  it('drills from keyword to ad and back, never regrouping by a drilled dimension', () => {
    const dims = known.dimensions;
    const start = { ...readState('', known), sort: 'keyword', page: 3 };
    expect(nextDimension(start, dims)).toBe('ad');
    const ads = drillInto(start, 'trail shoes', 'ad');
    expect(ads).toMatchObject({ groupBy: 'ad', drill: [{ dim: 'keyword', value: 'trail shoes' }], sort: '-revenue', page: 0 });
    expect(nextDimension(ads, dims)).toBe('campaign');
    expect(nextDimension({ groupBy: 'ad', drill: [{ dim: 'keyword', value: 'x' }, { dim: 'campaign', value: 'y' }, { dim: 'matchType', value: 'z' }] }, dims)).toBe('device');
    expect(backTo(ads, 0)).toMatchObject({ groupBy: 'keyword', drill: [], page: 0 });
  });
});

describe('chart data', () => {
  const metrics = [
    { name: 'clicks', kind: 'count' as const },
    { name: 'revenue', kind: 'money' as const },
    { name: 'cr', kind: 'ratio' as const },
  ];
  it('charts the sorted metric when it is an amount, else revenue', () => {
    expect(chartMetric('-clicks', metrics)).toBe('clicks');
    expect(chartMetric('cr', metrics)).toBe('revenue');
    expect(chartMetric('keyword', metrics)).toBe('revenue');
  });
  it('takes the top rows in order, nulls as zero, and an axis that holds losses', () => {
    const rows = Array.from({ length: 30 }, (_, i) => ({ keyword: `k${i}`, profit: i === 1 ? null : 10 - i }));
    const bars = barData(rows, (r) => String(r.keyword), 'profit');
    expect(bars).toHaveLength(20);
    expect(bars.slice(0, 3)).toEqual([
      { label: 'k0', value: 10 },
      { label: 'k1', value: 0 },
      { label: 'k2', value: 8 },
    ]);
    expect(valueDomain(bars)).toEqual([-9, 10]);
    expect(valueDomain([])).toEqual([0, 1]);
    expect(valueDomain([{ label: 'a', value: 0 }])).toEqual([0, 1]);
  });
});

describe('time series data', () => {
  it('uses hours for a day or two and days beyond', () => {
    expect(seriesInterval('2026-12-02', '2026-12-02')).toBe('hour');
    expect(seriesInterval('2026-12-01', '2026-12-02')).toBe('hour');
    expect(seriesInterval('2026-11-26', '2026-12-02')).toBe('day');
  });
  it('fills every bucket of the range, zero where the API has no row', () => {
    expect(seriesBuckets('2026-11-30', '2026-12-02', 'day')).toEqual(['2026-11-30', '2026-12-01', '2026-12-02']);
    const hours = seriesBuckets('2026-12-02', '2026-12-02', 'hour');
    expect([hours.length, hours[0], hours[23]]).toEqual([24, '2026-12-02T00:00', '2026-12-02T23:00']);
    const rows = [
      { time: '2026-12-01', revenue: 25 },
      { time: '2026-12-02', revenue: null },
    ];
    expect(seriesData(rows, 'revenue', seriesBuckets('2026-11-30', '2026-12-02', 'day')).map((p) => p.value)).toEqual([0, 25, 0]);
  });
});

describe('comparison with the previous period', () => {
  it('takes the range just before, as long', () => {
    expect(previousRange({ from: '2026-11-26', to: '2026-12-02' })).toEqual({ from: '2026-11-19', to: '2026-11-25' });
    expect(previousRange({ from: '2026-12-02', to: '2026-12-02' })).toEqual({ from: '2026-12-01', to: '2026-12-01' });
    expect(previousRange({ from: '2026-03-01', to: '2026-03-31' })).toEqual({ from: '2026-01-29', to: '2026-02-28' });
  });
  it('shows relative changes of amounts and percentage points of ratios', () => {
    expect(formatDelta('money', 55, 44)).toBe('+25.0 %');
    expect(formatDelta('count', 5, 10)).toBe('-50.0 %');
    expect(formatDelta('money', -10, -20)).toBe('+50.0 %');
    expect(formatDelta('count', 3, 0)).toBe('new');
    expect(formatDelta('count', 0, 0)).toBe('±0 %');
    expect(formatDelta('ratio', 0.25, -0.5)).toBe('+75.0 pp');
    expect(formatDelta('ratio', 0.5, null)).toBe('–');
  });
});
