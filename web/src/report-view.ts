import { ApiError, api, apiKey, download } from './api.js';
import { barChart, seriesChart } from './chart.js';
import { barData, chartMetric, seriesBuckets, seriesData, seriesInterval } from './chart-data.js';
import { presetRange, presets, timeZones, type Preset } from './dates.js';
import { formatDelta, formatDimension, formatMetric } from './format.js';
import type { Report, ReportMeta } from './report-types.js';
import { apiQuery, backTo, defaultSort, drillInto, isSortable, nextDimension, pageSize, previousRange, rangeProblem, readState, seriesQuery, toggleSort, writeState, type ViewState } from './view-state.js';

const byId = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const field = <T extends HTMLInputElement | HTMLSelectElement>(name: string) => byId<HTMLFormElement>('report-form').elements.namedItem(name) as T;

/** What the time series can show: the amounts a media buyer follows over a day or a month. */
const seriesMetrics: string[] = ['clicks', 'conversions', 'revenue', 'cost', 'profit'];
/** The last time series shown, redrawn when another metric is chosen. */
let series: { view: ViewState; rows: Report['rows'] } | undefined;

/** The grouping selected first, when the API offers it: search ads are bought by keyword. */
const defaultGroupBy = 'keyword';
const browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone;

/**
 * The API's dimensions and metrics (GET /api/report/meta), the dashboard's only list of them.
 * Fetched once, with the first key that may read reports: they change only with a new keyrev.
 */
let meta: ReportMeta | undefined;
/** The view shown (or being loaded); undefined until the URL was read against the API's lists. */
let state: ViewState | undefined;
/** Each load's number: an answer that arrives after a newer load started is dropped. */
let loads = 0;
/** A load under way (a live refresh waits for it), and when the last one was shown. */
let busy = false;
let shownAt = 0;
/** Names for ids where the API groups by an id (campaigns); from the campaigns list when the key may read it. */
let nameOf: (dim: string, value: string) => string | undefined = () => undefined;

async function reportMeta(): Promise<ReportMeta> {
  if (!meta) {
    const loaded = await api<ReportMeta>('/api/report/meta');
    field<HTMLSelectElement>('groupBy').replaceChildren(...loaded.dimensions.map((d) => new Option(d.label, d.name)));
    byId('report-columns')
      .querySelector('fieldset')!
      .append(
        ...loaded.metrics.map((m) => {
          const label = Object.assign(document.createElement('label'), { title: m.help });
          label.append(Object.assign(document.createElement('input'), { type: 'checkbox', value: m.name, checked: true }), ` ${m.label}`);
          return label;
        }),
      );
    const series = byId<HTMLSelectElement>('series-metric');
    series.replaceChildren(...loaded.metrics.filter((m) => seriesMetrics.includes(m.name)).map((m) => new Option(m.label, m.name)));
    series.value = 'revenue';
    meta = loaded;
  }
  return meta;
}

function known(m: ReportMeta) {
  const dimensions: string[] = m.dimensions.map((d) => d.name);
  return {
    tz: browserZone,
    groupBy: dimensions.includes(defaultGroupBy) ? defaultGroupBy : (dimensions[0] ?? ''),
    now: new Date(),
    dimensions,
    metrics: m.metrics.map((x) => x.name),
  };
}

const dimensionLabel = (dim: string) => meta?.dimensions.find((d) => d.name === dim)?.label ?? dim;
/** A dimension value as people know it: a campaign by its name, an empty value as "(none)". */
const valueLabel = (dim: string, value: string) => nameOf(dim, value) ?? formatDimension(value);

function fillForm(s: ViewState): void {
  field<HTMLSelectElement>('preset').value = s.preset;
  field<HTMLInputElement>('from').value = s.from;
  field<HTMLInputElement>('to').value = s.to;
  const tz = field<HTMLSelectElement>('tz');
  // A zone from a shared URL that this browser lists under no name still shows as chosen.
  if (![...tz.options].some((o) => o.value === s.tz)) tz.add(new Option(s.tz, s.tz));
  tz.value = s.tz;
  field<HTMLSelectElement>('groupBy').value = s.groupBy;
  for (const box of byId('report-columns').querySelectorAll<HTMLInputElement>('input[type=checkbox]')) box.checked = !s.columns || s.columns.includes(box.value);
}

/**
 * The view the form describes. The drill path stays, but for a step on the dimension now grouped
 * by (grouping by campaign lists the campaigns); so does the sort, unless by a dimension no longer grouped.
 */
function formState(current: ViewState): ViewState {
  const groupBy = field<HTMLSelectElement>('groupBy').value;
  const sort = isSortable(current.sort, groupBy, meta?.metrics.map((m) => m.name) ?? []) ? current.sort : defaultSort;
  return {
    ...current,
    preset: field<HTMLSelectElement>('preset').value as Preset,
    from: field<HTMLInputElement>('from').value,
    to: field<HTMLInputElement>('to').value,
    tz: field<HTMLSelectElement>('tz').value,
    groupBy,
    drill: current.drill.filter((step) => step.dim !== groupBy),
    sort,
    page: 0,
  };
}

/** Shows a view and records it in the URL: a new history entry for a user's step, so that back returns. */
function go(next: ViewState): void {
  state = next;
  const search = `?${writeState(next)}`;
  if (search !== location.search) history.pushState(null, '', search);
  fillForm(next);
  void loadReport();
}

function notify(text: string | undefined): void {
  const notice = byId<HTMLParagraphElement>('report-notice');
  notice.textContent = text ?? '';
  notice.hidden = text === undefined;
}

function clearReport(): void {
  byId('report-table').replaceChildren();
  byId('report-chart').replaceChildren();
  byId('report-pager').hidden = true;
  byId('series').hidden = true;
}

/** The time series of the shown view, in the chosen metric; hidden when there is nothing to draw. */
function drawSeries(): void {
  const box = byId('series');
  const metric = meta?.metrics.find((m) => m.name === byId<HTMLSelectElement>('series-metric').value);
  box.hidden = !series || !metric;
  if (!series || !metric) return;
  const interval = seriesInterval(series.view.from, series.view.to);
  const title = `${metric.label} by ${interval}`;
  byId('series-title').textContent = title;
  const points = seriesData(series.rows, metric.name, seriesBuckets(series.view.from, series.view.to, interval));
  seriesChart(byId('series-chart'), points, title, (v) => formatMetric(metric.kind, v));
}

export function setUpReport(names: (dim: string, value: string) => string | undefined): void {
  nameOf = names;
  const form = byId<HTMLFormElement>('report-form');
  field<HTMLSelectElement>('preset').replaceChildren(...Object.entries(presets).map(([value, label]) => new Option(label, value)));
  field<HTMLSelectElement>('tz').replaceChildren(...timeZones(browserZone).map((z) => new Option(z === browserZone ? `${z} (this browser)` : z, z)));
  // Until a key reads the API's lists, the form shows the default range in the browser's zone.
  fillForm({ preset: 'last7', ...presetRange('last7', browserZone, new Date()), tz: browserZone, groupBy: '', drill: [], sort: defaultSort, page: 0 });

  const applyPreset = () => {
    const preset = field<HTMLSelectElement>('preset').value as Preset;
    if (preset === 'custom') return;
    const range = presetRange(preset, field<HTMLSelectElement>('tz').value, new Date());
    field<HTMLInputElement>('from').value = range.from;
    field<HTMLInputElement>('to').value = range.to;
  };
  const submit = () => {
    if (state) go(formState(state));
    else void loadReport();
  };
  // A preset, zone or grouping applies at once; typed dates wait for "Show" (two fields make one range).
  field('preset').addEventListener('change', () => {
    applyPreset();
    if (field<HTMLSelectElement>('preset').value !== 'custom') submit();
  });
  field('tz').addEventListener('change', () => {
    applyPreset();
    submit();
  });
  field('groupBy').addEventListener('change', submit);
  for (const name of ['from', 'to']) field(name).addEventListener('input', () => (field<HTMLSelectElement>('preset').value = 'custom'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    submit();
  });

  window.addEventListener('popstate', () => {
    if (!meta) return;
    state = readState(location.search, known(meta));
    fillForm(state);
    void loadReport();
  });

  byId('report-table').addEventListener('click', (e) => {
    if (!state || !meta) return;
    const target = e.target as HTMLElement;
    const sortButton = target.closest<HTMLButtonElement>('th button');
    if (sortButton) {
      const column = sortButton.parentElement!.dataset.column!;
      go({ ...state, sort: toggleSort(state.sort, column, column !== state.groupBy), page: 0 });
      return;
    }
    // A click that ends a text selection is not a request to open the row.
    if (!getSelection()?.isCollapsed) return;
    const row = target.closest<HTMLTableRowElement>('tbody tr[data-value]');
    const next = nextDimension(state, meta.dimensions.map((d) => d.name));
    if (row && next) go(drillInto(state, row.dataset.value!, next));
  });
  byId('series-metric').addEventListener('change', drawSeries);
  byId('report-columns').addEventListener('change', () => {
    if (!state || !meta) return;
    const checked = [...byId('report-columns').querySelectorAll<HTMLInputElement>('input:checked')].map((b) => b.value);
    // All, or none (a table of labels only says nothing): every column, the default.
    const { columns: _all, ...rest } = state;
    go(checked.length > 0 && checked.length < meta.metrics.length ? { ...rest, columns: checked } : rest);
  });
  // Enter on a focused row opens it, as a click does.
  byId('report-table').addEventListener('keydown', (e) => {
    const row = (e.target as HTMLElement).closest<HTMLTableRowElement>('tbody tr[data-value]');
    if (e.key === 'Enter' && row) row.click();
  });
  byId('report-path').addEventListener('click', (e) => {
    const crumb = (e.target as HTMLElement).closest<HTMLButtonElement>('button[data-step]');
    if (crumb && state) go(backTo(state, Number(crumb.dataset.step)));
  });
  byId('report-pager').addEventListener('click', (e) => {
    const button = (e.target as HTMLElement).closest<HTMLButtonElement>('button[data-page]');
    if (button && state) go({ ...state, page: Math.max(0, state.page + Number(button.dataset.page)) });
  });

  for (const a of document.querySelectorAll<HTMLAnchorElement>('.exports a')) {
    a.addEventListener('click', (e) => {
      e.preventDefault();
      // No href until a report was asked for with a key (the group-by list comes from the API).
      const href = a.getAttribute('href');
      if (!href) return;
      download(href).catch((err: unknown) => notify(`Export failed: ${(err as Error).message}`));
    });
  }
}

function problemText(err: unknown): string {
  if (err instanceof ApiError) {
    if (err.status === 401) return 'That key was not accepted.';
    if (err.status === 403) return 'This key may not read reports.';
    if (err.status === 400) return `The API refused this report: ${err.message}`;
    if (err.status === 0) return err.message;
    return `Report failed: ${err.message}`;
  }
  return `Report failed: ${(err as Error).message}`;
}

/**
 * Loads the report of the current view. `live`: a refresh of the same view (every 30 s): the
 * table is updated in place when its rows are the same ones, so scrolling, focus and a text
 * selection survive, and a failure leaves the numbers shown.
 */
export async function loadReport(opts: { live?: boolean } = {}): Promise<void> {
  const load = ++loads;
  busy = true;
  try {
    await loadView(load, Boolean(opts.live));
  } finally {
    if (load === loads) busy = false;
  }
}

async function loadView(load: number, live: boolean): Promise<void> {
  if (!live) notify(undefined);
  if (!apiKey()) {
    notify('Enter an API key to see reports.');
    return;
  }
  try {
    const m = await reportMeta();
    if (!state) {
      // First load: the URL (a bookmark, a shared link) names the view; its cleaned form replaces it.
      state = readState(location.search, known(m));
      history.replaceState(null, '', `?${writeState(state)}`);
      fillForm(state);
    }
    if (state.preset !== 'custom') {
      // A preset is relative to now: a page left open past midnight moves "Today" to the new day.
      const range = presetRange(state.preset, state.tz, new Date());
      if (range.from !== state.from || range.to !== state.to) {
        state = { ...state, ...range };
        fillForm(state);
      }
    }
    const view = state;
    const problem = rangeProblem(view);
    if (problem) {
      clearReport();
      notify(problem);
      return;
    }
    for (const a of document.querySelectorAll<HTMLAnchorElement>('.exports a')) {
      a.href = `/api/export?${new URLSearchParams({ ...Object.fromEntries(apiQuery(view, false)), format: a.dataset.format!, report: a.dataset.report! })}`;
    }
    // The time series is a second view of the same numbers: when it fails, the table still shows.
    // So are the previous period's totals (one row is the least the API answers; only its totals are read).
    const before = { ...view, ...previousRange(view), page: 0 };
    const [report, timeseries, previous] = await Promise.all([
      api<Report>(`/api/report?${apiQuery(view)}`),
      api<Report>(`/api/timeseries?${seriesQuery(view, seriesInterval(view.from, view.to))}`).catch(() => undefined),
      api<Report>(`/api/report?${new URLSearchParams({ ...Object.fromEntries(apiQuery(before)), limit: '1' })}`).then(
        (r) => ({ ...before, totals: r.totals }),
        () => undefined,
      ),
    ]);
    if (load !== loads) return;
    render(view, m, report, live, previous);
    series = timeseries && report.rows.length > 0 ? { view, rows: timeseries.rows } : undefined;
    drawSeries();
    shownAt = Date.now();
    byId('report-updated').textContent = `Updated ${new Date().toLocaleTimeString('en-GB')} · refreshes every 30 s while this tab is open`;
  } catch (err) {
    if (load !== loads || live) return;
    clearReport();
    notify(problemText(err));
  }
}

function render(view: ViewState, m: ReportMeta, report: Report, live: boolean, previous?: { from: string; to: string; totals: Report['totals'] }): void {
  const table = byId<HTMLTableElement>('report-table');
  const metric = chartMetric(view.sort, m.metrics);
  const metricLabel = m.metrics.find((x) => x.name === metric)?.label ?? metric;
  byId('report-title').textContent = `${metricLabel} by ${dimensionLabel(view.groupBy)}`;
  renderPath(view);

  const rows = report.rows.slice(0, pageSize);
  const hasNext = report.rows.length > pageSize;
  const pager = byId('report-pager');
  pager.hidden = view.page === 0 && !hasNext;
  pager.querySelector<HTMLButtonElement>('[data-page="-1"]')!.disabled = view.page === 0;
  pager.querySelector<HTMLButtonElement>('[data-page="1"]')!.disabled = !hasNext;
  byId('report-page').textContent = rows.length > 0 ? `Rows ${view.page * pageSize + 1}–${view.page * pageSize + rows.length}` : 'No more rows';

  if (rows.length === 0 && view.page === 0) {
    clearReport();
    const where = view.drill.map((s) => `${dimensionLabel(s.dim)} ${valueLabel(s.dim, s.value)}`).join(', ');
    notify(`No clicks from ${view.from} to ${view.to} (${view.tz})${where ? ` for ${where}` : ''}. Send a test click from "Tracking link", or choose a longer range.`);
    return;
  }
  notify(undefined);
  const shown = m.metrics.filter((x) => x.name in report.totals && (!view.columns || view.columns.includes(x.name)));
  const label = (r: Record<string, string | number | null>) => valueLabel(view.groupBy, String(r[view.groupBy] ?? ''));
  barChart(byId('report-chart'), barData(rows, label, metric), `${metricLabel} by ${dimensionLabel(view.groupBy)}, top rows`);

  const cells = (r: Record<string, string | number | null>) => shown.map((x) => formatMetric(x.kind, r[x.name]));
  const num = (v: string | number | null | undefined) => (typeof v === 'number' ? v : null);
  const deltas = previous ? shown.map((x) => formatDelta(x.kind, num(report.totals[x.name]), num(previous.totals[x.name]))) : [];
  const keyOf = (r: Record<string, string | number | null>) => String(r[view.groupBy] ?? '');
  const sameRows =
    live &&
    table.tBodies[0]?.rows.length === rows.length &&
    rows.every((r, i) => table.tBodies[0]!.rows[i]!.dataset.key === keyOf(r)) &&
    [...(table.tHead?.rows[0]?.cells ?? [])].map((c) => c.dataset.column).join() === [view.groupBy, ...shown.map((x) => x.name)].join();
  if (sameRows) {
    // Only the numbers change: the same elements stay, with what the user had selected in them.
    const update = (tr: HTMLTableRowElement, texts: string[]) =>
      texts.forEach((text, i) => {
        const cell = tr.cells[i + 1]!;
        if (cell.textContent !== text) cell.textContent = text;
      });
    rows.forEach((r, i) => update(table.tBodies[0]!.rows[i]!, cells(r)));
    update(table.tFoot!.rows[0]!, cells(report.totals));
    if (table.tFoot!.rows[1]) update(table.tFoot!.rows[1], deltas);
    return;
  }

  const next = nextDimension(view, m.dimensions.map((d) => d.name));
  table.replaceChildren();
  const head = table.createTHead().insertRow();
  const headerCell = (column: string, text: string, help?: string) => {
    const th = document.createElement('th');
    th.scope = 'col';
    th.dataset.column = column;
    if (help) th.title = help;
    const sorted = view.sort === column ? 'ascending' : view.sort === `-${column}` ? 'descending' : undefined;
    if (sorted) th.setAttribute('aria-sort', sorted);
    // A button, so sorting works from the keyboard; the arrow is drawn by CSS from aria-sort.
    const button = Object.assign(document.createElement('button'), { type: 'button', className: 'sort', textContent: text });
    th.append(button);
    head.append(th);
  };
  headerCell(view.groupBy, dimensionLabel(view.groupBy));
  for (const x of shown) headerCell(x.name, x.label, x.help);

  const body = table.createTBody();
  for (const r of rows) {
    const tr = body.insertRow();
    const value = keyOf(r);
    tr.dataset.key = value;
    const th = document.createElement('th');
    th.scope = 'row';
    th.textContent = label(r);
    if (nameOf(view.groupBy, value)) th.title = value;
    tr.append(th);
    if (next) {
      tr.dataset.value = value;
      tr.className = 'drill';
      tr.tabIndex = 0;
      tr.title = `Show the ${dimensionLabel(next)}s of ${label(r)}`;
    }
    for (const text of cells(r)) tr.insertCell().textContent = text;
  }
  const foot = table.createTFoot().insertRow();
  const total = document.createElement('th');
  total.scope = 'row';
  total.textContent = 'Total';
  foot.append(total);
  for (const text of cells(report.totals)) foot.insertCell().textContent = text;
  if (!previous) return;
  // The change against the period just before, as long; its own numbers as each cell's tooltip.
  const compare = table.tFoot!.insertRow();
  compare.className = 'compare';
  const days = Math.round((Date.parse(previous.to) - Date.parse(previous.from)) / 86_400_000) + 1;
  const period = document.createElement('th');
  period.scope = 'row';
  period.textContent = days === 1 ? 'vs day before' : `vs ${days} days before`;
  period.title = `${previous.from} to ${previous.to}`;
  compare.append(period);
  deltas.forEach((text, i) => {
    const cell = compare.insertCell();
    cell.textContent = text;
    cell.title = `${previous.from} to ${previous.to}: ${formatMetric(shown[i]!.kind, previous.totals[shown[i]!.name])}`;
  });
}

/** The breadcrumb of the drill path: each step goes back to the grouping it was taken from. */
function renderPath(view: ViewState): void {
  const nav = byId('report-path');
  nav.hidden = view.drill.length === 0;
  const crumb = (text: string, step: number) => {
    const button = Object.assign(document.createElement('button'), { type: 'button', textContent: text });
    button.dataset.step = String(step);
    return button;
  };
  nav.replaceChildren(
    ...view.drill.map((s, i) => crumb(i === 0 ? `All ${dimensionLabel(s.dim)}s` : `${dimensionLabel(view.drill[i - 1]!.dim)} ${valueLabel(view.drill[i - 1]!.dim, view.drill[i - 1]!.value)}`, i)),
    Object.assign(document.createElement('span'), {
      textContent: `${dimensionLabel(view.drill.at(-1)?.dim ?? '')} ${view.drill.length ? valueLabel(view.drill.at(-1)!.dim, view.drill.at(-1)!.value) : ''}`,
      ariaCurrent: 'page',
    }),
  );
}

/**
 * Refreshes the shown report every `everyMs` while the tab is visible (a hidden tab asks nothing),
 * and at once when it becomes visible again after missing a refresh.
 */
export function startLiveRefresh(everyMs: number): void {
  const refresh = () => {
    if (state && !busy && apiKey() && document.visibilityState === 'visible') void loadReport({ live: true });
  };
  setInterval(refresh, everyMs);
  document.addEventListener('visibilitychange', () => {
    if (Date.now() - shownAt >= everyMs) refresh();
  });
}
