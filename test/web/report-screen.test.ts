import fs from 'node:fs';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dayIn } from '../../web/src/dates.js';
import { formatDimension, formatMetric } from '../../web/src/format.js';
import { adminAuth, adminKey, type TestApp } from '../helpers/app.js';
import { ensureChromium, launchChromium } from '../helpers/browser.js';
import { repoRoot } from '../helpers/process.js';
import { startServedDashboard } from './served-dashboard.js';

const missing = ensureChromium();
if (missing) console.log(`[report screen] browser tests skipped: ${missing}`);

type Row = Record<string, string | number | null>;
interface Meta {
  dimensions: { name: string; label: string }[];
  metrics: { name: string; label: string; kind: 'count' | 'money' | 'ratio' }[];
}

const poll = { timeout: 10_000 };

describe.skipIf(Boolean(missing))(`report screen in Chromium${missing ? ` (skipped: ${missing})` : ''}`, () => {
  let t: TestApp;
  let browser: Browser;
  let base: string;
  let meta: Meta;
  let campaignId: string;
  /** When the sold clicks came: the hour the time series must show their revenue in. */
  let soldAt: Date;
  const contexts: BrowserContext[] = [];
  /** Console errors and uncaught exceptions of every page of this file: none is allowed. */
  const errors: string[] = [];

  const apiReport = async (query: string) => (await t.app.inject({ method: 'GET', url: `/api/report?${query}`, headers: adminAuth })).json<{ rows: Row[]; totals: Row }>();

  /** A page with the admin key already entered, as after a first visit. */
  async function open(url: string, options: { timezoneId?: string; viewport?: { width: number; height: number } } = {}): Promise<Page> {
    const context = await browser.newContext({ viewport: options.viewport ?? { width: 1280, height: 900 }, ...(options.timezoneId ? { timezoneId: options.timezoneId } : {}) });
    contexts.push(context);
    await context.addInitScript((key) => localStorage.setItem('keyrev.apiKey', key), adminKey);
    const page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(`${page.url()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => errors.push(`${page.url()}: ${e.message}`));
    page.on('response', (r) => {
      if (r.status() >= 400) errors.push(`${r.status()} ${r.url()}`);
    });
    await page.goto(`${base}${url}`);
    return page;
  }

  /** The table as text: header columns, rows and the totals row. */
  const readTable = (page: Page) =>
    page.$eval('#report-table', (table: HTMLTableElement) => ({
      columns: [...(table.tHead?.rows[0]?.cells ?? [])].map((c) => c.dataset.column),
      labels: [...(table.tHead?.rows[0]?.cells ?? [])].map((c) => c.textContent),
      rows: [...(table.tBodies[0]?.rows ?? [])].map((r) => [...r.cells].map((c) => c.textContent)),
      totals: [...(table.tFoot?.rows[0]?.cells ?? [])].map((c) => c.textContent),
    }));

  /** What the table must show for an API answer: the API's numbers in the dashboard's formats. */
  const expected = (groupBy: string, report: { rows: Row[]; totals: Row }, label = (v: string) => formatDimension(v)) => ({
    columns: [groupBy, ...meta.metrics.map((m) => m.name)],
    rows: report.rows.map((r) => [label(String(r[groupBy])), ...meta.metrics.map((m) => formatMetric(m.kind, r[m.name]))]),
    totals: ['Total', ...meta.metrics.map((m) => formatMetric(m.kind, report.totals[m.name]))],
  });

  const query = (page: Page) => new URL(page.url()).searchParams;

  beforeAll(async () => {
    ({ t, base } = await startServedDashboard());
    meta = (await t.app.inject({ method: 'GET', url: '/api/report/meta', headers: adminAuth })).json<Meta>();
    campaignId = (
      await t.app.inject({ method: 'POST', url: '/api/campaigns', headers: adminAuth, payload: { name: 'Search shoes', offerUrl: 'https://shop.example/?subid={clickid}' } })
    ).json<{ id: string }>().id;
    // 60 keywords (more than a page of 50): two with ads and sales, the rest a click each.
    const click = async (query: string) => (await t.app.inject({ method: 'GET', url: `/c/${campaignId}?${query}` })).headers['x-keyrev-click-id'] as string;
    soldAt = new Date();
    const sold = [await click('kw=trail+shoes&ad=1'), await click('kw=road+shoes&ad=3')];
    await click('kw=trail+shoes&ad=1');
    await click('kw=trail+shoes&ad=2');
    await click('kw=road+shoes&ad=3');
    for (let i = 0; i < 58; i++) await click(`kw=k${String(i).padStart(2, '0')}&ad=${i}`);
    await t.app.keyrev.clicks.flusher.drain();
    expect((await t.app.inject({ method: 'GET', url: `/postback?cid=${sold[0]}&payout=40&txid=T1` })).body).toBe('OK');
    expect((await t.app.inject({ method: 'GET', url: `/postback?cid=${sold[1]}&payout=15&txid=T2` })).body).toBe('OK');
    await t.app.keyrev.postbacks.flusher.drain();
    browser = await launchChromium();
  }, 900_000);

  afterAll(async () => {
    for (const c of contexts) await c.close();
    await browser?.close();
    await t?.close();
  });

  it("shows the API's top rows and totals under the API's metric labels, a page at a time, and refuses a reversed range", async () => {
    const page = await open('/');
    await expect.poll(() => page.textContent('#report-title'), poll).toBe('Revenue by keyword');
    // The page writes its view to the URL once it has drawn it.
    await expect.poll(() => query(page).get('tz'), poll).toBeTruthy();
    const zone = query(page).get('tz')!;
    const day = dayIn(zone, new Date());
    const api = await apiReport(`from=${await page.inputValue('[name=from]')}&to=${day}&tz=${encodeURIComponent(zone)}&groupBy=keyword&sort=-revenue&limit=50`);
    await expect.poll(async () => (await readTable(page)).rows.length, poll).toBe(50);
    const table = await readTable(page);
    expect(table).toEqual({ ...expected('keyword', api), labels: ['keyword', ...meta.metrics.map((m) => m.label)] });
    expect(table.rows.slice(0, 2).map((r) => r[0])).toEqual(['trail shoes', 'road shoes']);
    expect(table.totals[table.columns.indexOf('clicks')]).toBe('63');
    expect(table.totals[table.columns.indexOf('revenue')]).toBe('55.00');
    // Leads, pending revenue, rejections and bot clicks are columns of their own.
    expect(table.columns).toEqual(expect.arrayContaining(['leads', 'pendingRevenue', 'rejected', 'botClicks']));
    // Against the 7 days before, which had no clicks: every amount is new, ratios had nothing to compare with.
    // The comparison and the time series come from requests of their own, after the table.
    const compare = async () => {
      const cells = await page.$$eval('#report-table tfoot tr.compare > *', (all) => all.map((c) => c.textContent));
      return [cells[0], cells[table.columns.indexOf('clicks')], cells[table.columns.indexOf('revenue')], cells[table.columns.indexOf('cr')]];
    };
    await expect.poll(compare, poll).toEqual(['vs 7 days before', 'new', 'new', '–']);
    // The time series: a bucket a day of the range, today's with the API's numbers, another metric on request.
    const series = () => page.$$eval('#series-chart rect.hover title', (titles) => titles.map((t) => t.textContent));
    await expect.poll(async () => (await series()).length, poll).toBe(7);
    expect((await series()).at(-1)).toBe(`${day}: 55.00`);
    await page.selectOption('#series-metric', 'clicks');
    await expect.poll(() => page.textContent('#series-title'), poll).toBe('Clicks by day');
    await expect.poll(async () => (await series()).at(-1), poll).toBe(`${day}: 63`);
    expect(await page.$$('#series-chart path.line')).toHaveLength(1);

    await page.click('#report-pager [data-page="1"]');
    await expect.poll(() => query(page).get('page'), poll).toBe('2');
    await expect.poll(async () => (await readTable(page)).rows.length, poll).toBe(10);
    const second = await apiReport(`from=${await page.inputValue('[name=from]')}&to=${day}&tz=${encodeURIComponent(zone)}&groupBy=keyword&sort=-revenue&limit=50&offset=50`);
    expect((await readTable(page)).rows).toEqual(expected('keyword', second).rows);
    expect(await page.textContent('#report-page')).toBe('Rows 51–60');
    expect(await page.isDisabled('#report-pager [data-page="1"]')).toBe(true);

    // A range that ends before it starts is refused here, saying so (not "no clicks").
    await page.fill('[name=from]', '2026-12-10');
    await page.fill('[name=to]', '2026-12-01');
    await page.click('#report-form button[type=submit]');
    await expect.poll(() => page.textContent('#report-notice'), poll).toBe('The start date (2026-12-10) is after the end date (2026-12-01).');
    expect(await page.$$('#report-table tr')).toHaveLength(0);
    expect(query(page).get('preset')).toBe('custom');
  });

  it('sorts by a column, keeps the view on reload and goes back with the browser', async () => {
    const page = await open('/?preset=today&groupBy=keyword');
    await expect.poll(async () => (await readTable(page)).rows.length, poll).toBe(50);
    const range = `from=${await page.inputValue('[name=from]')}&to=${await page.inputValue('[name=to]')}&tz=${encodeURIComponent(query(page).get('tz')!)}&groupBy=keyword`;

    await page.click('#report-table th[data-column=clicks] button');
    await expect.poll(() => query(page).get('sort'), poll).toBe('-clicks');
    // The URL changes before the new table is drawn, and the rows by clicks may be the rows by revenue: wait for the header.
    await expect.poll(() => page.getAttribute('#report-table th[data-column=clicks]', 'aria-sort'), poll).toBe('descending');
    const byClicks = await apiReport(`${range}&sort=-clicks&limit=50`);
    await expect.poll(async () => (await readTable(page)).rows, poll).toEqual(expected('keyword', byClicks).rows);
    expect((await readTable(page)).rows[0]![0]).toBe('trail shoes');
    expect(await page.textContent('#report-title')).toBe('Clicks by keyword');

    await page.click('#report-table th[data-column=clicks] button');
    await expect.poll(() => query(page).get('sort'), poll).toBe('clicks');
    await expect.poll(() => page.getAttribute('#report-table th[data-column=clicks]', 'aria-sort'), poll).toBe('ascending');
    const ascending = await apiReport(`${range}&sort=clicks&limit=50`);
    await expect.poll(async () => (await readTable(page)).rows, poll).toEqual(expected('keyword', ascending).rows);

    await page.reload();
    await expect.poll(async () => (await readTable(page)).rows, poll).toEqual(expected('keyword', ascending).rows);
    expect(query(page).get('sort')).toBe('clicks');
    expect(await page.inputValue('[name=preset]')).toBe('today');

    await page.goBack();
    await expect.poll(() => query(page).get('sort'), poll).toBe('-clicks');
    await expect.poll(async () => (await readTable(page)).rows, poll).toEqual(expected('keyword', byClicks).rows);

    // The column chooser: a metric left out is out of the table and of the URL, also after a reload.
    await page.click('#report-columns summary');
    await page.uncheck('#report-columns input[value=botClicks]');
    await expect.poll(() => query(page).get('columns'), poll).toBe(meta.metrics.map((m) => m.name).filter((m) => m !== 'botClicks').join(','));
    await expect.poll(async () => (await readTable(page)).columns, poll).toEqual(['keyword', ...meta.metrics.map((m) => m.name).filter((m) => m !== 'botClicks')]);
    await page.reload();
    await expect.poll(async () => (await readTable(page)).columns.length, poll).toBe(meta.metrics.length);
    expect((await readTable(page)).columns).not.toContain('botClicks');
    expect(await page.isChecked('#report-columns input[value=botClicks]')).toBe(false);
  });

  it('drills from a keyword to its ads, with a breadcrumb back, in the URL', async () => {
    const page = await open('/?preset=today&groupBy=campaign');
    // Grouped by campaign, the campaign shows by name; a click opens its keywords.
    await expect.poll(async () => (await readTable(page)).rows[0]?.[0], poll).toBe('Search shoes');
    await page.click('#report-table tbody tr:first-child th');
    await expect.poll(() => query(page).get('groupBy'), poll).toBe('keyword');
    expect(query(page).get('filter[campaign]')).toBe(campaignId);
    await expect.poll(async () => (await readTable(page)).rows[0]?.[0], poll).toBe('trail shoes');

    await page.click('#report-table tbody tr[data-key="trail shoes"] th');
    await expect.poll(() => query(page).get('groupBy'), poll).toBe('ad');
    expect(query(page).getAll('filter[keyword]')).toEqual(['trail shoes']);
    const range = `from=${await page.inputValue('[name=from]')}&to=${await page.inputValue('[name=to]')}&tz=${encodeURIComponent(query(page).get('tz')!)}`;
    const ads = await apiReport(`${range}&groupBy=ad&filter[campaign]=${campaignId}&filter[keyword]=trail%20shoes&sort=-revenue`);
    expect(ads.rows.map((r) => r.ad)).toEqual(['1', '2']);
    await expect.poll(async () => (await readTable(page)).rows, poll).toEqual(expected('ad', ads).rows);
    expect((await readTable(page)).totals).toEqual(expected('ad', ads).totals);
    expect(await page.textContent('#report-title')).toBe('Revenue by ad');
    expect(await page.$$eval('#report-path > *', (els) => els.map((e) => e.textContent))).toEqual(['All campaigns', 'campaign Search shoes', 'keyword trail shoes']);

    await page.click('#report-path button[data-step="1"]');
    await expect.poll(() => query(page).get('groupBy'), poll).toBe('keyword');
    expect(query(page).has('filter[keyword]')).toBe(false);
    await page.goBack();
    await expect.poll(() => query(page).get('groupBy'), poll).toBe('ad');
    await expect.poll(async () => (await readTable(page)).rows.map((r) => r[0]), poll).toEqual(['1', '2']);
  });

  for (const zone of ['Pacific/Auckland', 'Asia/Kolkata']) {
    it(`shows today's clicks in ${zone}, with presets computed there`, async () => {
      const page = await open('/', { timezoneId: zone });
      await expect.poll(async () => (await readTable(page)).rows.length, poll).toBe(50);
      // The browser's zone is the default (Chromium may name Kolkata by its older alias).
      const tz = await page.inputValue('[name=tz]');
      expect(zone === 'Asia/Kolkata' ? ['Asia/Kolkata', 'Asia/Calcutta'] : [zone]).toContain(tz);
      const today = dayIn(zone, new Date());
      expect(await page.inputValue('[name=to]')).toBe(today);
      await page.selectOption('[name=preset]', 'today');
      await expect.poll(() => query(page).get('preset'), poll).toBe('today');
      expect([await page.inputValue('[name=from]'), await page.inputValue('[name=to]')]).toEqual([today, today]);
      await expect.poll(async () => (await readTable(page)).totals[1], poll).toBe('63');
      // A day is drawn by the hour of the zone, the clicks in the current hour there.
      const hours = () => page.$$eval('#series-chart rect.hover title', (titles) => titles.map((t) => t.textContent));
      await expect.poll(async () => (await hours()).length, poll).toBe(24);
      const hour = new Intl.DateTimeFormat('en-GB', { timeZone: zone, hour: '2-digit', hourCycle: 'h23' }).format(soldAt);
      expect((await hours()).find((h) => h!.startsWith(`${today} ${hour}:00`))).toMatch(/: 55\.00$/);
      await page.selectOption('[name=preset]', 'yesterday');
      await expect.poll(() => page.textContent('#report-notice'), poll).toContain('No clicks from');
      expect(await page.$$('#report-chart svg')).toHaveLength(0);
    });
  }

  it('fits a 390 px phone: the table scrolls in its box, not the page', async () => {
    const page = await open('/', { viewport: { width: 390, height: 844 } });
    await expect.poll(async () => (await readTable(page)).rows.length, poll).toBe(50);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    const box = await page.$eval('.table-scroll', (el) => ({ scroll: el.scrollWidth, client: el.clientWidth }));
    expect(box.scroll).toBeGreaterThan(box.client);
    // Ratios stay on one line: a CR cell is one line high, like a count.
    const heights = await page.$$eval('#report-table tbody tr:first-child td', (cells) => new Set(cells.map((c) => c.getBoundingClientRect().height)).size);
    expect(heights).toBe(1);
    fs.mkdirSync(path.join(repoRoot, 'test-results'), { recursive: true });
    await page.screenshot({ path: path.join(repoRoot, 'test-results/dashboard-390.png'), fullPage: true });
  });

  it('refreshes the numbers on its own, keeping the same rows', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    contexts.push(context);
    await context.addInitScript((key) => localStorage.setItem('keyrev.apiKey', key), adminKey);
    const page = await context.newPage();
    page.on('pageerror', (e) => errors.push(e.message));
    await page.clock.install();
    await page.goto(`${base}/?preset=today&groupBy=ad&filter[keyword]=road%20shoes`);
    await expect.poll(async () => (await readTable(page)).rows.map((r) => r[0]), poll).toEqual(['3']);
    const row = await page.$('#report-table tbody tr');
    const revenue = meta.metrics.findIndex((m) => m.name === 'revenue') + 1;
    expect((await readTable(page)).rows[0]![revenue]).toBe('15.00');

    const clickId = (await t.app.inject({ method: 'GET', url: `/c/${campaignId}?kw=road+shoes&ad=3` })).headers['x-keyrev-click-id'];
    await t.app.keyrev.clicks.flusher.drain();
    expect((await t.app.inject({ method: 'GET', url: `/postback?cid=${clickId}&payout=5&txid=T3` })).body).toBe('OK');
    await t.app.keyrev.postbacks.flusher.drain();
    await page.clock.runFor(30_000);
    await expect.poll(async () => (await readTable(page)).rows[0]![revenue], poll).toBe('20.00');
    // Updated in place: the row the user may have selected text in is the same element.
    expect(await row!.evaluate((el) => el.isConnected)).toBe(true);
  });

  it('logged no console errors and no failed requests (the favicon included)', () => {
    expect(errors).toEqual([]);
  });
});
