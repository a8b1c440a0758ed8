import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminAuth, startApp, type TestApp } from '../helpers/app.js';
import { ensureChromium, launchChromium } from '../helpers/browser.js';

const missing = ensureChromium();
if (missing) console.log(`[landing script] browser tests skipped: ${missing}`);

/**
 * A landing page on its own site, as a search ad's final URL is: keyrev answers on track.test,
 * the advertiser's pages on shop.test, a stranger's on other.test (Chromium maps every *.test
 * name to 127.0.0.1, so each is a separate origin with real CORS).
 */
describe.skipIf(Boolean(missing))(`landing-page script in Chromium${missing ? ` (skipped: ${missing})` : ''}`, () => {
  let t: TestApp;
  let browser: Browser;
  let page: Page;
  let pages: http.Server;
  let trackerPort: number;
  let shopPort: number;
  let campaignId: string;

  beforeAll(async () => {
    t = await startApp({ KEYREV_FLUSH_INTERVAL_MS: '50' });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    trackerPort = (t.app.server.address() as AddressInfo).port;
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/campaigns',
      headers: adminAuth,
      payload: { name: 'Search', offerUrl: 'https://offer.example/?s={clickid}', trafficSource: 'google', landingDomains: ['shop.test'] },
    });
    campaignId = res.json().id;
    pages = http.createServer((req, reply) => {
      const consent = req.url!.startsWith('/no-consent') ? ' data-consent="false"' : '';
      reply.setHeader('content-type', 'text/html; charset=utf-8');
      reply.end(`<!doctype html><title>Shoes</title>
<a id="offer" href="https://offer.example/buy?sub={clickid}&kw=shoes">Buy</a>
<script src="http://track.test:${trackerPort}/lp.js" data-campaign="${campaignId}"${consent} async></script>`);
    });
    await new Promise<void>((resolve) => pages.listen(0, '127.0.0.1', resolve));
    shopPort = (pages.address() as AddressInfo).port;
    browser = await launchChromium(['--host-resolver-rules=MAP *.test 127.0.0.1']);
  }, 900_000);

  afterAll(async () => {
    await browser?.close();
    pages?.close();
    await t?.close();
  });

  async function open(url: string): Promise<{ clickId: string | undefined; offer: string | null; visits: number }> {
    page = await browser.newPage();
    let visits = 0;
    page.on('request', (r) => {
      if (r.url().includes(`/lp/${campaignId}`)) visits++;
    });
    await page.goto(url);
    await page.waitForFunction(() => (window as unknown as { keyrev?: unknown }).keyrev !== undefined);
    const clickId = await page.evaluate(() => (window as unknown as { keyrev: { ready: Promise<string | undefined> } }).keyrev.ready);
    return { clickId, offer: await page.getAttribute('#offer', 'href'), visits };
  }

  const clickCount = async () => {
    await t.app.keyrev.clicks.flusher.drain();
    return Number((await t.app.keyrev.warehouse.query<{ n: string }>('SELECT count() AS n FROM clicks'))[0]!.n);
  };

  it('gives the landing page the click of the background hit: one ad click, one click, and the offer link carries it', async () => {
    const lpurl = encodeURIComponent(`http://shop.test:${shopPort}/land?gclid=G-browser-1`);
    const hit = await fetch(`http://127.0.0.1:${trackerPort}/c/${campaignId}?kw=shoes&gclid=G-browser-1&lpurl=${lpurl}`, { redirect: 'manual' });
    expect(hit.headers.get('location')).toBe(`http://shop.test:${shopPort}/land?gclid=G-browser-1`);
    const clickId = hit.headers.get('x-keyrev-click-id')!;
    const before = await clickCount();
    const seen = await open(`http://shop.test:${shopPort}/land?gclid=G-browser-1`);
    expect(seen.clickId).toBe(clickId);
    expect(seen.offer).toBe(`https://offer.example/buy?sub=${clickId}&kw=shoes`);
    // A link the page adds later gets it too.
    await page.evaluate(() => document.body.insertAdjacentHTML('beforeend', '<a id="late" href="/next?c={clickid}">next</a>'));
    await expect.poll(() => page.getAttribute('#late', 'href')).toBe(`/next?c=${clickId}`);
    expect(await clickCount()).toBe(before);
    // Another page of the site: the stored click id, no second request.
    let asked = 0;
    page.on('request', (r) => {
      if (r.url().includes('/lp/')) asked++;
    });
    await page.goto(`http://shop.test:${shopPort}/other`);
    const again = await page.evaluate(() => (window as unknown as { keyrev: { ready: Promise<string> } }).keyrev.ready);
    expect(again).toBe(clickId);
    expect(asked).toBe(0);
    await page.close();
  });

  it('makes a new click of a landing page with a new gclid and no background hit, with the page keyword', async () => {
    const seen = await open(`http://shop.test:${shopPort}/land?gclid=G-browser-2&kw=red+boots`);
    expect(seen.clickId).toMatch(/^\d+$/);
    await t.app.keyrev.clicks.flusher.drain();
    const rows = await t.app.keyrev.warehouse.query<{ keyword: string; gclid: string }>('SELECT keyword, gclid FROM clicks WHERE click_id = {id:UInt64}', { id: seen.clickId! });
    expect(rows).toEqual([{ keyword: 'red boots', gclid: 'G-browser-2' }]);
    await page.close();
  });

  it('answers nothing to a page on a domain that is not a landing domain', async () => {
    const before = await clickCount();
    const seen = await open(`http://other.test:${shopPort}/land?gclid=G-browser-3`);
    expect(seen.clickId).toBeUndefined();
    expect(seen.offer).toBe('https://offer.example/buy?sub={clickid}&kw=shoes');
    expect(await clickCount()).toBe(before);
    await page.close();
  });

  it('sends and stores nothing without consent, until the page gives it', async () => {
    const seen = await open(`http://shop.test:${shopPort}/no-consent?gclid=G-browser-4`);
    expect(seen.clickId).toBeUndefined();
    expect(seen.visits).toBe(0);
    expect(await page.evaluate(() => localStorage.length)).toBe(0);
    await page.evaluate(() => (window as unknown as { keyrev: { consent(v: boolean): void } }).keyrev.consent(true));
    await expect.poll(() => page.getAttribute('#offer', 'href')).toMatch(/sub=\d+&/);
    await page.close();
  });
});
