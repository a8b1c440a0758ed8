import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metricNames, metrics } from '../../analytics/report-metrics.js';
import { adminAuth, adminKey, startApp, type TestApp } from '../helpers/app.js';
import { ensureChromium, launchChromium } from '../helpers/browser.js';
import { repoRoot } from '../helpers/process.js';

const missing = ensureChromium();
if (missing) console.log(`[dashboard] browser tests skipped: ${missing}`);

describe.skipIf(Boolean(missing))(`dashboard in Chromium${missing ? ` (skipped: ${missing})` : ''}`, () => {
  let t: TestApp;
  let browser: Browser;
  let page: Page;
  let base: string;

  beforeAll(async () => {
    if (!fs.existsSync(path.join(repoRoot, 'web/dist/index.html'))) {
      const { build } = await import('vite');
      await build({ configFile: path.join(repoRoot, 'web/vite.config.ts'), logLevel: 'warn' });
    }
    t = await startApp();
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(t.app.server.address() as { port: number }).port}`;
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  }, 900_000);

  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('shows the warehouse status and asks for a key', async () => {
    await page.goto(base);
    await expect.poll(() => page.textContent('#health')).toBe('ok · embedded');
    expect(await page.isVisible('#auth-message')).toBe(true);
    // The page itself lists no dimension: they come from the API, once a key may read them.
    expect(await page.$$eval('#report-form select[name=groupBy] option', (options) => options.length)).toBe(0);
  });

  it('refuses a wrong key with a clear message', async () => {
    await page.fill('#api-key', 'not-the-right-key-at-all');
    await page.click('#key-form button');
    await expect.poll(() => page.textContent('#auth-message')).toBe('That key was not accepted.');
  });

  it('creates a campaign through the form and builds its tracking link', async () => {
    await page.fill('#api-key', adminKey);
    await page.click('#key-form button');
    await expect.poll(() => page.textContent('#campaign-list')).toContain('No campaigns yet.');
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
    await expect.poll(options).toEqual(meta.dimensions);
    expect(meta.dimensions.map((d) => d.name)).toContain('utmSource');
    expect(await page.inputValue('#report-form select[name=groupBy]')).toBe('keyword');
  });

  it('shows the 400 reason of a bad offer URL next to the form', async () => {
    await page.fill('#campaign-form [name=name]', 'Bad');
    await page.fill('#campaign-form [name=offerUrl]', 'ftp://nope.example/');
    await page.click('#campaign-form button');
    await expect.poll(() => page.textContent('#campaign-error')).toBe('body.offerUrl: must be an http(s) URL, with macros only after the host');
  });

  it('shows revenue by keyword from real clicks and postbacks, and downloads exports with the key', async () => {
    const id = await page.getAttribute('#campaign-list li', 'data-id');
    const clickId = (await t.app.inject({ method: 'GET', url: `/c/${id}?kw=trail+shoes&ad=7` })).headers['x-keyrev-click-id'];
    await t.app.inject({ method: 'GET', url: `/c/${id}?kw=road+shoes` });
    await t.app.keyrev.clicks.flusher.drain();
    expect((await t.app.inject({ method: 'GET', url: `/postback?cid=${clickId}&payout=25` })).body).toBe('OK');
    await t.app.keyrev.postbacks.flusher.drain();

    await page.click('#report-form button');
    await expect.poll(() => page.textContent('#report-table tbody tr:first-child')).toContain('trail shoes');
    const first = await page.$$eval('#report-table tbody tr:first-child td', (cells) => cells.map((c) => c.textContent));
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
    expect(href).toMatch(/^\/api\/export\?from=\d{4}-\d\d-\d\d&to=\d{4}-\d\d-\d\d&tz=[^&]+&groupBy=keyword&sort=-revenue&limit=100&format=csv&report=attribution$/);
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
    await expect.poll(() => page.getAttribute('#report-table thead th:first-child', 'data-column')).toBe('campaign');
    const header = await page.$$eval('#report-table thead th', (cells) => cells.map((c) => c.dataset.column));
    const rows = await page.$$eval('#report-table tbody tr', (trs: HTMLTableRowElement[]) => trs.map((tr) => [...tr.cells].map((c) => c.textContent)));
    // Both clicks of the campaign, and its one sale, in a single row.
    expect(rows).toHaveLength(1);
    const cell = (name: string) => rows[0]![header.indexOf(name)];
    expect([cell('campaign'), cell('clicks'), cell('sales'), cell('revenue'), cell('cr')]).toEqual([id, '2', '1', '25.00', '50.0 %']);
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
});
