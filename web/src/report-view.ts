import { ApiError, api, apiKey, download } from './api.js';
import { barChart } from './chart.js';
import { metricColumns, type Report } from './report-types.js';

const byId = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

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

const percent = new Set(['roi', 'cr']);
const money = new Set(['revenue', 'cost', 'profit', 'epc']);

function formatCell(column: string, value: string | number | null | undefined): string {
  if (value === null || value === undefined) return '–';
  if (typeof value === 'string') return value === '' ? '(none)' : value;
  if (percent.has(column)) return `${(value * 100).toFixed(1)} %`;
  if (money.has(column)) return value.toFixed(2);
  return value.toLocaleString('en');
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
      download(a.getAttribute('href')!).catch((err: unknown) => {
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
  const query = reportQuery(form);
  const groupBy = query.get('groupBy')!;
  for (const a of document.querySelectorAll<HTMLAnchorElement>('.exports a')) {
    a.href = `/api/export?${new URLSearchParams({ ...Object.fromEntries(query), format: a.dataset.format!, report: a.dataset.report! })}`;
  }
  notice.hidden = true;
  if (!apiKey()) {
    notice.textContent = 'Enter an API key to see reports.';
    notice.hidden = false;
    return;
  }
  try {
    const report = await api<Report>(`/api/report?${query}`);
    const columns = [groupBy, ...metricColumns.filter((m) => m in (report.rows[0] ?? report.totals))];
    table.replaceChildren();
    const head = table.createTHead().insertRow();
    for (const c of columns) head.insertCell().outerHTML = `<th scope="col">${c}</th>`;
    const body = table.createTBody();
    for (const row of report.rows) {
      const tr = body.insertRow();
      for (const c of columns) tr.insertCell().textContent = formatCell(c, row[c]);
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
