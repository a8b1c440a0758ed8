import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminAuth, startApp, type TestApp } from '../helpers/app.js';

/**
 * Smaller exposures found by the audit, each fixed with an option or a limit:
 * - a read-only report key read visitors' IP addresses and user agents through GET /api/clicks/:id;
 * - /metrics was public with no way to require a key (KEYREV_METRICS_AUTH);
 * - any number of exports could run at once, each making the embedded engine write a temporary
 *   file into the data directory, whatever its free space (KEYREV_MAX_CONCURRENT_EXPORTS,
 *   KEYREV_EXPORT_MIN_FREE_BYTES);
 * - a visitor could set a click's cost up to 999,999,999,999 with `cost=` on the link (the
 *   campaign's `maxLinkCost` caps it).
 */
describe('exposures', () => {
  let t: TestApp;
  let reportAuth: { authorization: string };
  let campaignId: string;
  const today = new Date().toISOString().slice(0, 10);

  const restart = async (env: Record<string, string>) => {
    await t.close();
    t = await startApp({ KEYREV_DATA_DIR: t.dataDir, KEYREV_FLUSH_INTERVAL_MS: '20', ...env });
  };

  beforeAll(async () => {
    t = await startApp({ KEYREV_FLUSH_INTERVAL_MS: '20' });
    reportAuth = { authorization: `Bearer ${(await t.app.inject({ method: 'POST', url: '/api/keys', headers: adminAuth, payload: { name: 'agency' } })).json().key}` };
    campaignId = (
      await t.app.inject({
        method: 'POST',
        url: '/api/campaigns',
        headers: adminAuth,
        payload: { name: 'cap', offerUrl: 'https://o.example/?c={clickid}&cost={cost}', costModel: 'cpc', costValue: 0.5 },
      })
    ).json().id;
  });
  afterAll(async () => t?.close());

  const click = async (query: string, id = campaignId) => {
    const res = await t.app.inject({ method: 'GET', url: `/c/${id}?${query}`, remoteAddress: '203.0.113.77', headers: { 'user-agent': 'Mozilla/5.0 (Windows NT 10.0) Chrome/126.0 Safari/537.36' } });
    return { clickId: res.headers['x-keyrev-click-id'] as string, location: res.headers.location as string };
  };
  const storedCost = async (clickId: string) => {
    await t.app.keyrev.clicks.flusher.drain();
    const [row] = await t.app.keyrev.warehouse.query<{ cost: string }>('SELECT toString(cost) AS cost FROM clicks WHERE click_id = {id:UInt64}', { id: clickId });
    return row?.cost;
  };

  describe('click lookup', () => {
    it("shows a click's IP address and user agent to the admin key only", async () => {
      const { clickId } = await click('kw=privacy');
      await t.app.keyrev.clicks.flusher.drain();
      const admin = (await t.app.inject({ method: 'GET', url: `/api/clicks/${clickId}`, headers: adminAuth })).json();
      expect(admin).toMatchObject({ click_id: clickId, keyword: 'privacy', ip: '::ffff:203.0.113.77', user_agent: expect.stringContaining('Chrome/126') });
      const report = await t.app.inject({ method: 'GET', url: `/api/clicks/${clickId}`, headers: reportAuth });
      expect(report.statusCode).toBe(200);
      expect(report.json()).toMatchObject({ click_id: clickId, keyword: 'privacy', device_type: 'desktop' });
      expect(report.json()).not.toHaveProperty('ip');
      expect(report.json()).not.toHaveProperty('user_agent');
      expect(report.body).not.toContain('203.0.113.77');
      expect(report.body).not.toContain('Chrome/126');
    });
  });

  describe('link cost', () => {
    it('caps cost= at the campaign maxLinkCost (default 100): above it the cost model applies', async () => {
      const created = (await t.app.inject({ method: 'GET', url: `/api/campaigns/${campaignId}`, headers: adminAuth })).json();
      expect(created.maxLinkCost).toBe(100);
      const within = await click('cost=99.5');
      const huge = await click('cost=999999999999');
      const over = await click('cost=100.01');
      expect(within.location).toContain('cost=99.5');
      // The offer URL's {cost} is the cost recorded, not the visitor's number.
      expect(huge.location).toContain('cost=0.500000');
      expect(await storedCost(within.clickId)).toBe('99.5');
      expect(await storedCost(huge.clickId)).toBe('0.5');
      expect(await storedCost(over.clickId)).toBe('0.5');
      const totals = (await t.app.inject({ method: 'GET', url: `/api/report?from=${today}&to=${today}&filter[campaign]=${campaignId}`, headers: adminAuth })).json().totals;
      expect(totals.cost).toBeLessThan(1_000);
    });

    it("takes a campaign's own cap, and refuses a negative one", async () => {
      const patched = await t.app.inject({ method: 'PATCH', url: `/api/campaigns/${campaignId}`, headers: adminAuth, payload: { maxLinkCost: 2 } });
      expect(patched.statusCode, patched.body).toBe(200);
      expect(patched.json().maxLinkCost).toBe(2);
      expect(await storedCost((await click('cost=1,75')).clickId)).toBe('1.75');
      expect(await storedCost((await click('cost=2.5')).clickId)).toBe('0.5');
      const bad = await t.app.inject({ method: 'PATCH', url: `/api/campaigns/${campaignId}`, headers: adminAuth, payload: { maxLinkCost: -1 } });
      expect(bad.statusCode).toBe(400);
      expect(bad.json().message).toMatch(/^body\.maxLinkCost: /);
      await t.app.inject({ method: 'PATCH', url: `/api/campaigns/${campaignId}`, headers: adminAuth, payload: { maxLinkCost: 100 } });
    });

    it('caps a click spooled before the cap existed (no maxLinkCost in its record) at the default', async () => {
      // A record as an older keyrev wrote it to the spool, replayed by this one.
      const id = '1190958357420605440';
      const old = { id, ts: Date.now(), campaign: campaignId, source: '', missed: 0, modelCost: '0.500000', query: 'cost=5000&kw=old', ip: '203.0.113.1', userAgent: 'x', referrer: '' };
      await t.app.keyrev.clicks.spool.append(`${JSON.stringify(old)}\n`);
      expect(await storedCost(id)).toBe('0.5');
      const kept = { ...old, id: '1190958357420605441', query: 'cost=42&kw=old' };
      await t.app.keyrev.clicks.spool.append(`${JSON.stringify(kept)}\n`);
      expect(await storedCost(kept.id)).toBe('42');
    });
  });

  describe('/metrics', () => {
    it('is public by default, so Prometheus scrapes it without a key', async () => {
      const res = await t.app.inject({ method: 'GET', url: '/metrics' });
      expect(res.statusCode).toBe(200);
      expect(res.body).toContain('keyrev_clicks_total');
    });

    it('asks for the admin or a report key with KEYREV_METRICS_AUTH=on', async () => {
      await restart({ KEYREV_METRICS_AUTH: 'on' });
      const get = (headers: Record<string, string>) => t.app.inject({ method: 'GET', url: '/metrics', headers });
      expect((await get({})).statusCode).toBe(401);
      expect((await get({})).json().code).toBe('KR_UNAUTHORIZED');
      expect((await get({ authorization: 'Bearer not-a-key-0123456789' })).statusCode).toBe(401);
      expect((await get(reportAuth)).statusCode).toBe(200);
      const admin = await get(adminAuth);
      expect(admin.statusCode).toBe(200);
      expect(admin.body).toContain('keyrev_clicks_total');
    });
  });

  describe('exports', () => {
    it(`answers 429 KR_TOO_MANY_REQUESTS past KEYREV_MAX_CONCURRENT_EXPORTS, and takes exports again once one ended`, async () => {
      await restart({ KEYREV_MAX_CONCURRENT_EXPORTS: '1' });
      // Enough distinct keywords for a grouped export of some 40 MB: a client that reads nothing
      // then holds it open (the socket buffers fill), as a slow download does.
      await t.app.keyrev.warehouse.exec(
        `INSERT INTO clicks (click_id, ts, campaign_id, keyword) SELECT 2000000000000 + number, now64(3), 'bulk', concat('kw-', toString(number), '-', repeat('x', 150)) FROM numbers(200000)`,
      );
      await t.app.listen({ port: 0, host: '127.0.0.1' });
      const port = (t.app.server.address() as net.AddressInfo).port;
      const url = `/api/export?from=${today}&to=${today}&report=grouped&groupBy=keyword&format=csv`;
      const slow = net.connect(port, '127.0.0.1');
      let head = '';
      slow.once('data', (chunk) => {
        head = chunk.toString('latin1');
        slow.pause();
      });
      slow.write(`GET ${url} HTTP/1.1\r\nHost: x\r\nAuthorization: ${adminAuth.authorization}\r\n\r\n`);
      try {
        await expect.poll(() => head, { timeout: 30_000 }).toMatch(/^HTTP\/1\.1 200 /);
        const second = await t.app.inject({ method: 'GET', url, headers: reportAuth });
        expect(second.statusCode, second.body.slice(0, 200)).toBe(429);
        expect(second.json()).toMatchObject({ code: 'KR_TOO_MANY_REQUESTS', message: expect.stringMatching(/1 export/) });
        expect(second.headers['retry-after']).toBeDefined();
      } finally {
        slow.destroy();
      }
      // The slot is given back when the download ends, here by the client going away.
      await expect
        .poll(async () => (await t.app.inject({ method: 'GET', url: `/api/export?from=${today}&to=${today}&format=ndjson`, headers: adminAuth })).statusCode, { timeout: 10_000 })
        .toBe(200);
      // Refused and finished exports gave their slot back too: several in a row all succeed.
      for (let i = 0; i < 3; i++) {
        expect((await t.app.inject({ method: 'GET', url: `/api/export?from=${today}&to=${today}&format=csv`, headers: adminAuth })).statusCode).toBe(200);
      }
      expect((await t.app.inject({ method: 'GET', url: `/api/export?from=2026-99-01&to=${today}&format=csv`, headers: adminAuth })).statusCode).toBe(400);
      expect((await t.app.inject({ method: 'GET', url: `/api/export?from=${today}&to=${today}&format=csv`, headers: adminAuth })).statusCode).toBe(200);
    });

    it('refuses an export with 503 KR_DISK_LOW while the data directory has less free space than KEYREV_EXPORT_MIN_FREE_BYTES', async () => {
      await restart({ KEYREV_EXPORT_MIN_FREE_BYTES: String(2 ** 52) });
      const res = await t.app.inject({ method: 'GET', url: `/api/export?from=${today}&to=${today}&format=csv`, headers: adminAuth });
      if (t.app.keyrev.warehouse.kind !== 'embedded') {
        // A ClickHouse server writes exports on its own disk: keyrev's free space does not matter.
        expect(res.statusCode).toBe(200);
        return;
      }
      expect(res.statusCode).toBe(503);
      expect(res.json()).toMatchObject({ code: 'KR_DISK_LOW', message: expect.stringMatching(/free/) });
      // Reports read no temporary files: they go on.
      expect((await t.app.inject({ method: 'GET', url: `/api/report?from=${today}&to=${today}`, headers: adminAuth })).statusCode).toBe(200);
    });
  });
});
