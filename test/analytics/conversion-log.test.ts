import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClickIdGenerator } from '../../core/click-id.js';
import { adminAuth, startApp, type TestApp } from '../helpers/app.js';

describe('/api/conversions', () => {
  let t: TestApp;
  let campaignId: string;
  beforeAll(async () => {
    t = await startApp({ KEYREV_FLUSH_INTERVAL_MS: '20' });
    const res = await t.app.inject({ method: 'POST', url: '/api/campaigns', headers: adminAuth, payload: { name: 'Search', offerUrl: 'https://offer.example/?c={clickid}', trafficSource: 'google' } });
    campaignId = res.json().id;
  });
  afterAll(async () => t.close());

  const today = new Date().toISOString().slice(0, 10);
  const log = async (query = '') => {
    await t.app.keyrev.postbacks.flusher.drain();
    const res = await t.app.inject({ method: 'GET', url: `/api/conversions?from=${today}&to=${today}${query}`, headers: adminAuth });
    expect(res.statusCode, res.body).toBe(200);
    return res.json().rows as { clickId: string; status: string; orphan: boolean; revenue: number; click: { keyword: string; campaign: string } | null }[];
  };
  const click = async (kw: string) => (await t.app.inject({ method: 'GET', url: `/c/${campaignId}?kw=${kw}&ad=7` })).headers['x-keyrev-click-id'] as string;

  it('credits a conversion to the keyword of its click, at its latest status', async () => {
    const clickId = await click('running+shoes');
    await t.app.keyrev.clicks.flusher.drain();
    await t.app.inject({ method: 'GET', url: `/postback?cid=${clickId}&payout=20&status=lead&txid=1` });
    await t.app.inject({ method: 'GET', url: `/postback?cid=${clickId}&payout=20&status=sale&txid=1` });
    const rows = (await log()).filter((r) => r.clickId === clickId);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: 'sale', revenue: 20, orphan: false, click: { keyword: 'running shoes', campaign: campaignId } });
  });

  it('lists a postback whose click is not in ClickHouse as an orphan, and credits it once the click lands', async () => {
    await t.app.keyrev.clicks.flusher.stop();
    const late = await click('late+keyword');
    await t.app.inject({ method: 'GET', url: `/postback?cid=${late}&payout=5` });
    const never = new ClickIdGenerator(9).next().id.toString();
    await t.app.inject({ method: 'GET', url: `/postback?cid=${never}&payout=1` });
    expect((await log('&orphans=only')).map((r) => r.clickId).sort()).toEqual([late, never].sort());

    t.app.keyrev.clicks.flusher.start();
    await t.app.keyrev.clicks.flusher.drain();
    const rows = await log();
    expect(rows.find((r) => r.clickId === late)).toMatchObject({ orphan: false, click: { keyword: 'late keyword' } });
    expect(rows.find((r) => r.clickId === never)).toMatchObject({ orphan: true, click: null });
    expect((await log(`&campaign=${campaignId}&status=sale`)).map((r) => r.clickId)).toContain(late);
  });

  it('validates its query with clear 400s and needs a key', async () => {
    const bad = await t.app.inject({ method: 'GET', url: '/api/conversions?from=yesterday&to=2026-01-01', headers: adminAuth });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().message).toMatch(/^querystring.from: must be a date/);
    const tz = await t.app.inject({ method: 'GET', url: '/api/conversions?from=2026-01-01&to=2026-01-02&tz=Mars/Olympus', headers: adminAuth });
    expect(tz.json().message).toBe('querystring.tz: must be an IANA time zone such as Europe/Berlin');
    expect((await t.app.inject({ method: 'GET', url: '/api/conversions?from=2026-01-01&to=2026-01-02' })).statusCode).toBe(401);
  });
});
