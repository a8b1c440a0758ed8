import { ApiError, api, apiKey, download } from './api.js';
import { barChart } from './chart.js';
import type { MetricMeta, Report, ReportMeta } from './report-types.js';

const byId = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

/** The grouping selected first, when the API offers it: search ads are bought by keyword. */
const defaultGroupBy = 'keyword';

/**
 * The API's dimensions and metrics (GET /api/report/meta), the dashboard's only list of them.
 * Fetched once, with the first key that may read reports: they change only with a new keyrev.
 */
let meta: ReportMeta | undefined;

async function reportMeta(): Promise<ReportMeta> {
  if (!meta) {
    const loaded = await api<ReportMeta>('/api/report/meta');
    const select = byId<HTMLFormElement>('report-form').elements.namedItem('groupBy') as HTMLSelectElement;
    select.replaceChildren(...loaded.dimensions.map((d) => new Option(d.label, d.name)));
    select.value = loaded.dimensions.some((d) => d.name === defaultGroupBy) ? defaultGroupBy : (loaded.dimensions[0]?.name ?? '');
    meta = loaded;
  }
  return meta;
}

function isoDay(d: Date): string {
  return d.toISOString().slice(0, 10);
}

/** The report form's query: the same for the table, the chart and the export links. */
function reportQuery(form: HTMLFormElement): URLSearchParams {
  const f = new FormData(form);
  return new URLSearchParams({
    from: String(f.get('from')),
    to: String(f.get('to')),
    tz: String(f.get('tz')),
    groupBy: String(f.get('groupBy')),
    sort: '-revenue',
    limit: '100',
  });
}

/** A cell by the kind of its column: the API says which metrics are money and which are ratios. */
function formatCell(kind: MetricMeta['kind'] | 'dimension', value: string | number | null | undefined): string {
  if (value === null || value === undefined) return '–';
  if (typeof value === 'string') return value === '' ? '(none)' : value;
  if (kind === 'ratio') return `${(value * 100).toFixed(1)} %`;
  if (kind === 'money') return value.toFixed(2);
  return value.toLocaleString('en');
}

function headerCell(row: HTMLTableRowElement, column: string, label: string, help?: string): void {
  const th = document.createElement('th');
  th.scope = 'col';
  th.dataset.column = column;
  th.textContent = label;
  if (help) th.title = help;
  row.append(th);
}

export function setUpReport(): void {
  const form = byId<HTMLFormElement>('report-form');
  const today = new Date();
  (form.elements.namedItem('from') as HTMLInputElement).value = isoDay(new Date(today.getTime() - 6 * 86_400_000));
  (form.elements.namedItem('to') as HTMLInputElement).value = isoDay(today);
  (form.elements.namedItem('tz') as HTMLInputElement).value = Intl.DateTimeFormat().resolvedOptions().timeZone;
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    void loadReport();
  });
  for (const a of document.querySelectorAll<HTMLAnchorElement>('.exports a')) {
    a.addEventListener('click', (e) => {
      e.preventDefault();
      // No href until a report was asked for with a key (the group-by list comes from the API).
      const href = a.getAttribute('href');
      if (!href) return;
      download(href).catch((err: unknown) => {
        const notice = byId<HTMLParagraphElement>('report-notice');
        notice.textContent = `Export failed: ${(err as Error).message}`;
        notice.hidden = false;
      });
    });
  }
}

export async function loadReport(): Promise<void> {
  const form = byId<HTMLFormElement>('report-form');
  const notice = byId<HTMLParagraphElement>('report-notice');
  const table = byId<HTMLTableElement>('report-table');
  const chart = byId<HTMLDivElement>('report-chart');
  notice.hidden = true;
  if (!apiKey()) {
    notice.textContent = 'Enter an API key to see reports.';
    notice.hidden = false;
    return;
  }
  try {
    const { dimensions, metrics } = await reportMeta();
    const query = reportQuery(form);
    const groupBy = query.get('groupBy')!;
    const groupLabel = dimensions.find((d) => d.name === groupBy)?.label ?? groupBy;
    for (const a of document.querySelectorAll<HTMLAnchorElement>('.exports a')) {
      a.href = `/api/export?${new URLSearchParams({ ...Object.fromEntries(query), format: a.dataset.format!, report: a.dataset.report! })}`;
    }
    byId('report-title').textContent = `Revenue by ${groupLabel}`;
    const report = await api<Report>(`/api/report?${query}`);
    const shown = metrics.filter((m) => m.name in (report.rows[0] ?? report.totals));
    table.replaceChildren();
    const head = table.createTHead().insertRow();
    headerCell(head, groupBy, groupLabel);
    for (const m of shown) headerCell(head, m.name, m.label, m.help);
    const body = table.createTBody();
    for (const row of report.rows) {
      const tr = body.insertRow();
      tr.insertCell().textContent = formatCell('dimension', row[groupBy]);
      for (const m of shown) tr.insertCell().textContent = formatCell(m.kind, row[m.name]);
    }
    barChart(
      chart,
      report.rows.slice(0, 20).map((r) => ({ label: String(r[groupBy] ?? ''), value: Number(r.revenue) })),
    );
    if (report.rows.length === 0) {
      notice.textContent = 'No clicks in this range yet.';
      notice.hidden = false;
    }
  } catch (err) {
    table.replaceChildren();
    chart.replaceChildren();
    notice.textContent =
      err instanceof ApiError && err.status === 403 ? 'This key may not read reports.' : `Report failed: ${(err as Error).message}`;
    notice.hidden = false;
  }
}
