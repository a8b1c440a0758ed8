import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metricNames, metrics } from '../../analytics/report-metrics.js';
import { adminAuth, adminKey, type TestApp } from '../helpers/app.js';
import { ensureChromium, launchChromium } from '../helpers/browser.js';
import { repoRoot } from '../helpers/process.js';
import { startServedDashboard } from './served-dashboard.js';

const missing = ensureChromium();
if (missing) console.log(`[dashboard] browser tests skipped: ${missing}`);

describe.skipIf(Boolean(missing))(`dashboard in Chromium${missing ? ` (skipped: ${missing})` : ''}`, () => {
  let t: TestApp;
  let browser: Browser;
  let page: Page;
  let base: string;
  /** Uncaught page errors and every URL the page asked for (the favicon must not be one that fails). */
  const pageErrors: string[] = [];
  const requested: string[] = [];

  beforeAll(async () => {
    ({ t, base } = await startServedDashboard());
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('request', (r) => requested.push(new URL(r.url()).pathname));
  }, 900_000);

  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('shows the warehouse status and asks for a key', async () => {
    await page.goto(base);
    await expect.poll(() => page.textContent('#health'), { timeout: 10_000 }).toBe('ok · embedded');
    expect(await page.isVisible('#auth-message')).toBe(true);
    // The page itself lists no dimension: they come from the API, once a key may read them.
    expect(await page.$$eval('#report-form select[name=groupBy] option', (options) => options.length)).toBe(0);
  });

  it('refuses a wrong key with a clear message', async () => {
    await page.fill('#api-key', 'not-the-right-key-at-all');
    await page.click('#key-form button');
    await expect.poll(() => page.textContent('#auth-message'), { timeout: 10_000 }).toBe('That key was not accepted.');
  });

  it('creates a campaign through the form and builds its tracking link', async () => {
    await page.fill('#api-key', adminKey);
    await page.click('#key-form button');
    await expect.poll(() => page.textContent('#campaign-list'), { timeout: 10_000 }).toContain('No campaigns yet.');
    // No clicks yet: the report says so, with no chart (not a bare axis) and no table.
    await expect.poll(() => page.textContent('#report-notice'), { timeout: 10_000 }).toContain('No clicks from');
    expect(await page.$$('#report-chart svg, #report-table tr')).toHaveLength(0);
    await page.fill('#campaign-form [name=name]', 'Trail shoes');
    await page.fill('#campaign-form [name=offerUrl]', 'https://shop.example/?subid={clickid}&kw={keyword}');
    await page.click('#campaign-form button');
    await expect.poll(() => page.textContent('#campaign-list'), { timeout: 10_000 }).toContain('Trail shoes');
    const id = await page.getAttribute('#campaign-list li', 'data-id');
    expect(id).toMatch(/^[0-9a-z]{10}$/);
    const link = await page.textContent('#link-output');
    expect(link).toBe(`${base}/c/${id}?kw={keyword}&ad={creative}&adgroup={adgroupid}&matchtype={matchtype}&network={network}&device={device}&gclid={gclid}&utm_source=google&utm_medium=cpc`);
    await page.selectOption('#link-platform', 'microsoft');
    expect(await page.textContent('#link-output')).toContain('msclkid={msclkid}');
    // Without landing domains there is no tracking template to give: the page says what is missing.
    expect(await page.isVisible('#link-hint')).toBe(true);
    expect(await page.isVisible('#link-test')).toBe(false);
  });

  it("lists the API's dimensions in the group-by select, keyword first selected", async () => {
    const meta = (await t.app.inject({ method: 'GET', url: '/api/report/meta', headers: adminAuth })).json<{ dimensions: { name: string; label: string }[] }>();
    const options = () => page.$$eval('#report-form select[name=groupBy] option', (os: HTMLOptionElement[]) => os.map((o) => ({ name: o.value, label: o.textContent })));
    await expect.poll(options, { timeout: 10_000 }).toEqual(meta.dimensions);
    expect(meta.dimensions.map((d) => d.name)).toContain('utmSource');
    expect(await page.inputValue('#report-form select[name=groupBy]')).toBe('keyword');
  });

  it('shows the 400 reason of a bad offer URL next to the form', async () => {
    await page.fill('#campaign-form [name=name]', 'Bad');
    await page.fill('#campaign-form [name=offerUrl]', 'ftp://nope.example/');
    await page.click('#campaign-form button');
    await expect.poll(() => page.textContent('#campaign-error'), { timeout: 10_000 }).toBe('body.offerUrl: must be an http(s) URL, with macros only after the host');
  });

  it('shows revenue by keyword from real clicks and postbacks, and downloads exports with the key', async () => {
    const id = await page.getAttribute('#campaign-list li', 'data-id');
    const clickId = (await t.app.inject({ method: 'GET', url: `/c/${id}?kw=trail+shoes&ad=7` })).headers['x-keyrev-click-id'];
    await t.app.inject({ method: 'GET', url: `/c/${id}?kw=road+shoes` });
    await t.app.keyrev.clicks.flusher.drain();
    expect((await t.app.inject({ method: 'GET', url: `/postback?cid=${clickId}&payout=25` })).body).toBe('OK');
    await t.app.keyrev.postbacks.flusher.drain();

    await page.click('#report-form button');
    await expect.poll(() => page.textContent('#report-table tbody tr:first-child'), { timeout: 10_000 }).toContain('trail shoes');
    const first = await page.$$eval('#report-table tbody tr:first-child > *', (cells) => cells.map((c) => c.textContent));
    const header = await page.$$eval('#report-table thead th', (cells) => cells.map((c) => c.dataset.column));
    const cell = (name: string) => first[header.indexOf(name)];
    expect([cell('keyword'), cell('clicks'), cell('sales'), cell('revenue'), cell('cr')]).toEqual(['trail shoes', '1', '1', '25.00', '100.0 %']);
    // Every metric of the API is a column, headed by its label, with its help as the tooltip.
    expect(header).toEqual(['keyword', ...metricNames]);
    expect(await page.textContent('#report-table th[data-column=cr]')).toBe('CR');
    expect(await page.getAttribute('#report-table th[data-column=cr]', 'title')).toBe(metrics.cr.help);
    // No cost: ROI is undefined (null, shown as a dash, not 0 %), the cost per conversion is money.
    expect([cell('roi'), cell('cpa')]).toEqual(['–', '0.00']);
    expect(await page.$$eval('#report-chart rect', (bars) => bars.length)).toBe(2);

    const href = await page.getAttribute('.exports a[data-format=csv][data-report=attribution]', 'href');
    // The export is the view's query without the page: every row.
    expect(href).toMatch(/^\/api\/export\?from=\d{4}-\d\d-\d\d&to=\d{4}-\d\d-\d\d&tz=[^&]+&groupBy=keyword&sort=-revenue&format=csv&report=attribution$/);
    const [file] = await Promise.all([page.waitForEvent('download'), page.click('.exports a[data-format=csv][data-report=attribution]')]);
    expect(file.suggestedFilename()).toMatch(/^keyrev-attribution-\d{4}-\d\d-\d\d_\d{4}-\d\d-\d\d\.csv$/);
    const csv = fs.readFileSync((await file.path())!, 'utf8');
    expect(csv.split('\n')[1]).toContain(`"${clickId}"`);
    expect(csv).toContain('"trail shoes"');
  });

  it('groups the same clicks by campaign', async () => {
    const id = await page.getAttribute('#campaign-list li', 'data-id');
    await page.selectOption('#report-form select[name=groupBy]', 'campaign');
    await page.click('#report-form button');
    await expect.poll(() => page.getAttribute('#report-table thead th:first-child', 'data-column'), { timeout: 10_000 }).toBe('campaign');
    const header = await page.$$eval('#report-table thead th', (cells) => cells.map((c) => c.dataset.column));
    const rows = await page.$$eval('#report-table tbody tr', (trs: HTMLTableRowElement[]) => trs.map((tr) => [...tr.cells].map((c) => c.textContent)));
    // Both clicks of the campaign, and its one sale, in a single row.
    expect(rows).toHaveLength(1);
    const cell = (name: string) => rows[0]![header.indexOf(name)];
    // The campaign by its name, its id as the tooltip.
    expect([cell('campaign'), cell('clicks'), cell('sales'), cell('revenue'), cell('cr')]).toEqual(['Trail shoes', '2', '1', '25.00', '50.0 %']);
    expect(await page.getAttribute('#report-table tbody th', 'title')).toBe(id);
    expect(await page.textContent('#report-table thead th:first-child')).toBe('campaign');
    expect(await page.textContent('#report-title')).toBe('Revenue by campaign');
    expect(await page.getAttribute('.exports a[data-format=csv][data-report=grouped]', 'href')).toContain('&groupBy=campaign&');
    fs.mkdirSync(path.join(repoRoot, 'test-results'), { recursive: true });
    await page.screenshot({ path: path.join(repoRoot, 'test-results/dashboard.png'), fullPage: true });
  });

  it('gives a campaign with landing domains the tracking template, final URL suffix, script tag and a test click', async () => {
    await page.fill('#campaign-form [name=name]', 'Search shoes');
    await page.fill('#campaign-form [name=offerUrl]', 'https://shop.example/?subid={clickid}');
    await page.fill('#campaign-form [name=landingDomains]', 'Shoes.example, www.shoes.example');
    await page.click('#campaign-form button');
    await expect.poll(() => page.textContent('#campaign-list'), { timeout: 10_000 }).toContain('Search shoes');
    const id = await page.getAttribute('#campaign-list li:has-text("Search shoes")', 'data-id');
    expect((await t.app.inject({ method: 'GET', url: `/api/campaigns/${id}`, headers: adminAuth })).json().landingDomains).toEqual(['shoes.example', 'www.shoes.example']);
    await page.selectOption('#link-campaign', id!);
    await page.selectOption('#link-platform', 'google');
    expect(await page.textContent('#link-output')).toBe(
      `${base}/c/${id}?kw={keyword}&ad={creative}&adgroup={adgroupid}&matchtype={matchtype}&network={network}&device={device}&gclid={gclid}&utm_source=google&utm_medium=cpc&lpurl={lpurl}`,
    );
    expect(await page.textContent('#link-suffix')).toBe('kw={keyword}&ad={creative}&adgroup={adgroupid}&matchtype={matchtype}');
    expect(await page.textContent('#link-script')).toBe(`<script src="${base}/lp.js" data-campaign="${id}" async></script>`);
    expect(await page.isVisible('#link-hint')).toBe(false);
    // The test click is a real tracking template hit: keyrev lands it on the first landing domain.
    const test = await page.getAttribute('#link-test', 'href');
    const res = await fetch(test!, { redirect: 'manual' });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toMatch(/^https:\/\/shoes\.example\/\?gclid=TEST-[0-9a-z]+&kw=test$/);
  });

  it('edits, pauses, resumes and deletes a campaign', async () => {
    const item = '#campaign-list li:has-text("Search shoes")';
    const id = (await page.getAttribute(item, 'data-id'))!;
    const stored = async () => (await t.app.inject({ method: 'GET', url: `/api/campaigns/${id}`, headers: adminAuth })).json<Record<string, unknown>>();
    await page.click(`${item} button[data-action=edit]`);
    expect(await page.textContent('#campaign-form-title')).toBe('Edit Search shoes');
    expect(await page.inputValue('#campaign-form [name=landingDomains]')).toBe('shoes.example, www.shoes.example');
    await page.fill('#campaign-form [name=name]', 'Search shoes EU');
    await page.selectOption('#campaign-form [name=costModel]', 'cpc');
    await page.fill('#campaign-form [name=costValue]', '0.25');
    await page.fill('#campaign-form [name=fallbackUrl]', 'https://fallback.example/');
    await page.click('#campaign-form button[type=submit]');
    await expect.poll(() => page.textContent('#campaign-list'), { timeout: 10_000 }).toContain('Search shoes EU');
    expect(await stored()).toMatchObject({ name: 'Search shoes EU', costModel: 'cpc', costValue: 0.25, fallbackUrl: 'https://fallback.example/', status: 'active', landingDomains: ['shoes.example', 'www.shoes.example'] });
    expect(await page.textContent('#campaign-form-title')).toBe('New campaign');
    expect(await page.textContent(`${item} .muted`)).toContain('CPC 0.25');

    await page.click(`${item} button[data-action=status]`);
    await expect.poll(() => page.getAttribute(item, 'data-status'), { timeout: 10_000 }).toBe('paused');
    expect((await stored()).status).toBe('paused');
    expect(await page.textContent(`${item} button[data-action=status]`)).toBe('Resume');
    await page.click(`${item} button[data-action=status]`);
    await expect.poll(() => page.getAttribute(item, 'data-status'), { timeout: 10_000 }).toBe('active');

    page.once('dialog', (d) => void d.accept());
    await page.click(`${item} button[data-action=delete]`);
    await expect.poll(() => page.$$(item), { timeout: 10_000 }).toHaveLength(0);
    expect((await t.app.inject({ method: 'GET', url: `/api/campaigns/${id}`, headers: adminAuth })).statusCode).toBe(404);
  });

  it('shows a read-only report key the reports and no settings', async () => {
    const key = (await t.app.inject({ method: 'POST', url: '/api/keys', headers: adminAuth, payload: { name: 'agency' } })).json<{ key: string }>().key;
    await page.fill('#api-key', key);
    await page.click('#key-form button');
    await expect.poll(() => page.textContent('#auth-message'), { timeout: 10_000 }).toBe('This read-only key shows reports only.');
    expect(await page.isVisible('#campaigns')).toBe(false);
    expect(await page.isVisible('#links')).toBe(false);
    await expect.poll(() => page.$$eval('#report-table tbody tr', (rows) => rows.length), { timeout: 10_000 }).toBeGreaterThan(0);
  });

  it('threw no page errors and asked for no /favicon.ico (the icon is inline)', () => {
    expect(pageErrors).toEqual([]);
    expect(requested).not.toContain('/favicon.ico');
  });
});
