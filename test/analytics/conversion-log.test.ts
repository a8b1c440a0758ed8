import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClickIdGenerator } from '../../core/click-id.js';
import { adminAuth, startApp, type TestApp } from '../helpers/app.js';

interface LogRow {
  clickId: string;
  status: string;
  orphan: boolean;
  amount: number;
  currency: string;
  payout: number;
  revenue: number;
  click: { keyword: string; campaign: string } | null;
}

describe('/api/conversions', () => {
  let t: TestApp;
  let campaignId: string;
  // The day the first click is made. Each query asks from it up to the day of the query, so a
  // run that crosses UTC midnight still sees everything it posted.
  let firstDay: string;
  const day = () => new Date().toISOString().slice(0, 10);
  beforeAll(async () => {
    firstDay = day();
    t = await startApp({ KEYREV_FLUSH_INTERVAL_MS: '20' });
    const res = await t.app.inject({ method: 'POST', url: '/api/campaigns', headers: adminAuth, payload: { name: 'Search', offerUrl: 'https://offer.example/?c={clickid}', trafficSource: 'google' } });
    campaignId = res.json().id;
  });
  afterAll(async () => t.close());

  const log = async (query = '') => {
    await t.app.keyrev.postbacks.flusher.drain();
    const res = await t.app.inject({ method: 'GET', url: `/api/conversions?from=${firstDay}&to=${day()}${query}`, headers: adminAuth });
    expect(res.statusCode, res.body).toBe(200);
    return res.json().rows as LogRow[];
  };
  const click = async (kw: string, campaign = campaignId) => (await t.app.inject({ method: 'GET', url: `/c/${campaign}?kw=${kw}&ad=7` })).headers['x-keyrev-click-id'] as string;

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

  it('counts as revenue only sales and rebills, and keeps the payout the network sent beside it', async () => {
    // Its own campaign, so its sums are not mixed with the other tests' conversions.
    const own = (await t.app.inject({ method: 'POST', url: '/api/campaigns', headers: adminAuth, payload: { name: 'Money', offerUrl: 'https://offer.example/?c={clickid}' } })).json().id as string;
    // Euros, so the network's amount and the payout in the account currency (USD) differ.
    expect((await t.app.inject({ method: 'PUT', url: '/api/currency-rates', headers: adminAuth, payload: { base: 'USD', rates: { EUR: '1.10' } } })).statusCode).toBe(200);
    const [lead, sale, rebill, rejected, chargeback] = [await click('lead', own), await click('sale', own), await click('rebill', own), await click('rejected', own), await click('chargeback', own)];
    await t.app.keyrev.clicks.flusher.drain();
    const postbacks = [
      `cid=${lead}&payout=3&currency=EUR&status=lead&txid=L`,
      `cid=${sale}&payout=10&currency=EUR&status=sale&txid=S`,
      `cid=${rebill}&payout=2.5&currency=EUR&status=rebill&txid=RB`,
      `cid=${rejected}&payout=1.234,56&currency=EUR&status=sale&txid=R`,
      `cid=${rejected}&payout=1.234,56&currency=EUR&status=rejected&txid=R`,
      `cid=${chargeback}&payout=7&currency=EUR&status=sale&txid=C`,
      `cid=${chargeback}&currency=EUR&status=chargeback&txid=C`,
    ];
    for (const query of postbacks) expect((await t.app.inject({ method: 'GET', url: `/postback?${query}` })).body).toBe('OK');

    const rows = await log(`&campaign=${own}`);
    const byClick = (id: string) => rows.find((r) => r.clickId === id);
    expect(rows).toHaveLength(5);
    expect(byClick(lead)).toMatchObject({ status: 'lead', amount: 3, currency: 'EUR', payout: 3.3, revenue: 0 });
    expect(byClick(sale)).toMatchObject({ status: 'sale', amount: 10, currency: 'EUR', payout: 11, revenue: 11 });
    expect(byClick(rebill)).toMatchObject({ status: 'rebill', amount: 2.5, currency: 'EUR', payout: 2.75, revenue: 2.75 });
    // The 1,234.56 the network once approved is still shown as its payout, but is not revenue.
    expect(byClick(rejected)).toMatchObject({ status: 'rejected', amount: 1234.56, currency: 'EUR', payout: 1358.016, revenue: 0 });
    expect(byClick(chargeback)).toMatchObject({ status: 'chargeback', amount: 7, currency: 'EUR', payout: 7.7, revenue: 0 });

    // Summing the revenue column gives what the report calls revenue (by conversion day, as the
    // log lists conversions by the day they were made).
    const report = await t.app.inject({ method: 'GET', url: `/api/report?from=${firstDay}&to=${day()}&groupBy=campaign&filter[campaign]=${own}&basis=conversion`, headers: adminAuth });
    expect(report.statusCode, report.body).toBe(200);
    expect(report.json().totals.revenue).toBe(13.75);
    expect(rows.reduce((sum, r) => sum + r.revenue, 0)).toBe(report.json().totals.revenue);
  });

  it('explains the money fields in its OpenAPI description', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    const entry = doc.paths['/api/conversions'].get.responses['200'].content['application/json'].schema.properties.rows.items;
    for (const field of ['amount', 'currency', 'payout', 'revenue']) expect(entry.properties[field]?.description, field).toBeTruthy();
    expect(entry.properties.revenue.description).toMatch(/sale or rebill/);
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
