import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminKey, startApp, type TestApp } from '../helpers/app.js';
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
    await expect.poll(() => page.textContent('#campaign-list')).toContain('Trail shoes');
    const id = await page.getAttribute('#campaign-list li', 'data-id');
    expect(id).toMatch(/^[0-9a-z]{10}$/);
    const link = await page.textContent('#link-output');
    expect(link).toBe(`${base}/c/${id}?kw={keyword}&ad={creative}&adgroup={adgroupid}&matchtype={matchtype}&network={network}&device={device}&gclid={gclid}&utm_source=google&utm_medium=cpc`);
    await page.selectOption('#link-platform', 'microsoft');
    expect(await page.textContent('#link-output')).toContain('msclkid={msclkid}');
  });

  it('shows the 400 reason of a bad offer URL next to the form', async () => {
    await page.fill('#campaign-form [name=name]', 'Bad');
    await page.fill('#campaign-form [name=offerUrl]', 'ftp://nope.example/');
    await page.click('#campaign-form button');
    await expect.poll(() => page.textContent('#campaign-error')).toBe('body.offerUrl: must be an http(s) URL, with macros only after the host');
  });

  it('says calmly that reports are not there yet, and builds export links from the form', async () => {
    await page.click('#report-form button');
    await expect.poll(() => page.textContent('#report-notice')).toBe('Reports are not available on this server yet.');
    const href = await page.getAttribute('.exports a[data-format=csv]', 'href');
    expect(href).toMatch(/^\/api\/export\?from=\d{4}-\d\d-\d\d&to=\d{4}-\d\d-\d\d&tz=[^&]+&groupBy=keyword&sort=-revenue&limit=100&format=csv$/);
    fs.mkdirSync(path.join(repoRoot, 'test-results'), { recursive: true });
    await page.screenshot({ path: path.join(repoRoot, 'test-results/dashboard.png'), fullPage: true });
  });
});
