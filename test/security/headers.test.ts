import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminAuth, startApp, type TestApp } from '../helpers/app.js';
import { ensureChromium, launchChromium } from '../helpers/browser.js';
import { repoRoot } from '../helpers/process.js';

/**
 * Attack: the dashboard keeps an API key in localStorage, so one injected script or a framing
 * page (clickjacking) on keyrev's origin could read it or act with it. Before the fix `/`, `/docs`
 * and the API sent no Content-Security-Policy, no X-Content-Type-Options and no frame protection,
 * and the dashboard's source map was served. Now they carry a strict CSP (scripts, styles and
 * connections only from keyrev itself, no inline script, no framing), nosniff and
 * X-Frame-Options: DENY; the click and postback paths stay bare (they serve machines and
 * redirects, and each header costs on the hottest route); no source map is built or served.
 */
const dist = path.join(repoRoot, 'web/dist');

describe('security headers', () => {
  let t: TestApp;
  let assets: string[];

  beforeAll(async () => {
    if (!fs.existsSync(path.join(dist, 'index.html'))) {
      const { build } = await import('vite');
      await build({ configFile: path.join(repoRoot, 'web/vite.config.ts'), logLevel: 'warn' });
    }
    assets = fs.readdirSync(path.join(dist, 'assets')).filter((f) => !f.endsWith('.map'));
    t = await startApp();
  }, 300_000);
  afterAll(async () => t?.close());

  const get = (url: string, headers: Record<string, string> = {}) => t.app.inject({ method: 'GET', url, headers });

  function expectProtected(res: Awaited<ReturnType<typeof get>>, what: string): void {
    const csp = String(res.headers['content-security-policy'] ?? '');
    expect(csp, `${what}: content-security-policy`).toMatch(/(^|;)\s*default-src 'self'/);
    expect(csp, what).toMatch(/(^|;)\s*script-src 'self'(;|$)/);
    expect(csp, what).toMatch(/(^|;)\s*frame-ancestors 'none'/);
    expect(csp, what).toMatch(/(^|;)\s*object-src 'none'/);
    expect(csp, what).not.toMatch(/unsafe-eval|unsafe-inline.*script|script.*unsafe-inline/);
    expect(res.headers['x-content-type-options'], what).toBe('nosniff');
    expect(res.headers['x-frame-options'], what).toBe('DENY');
    expect(res.headers['referrer-policy'], what).toBe('no-referrer');
  }

  it('protects the dashboard, its assets, the docs and the OpenAPI document', async () => {
    for (const url of ['/', '/index.html', ...assets.map((a) => `/assets/${a}`), '/docs', '/docs/', '/docs/static/index.html', '/docs/json', '/openapi.json']) {
      const res = await get(url);
      expect(res.statusCode, `${url}: ${res.body.slice(0, 100)}`).toBeLessThan(400);
      expectProtected(res, url);
    }
  });

  it('protects API answers, refusals included', async () => {
    expectProtected(await get('/api/report/meta', adminAuth), 'GET /api/report/meta');
    const refused = await get('/api/campaigns');
    expect(refused.statusCode).toBe(401);
    expectProtected(refused, 'a 401 of /api/campaigns');
    const invalid = await t.app.inject({ method: 'POST', url: '/api/campaigns', headers: adminAuth, payload: { name: 'x' } });
    expect(invalid.statusCode).toBe(400);
    expectProtected(invalid, 'a 400 of POST /api/campaigns');
    expectProtected(await get('/health'), '/health');
  });

  it('leaves the click redirect and the postback answer bare', async () => {
    const c = (await t.app.inject({ method: 'POST', url: '/api/campaigns', headers: adminAuth, payload: { name: 'h', offerUrl: 'https://o.example/?c={clickid}' } })).json();
    const click = await get(`/c/${c.id}?kw=x`);
    expect(click.statusCode).toBe(302);
    const postback = await get(`/postback?cid=${click.headers['x-keyrev-click-id']}&payout=1`);
    expect(postback.body).toBe('OK');
    for (const res of [click, postback]) {
      expect(res.headers['content-security-policy']).toBeUndefined();
      expect(res.headers['x-frame-options']).toBeUndefined();
    }
  });

  it('builds and serves no source map', async () => {
    expect(fs.readdirSync(path.join(dist, 'assets')).filter((f) => f.endsWith('.map'))).toEqual([]);
    for (const asset of assets) {
      const res = await get(`/assets/${asset}`);
      expect(res.body, asset).not.toContain('sourceMappingURL=');
      const map = await get(`/assets/${asset}.map`);
      expect(map.statusCode, `/assets/${asset}.map`).toBe(404);
    }
  });

  const missing = ensureChromium();
  describe.skipIf(Boolean(missing))(`in Chromium${missing ? ` (skipped: ${missing})` : ''}`, () => {
    let browser: Browser;
    let base: string;
    beforeAll(async () => {
      await t.app.listen({ port: 0, host: '127.0.0.1' });
      base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
      browser = await launchChromium();
    }, 300_000);
    afterAll(async () => browser?.close());

    /** Opens a page recording every CSP violation it causes; returns them once `ready` holds. */
    async function violationsOn(url: string, ready: string): Promise<string[]> {
      const page = await browser.newPage();
      try {
        // Chromium's console message names what was blocked (for an inline style, the hash that would allow it).
        const messages: string[] = [];
        page.on('console', (m) => messages.push(m.text()));
        await page.addInitScript(() => {
          (window as unknown as { violations: string[] }).violations = [];
          document.addEventListener('securitypolicyviolation', (e) => (window as unknown as { violations: string[] }).violations.push(`${e.violatedDirective} ${e.blockedURI}`));
        });
        await page.goto(`${base}${url}`);
        await page.waitForSelector(ready, { timeout: 30_000 });
        await page.waitForTimeout(500);
        const violations = await page.evaluate(() => (window as unknown as { violations: string[] }).violations);
        return violations.map((v, i) => `${v}: ${messages.filter((m) => m.includes('Content Security Policy'))[i] ?? ''}`);
      } finally {
        await page.close();
      }
    }

    it('the dashboard runs under its policy without a violation', async () => {
      // The health badge is filled by the dashboard's script, styled by its stylesheet.
      expect(await violationsOn('/', '#health[data-state="ok"]')).toEqual([]);
    });

    it('swagger-ui at /docs runs under its policy without a violation', async () => {
      expect(await violationsOn('/docs', '.swagger-ui .info .title')).toEqual([]);
    });

    it('refuses to be framed by another page', async () => {
      const page = await browser.newPage();
      try {
        // A page of another origin (about:blank with content) framing the dashboard.
        await page.setContent(`<iframe id="f" src="${base}/"></iframe>`);
        await page.waitForTimeout(1_000);
        const frame = page.frames().find((f) => f.url().startsWith(base));
        const loaded = frame ? await frame.evaluate(() => document.querySelector('#health') !== null).catch(() => false) : false;
        expect(loaded).toBe(false);
      } finally {
        await page.close();
      }
    });
  });
});
