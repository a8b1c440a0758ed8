import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminAuth, startApp, type TestApp } from '../helpers/app.js';

interface Feed {
  id: string;
  url: string;
  username: string;
  password: string;
}

const basic = (username: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}` });

describe('ad-platform conversion feeds', () => {
  let t: TestApp;
  let campaign: string;
  /** Click ids by name, and their click times (ms) as ClickHouse has them. */
  const clicks = new Map<string, { id: string; ms: number }>();

  const createFeed = async (payload: object): Promise<Feed> => {
    const res = await t.app.inject({ method: 'POST', url: '/api/feeds', headers: adminAuth, payload });
    expect(res.statusCode, res.body).toBe(201);
    return res.json();
  };
  const path = (f: Feed) => new URL(f.url).pathname;
  const fetchFeed = async (f: Feed) => {
    const res = await t.app.inject({ method: 'GET', url: path(f), headers: basic(f.username, f.password) });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/csv/);
    return res.body;
  };
  const googleRows = async (f: Feed) => {
    const body = await fetchFeed(f);
    expect(body.split('\r\n')[0]).toBe('Google Click ID,Conversion Name,Conversion Time,Conversion Value,Conversion Currency');
    return parse(body, { columns: true }) as Record<string, string>[];
  };

  const click = async (name: string, query: string) => {
    const res = await t.app.inject({ method: 'GET', url: `/c/${campaign}?kw=shoes&${query}` });
    clicks.set(name, { id: res.headers['x-keyrev-click-id'] as string, ms: 0 });
  };
  const postback = async (name: string, query: string) => {
    const res = await t.app.inject({ method: 'GET', url: `/postback?cid=${clicks.get(name)!.id}&${query}` });
    expect(res.body).toBe('OK');
  };

  beforeAll(async () => {
    t = await startApp({ KEYREV_FLUSH_INTERVAL_MS: '20' });
    campaign = (await t.app.inject({ method: 'POST', url: '/api/campaigns', headers: adminAuth, payload: { name: 'Search', offerUrl: 'https://o.example/?c={clickid}' } })).json().id;
    await click('sale', 'gclid=Gsale');
    await click('leadThenSale', 'gclid=Gupgraded');
    await click('rejected', 'gclid=Grejected');
    await click('lead', 'gclid=Glead');
    await click('noGclid', 'utm_source=google');
    await click('twoSales', 'gclid=Gtwo');
    await click('euro', 'gclid=Geuro');
    await click('formula', `gclid=${encodeURIComponent('=HYPERLINK("x")')}`);
    await click('bing', 'msclkid=f894f652ea334e739002f7167ab8f8e3');
    await t.app.keyrev.clicks.flusher.drain();
    for (const [name, c] of clicks) {
      const res = await t.app.inject({ method: 'GET', url: `/api/clicks/${c.id}`, headers: adminAuth });
      expect(res.statusCode, `${name}: ${res.body}`).toBe(200);
      c.ms = Date.parse(`${res.json().ts.replace(' ', 'T')}Z`);
    }
    await postback('sale', 'payout=12,50&txid=S');
    await postback('leadThenSale', 'payout=3&txid=U&status=lead');
    await postback('leadThenSale', 'payout=30&txid=U&status=sale');
    await postback('rejected', 'payout=9&txid=R&status=sale');
    await postback('rejected', 'payout=9&txid=R&status=rejected');
    await postback('lead', 'payout=1&txid=L&status=lead');
    await postback('noGclid', 'payout=5&txid=N');
    await postback('twoSales', 'payout=2&txid=A');
    await postback('twoSales', 'payout=3&txid=B');
    await postback('euro', 'payout=7.25&currency=EUR&txid=E');
    await postback('formula', 'payout=1&txid=F');
    await postback('bing', 'payout=40&txid=M');
    await t.app.keyrev.postbacks.flusher.drain();
  });
  afterAll(async () => t.close());

  it('serves the Google Ads offline conversion import file: sales of clicks with a gclid, at their latest status, after their click', async () => {
    const feed = await createFeed({ platform: 'google-ads', conversionName: 'Offline sale, "web"' });
    const rows = await googleRows(feed);
    // One line per click id and time, as Google deduplicates.
    const keys = rows.map((r) => `${r['Google Click ID']}|${r['Conversion Time']}`);
    expect(new Set(keys).size).toBe(keys.length);
    const byClick = new Map<string, { value: number; currency: string; times: string[] }>();
    for (const r of rows) {
      expect(r['Conversion Name']).toBe('Offline sale, "web"');
      expect(r['Conversion Time']).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\+00:00$/);
      const entry = byClick.get(r['Google Click ID']!) ?? { value: 0, currency: r['Conversion Currency']!, times: [] };
      entry.value += Number(r['Conversion Value']);
      entry.times.push(r['Conversion Time']!);
      byClick.set(r['Google Click ID']!, entry);
    }
    // A spreadsheet would run a cell starting with '='; it gets the exports' leading quote.
    expect([...byClick.keys()].sort()).toEqual(["'=HYPERLINK(\"x\")", 'Geuro', 'Gsale', 'Gtwo', 'Gupgraded'].sort());
    expect(byClick.get('Gsale')).toMatchObject({ value: 12.5, currency: 'USD' });
    expect(byClick.get('Gupgraded')).toMatchObject({ value: 30, currency: 'USD' });
    expect(byClick.get('Geuro')).toMatchObject({ value: 7.25, currency: 'EUR' });
    expect(byClick.get('Gtwo')!.value).toBe(5);
    const clickOf: Record<string, string> = { Gsale: 'sale', Gupgraded: 'leadThenSale', Geuro: 'euro', Gtwo: 'twoSales' };
    for (const [gclid, name] of Object.entries(clickOf)) {
      for (const time of byClick.get(gclid)!.times) {
        // Whole seconds, strictly after the click (Google refuses a conversion before or at its click).
        expect(Date.parse(time.replace(' ', 'T'))).toBeGreaterThan(clicks.get(name)!.ms);
        expect(Date.parse(time.replace(' ', 'T'))).toBeLessThan(Date.now() + 1000);
      }
    }
  });

  it('lists the statuses asked for: leads too, never rejected ones', async () => {
    const feed = await createFeed({ platform: 'google-ads', conversionName: 'Lead', statuses: ['lead', 'sale'] });
    const gclids = (await googleRows(feed)).map((r) => r['Google Click ID']);
    expect(gclids).toContain('Glead');
    expect(gclids).not.toContain('Grejected');
    const leadsOnly = await createFeed({ platform: 'google-ads', conversionName: 'Lead', statuses: ['lead'] });
    expect((await googleRows(leadsOnly)).map((r) => r['Google Click ID'])).toEqual(['Glead']);
    const refused = await t.app.inject({ method: 'POST', url: '/api/feeds', headers: adminAuth, payload: { platform: 'google-ads', conversionName: 'x', statuses: ['chargeback'] } });
    expect(refused.statusCode).toBe(400);
  });

  it('serves the Microsoft Advertising bulk offline-conversion file', async () => {
    const feed = await createFeed({ platform: 'microsoft-ads', conversionName: 'Offline sale' });
    const body = await fetchFeed(feed);
    const table = parse(body) as string[][];
    expect(table[0]).toEqual(['Type', 'Status', 'Id', 'Parent Id', 'Client Id', 'Name', 'Conversion Currency Code', 'Conversion Name', 'Conversion Time', 'Conversion Value', 'Microsoft Click Id']);
    expect(table[1]).toEqual(['Format Version', '', '', '', '', '6.0', '', '', '', '', '']);
    const records = (parse(body, { columns: true, from_line: 1 }) as Record<string, string>[]).slice(1);
    expect(records).toHaveLength(1);
    const r = records[0]!;
    expect(r).toMatchObject({ Type: 'Offline Conversion', 'Conversion Currency Code': 'USD', 'Conversion Name': 'Offline sale', 'Conversion Value': '40', 'Microsoft Click Id': 'f894f652ea334e739002f7167ab8f8e3' });
    expect(r['Conversion Time']).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(Date.parse(r['Conversion Time']!)).toBeGreaterThan(clicks.get('bing')!.ms);
  });

  it('covers the clicks of the last `days` only', async () => {
    // A conversion of a click 40 days ago, written as attribution writes it (there is no API to click in the past).
    const old = new Date(Date.now() - 40 * 86_400_000);
    const at = (d: Date) => d.toISOString().replace('T', ' ').replace('Z', '');
    await t.app.keyrev.warehouse.insert('attributed_conversions', [
      { click_id: '1', conversion_type: '', txid: 'old', network: '', status: 'sale', amount: '4', currency: 'USD', revenue: '4', converted_at: at(new Date(old.getTime() + 60_000)), sign: 1, version: 1, clicked_at: at(old), campaign_id: campaign, gclid: 'Gold' },
    ]);
    const month = await createFeed({ platform: 'google-ads', conversionName: 'Sale' });
    expect((await googleRows(month)).map((r) => r['Google Click ID'])).not.toContain('Gold');
    const twoMonths = await createFeed({ platform: 'google-ads', conversionName: 'Sale', days: 60 });
    expect((await googleRows(twoMonths)).map((r) => r['Google Click ID'])).toContain('Gold');
    for (const days of [0, 91, 1.5]) {
      expect((await t.app.inject({ method: 'POST', url: '/api/feeds', headers: adminAuth, payload: { platform: 'google-ads', conversionName: 'x', days } })).statusCode).toBe(400);
    }
  });

  it('needs the basic-auth credentials: no auth, a wrong password or another feed read nothing', async () => {
    const feed = await createFeed({ platform: 'google-ads', conversionName: 'Sale' });
    const other = await createFeed({ platform: 'google-ads', conversionName: 'Sale' });
    const refused = [
      {},
      basic(feed.username, `${feed.password}x`),
      basic(feed.username, ''),
      basic(other.username, other.password),
      { authorization: `Bearer ${feed.password}` },
      { authorization: 'Basic !!!' },
      adminAuth,
    ];
    for (const headers of refused) {
      const res = await t.app.inject({ method: 'GET', url: path(feed), headers });
      expect(res.statusCode, JSON.stringify(headers)).toBe(401);
      expect(res.headers['www-authenticate']).toMatch(/^Basic realm=/);
      expect(res.json()).toMatchObject({ code: 'KR_UNAUTHORIZED' });
      expect(res.body).not.toContain('Gsale');
    }
    // An unknown feed is the same 401, whatever the credentials, so ids cannot be probed.
    expect((await t.app.inject({ method: 'GET', url: '/feeds/nosuchfeed/conversions.csv', headers: basic(feed.username, feed.password) })).statusCode).toBe(401);
    // A deleted feed's URL is closed.
    expect((await t.app.inject({ method: 'DELETE', url: `/api/feeds/${feed.id}`, headers: adminAuth })).statusCode).toBe(204);
    expect((await t.app.inject({ method: 'GET', url: path(feed), headers: basic(feed.username, feed.password) })).statusCode).toBe(401);
    expect((await t.app.inject({ method: 'DELETE', url: `/api/feeds/${feed.id}`, headers: adminAuth })).statusCode).toBe(404);
  });

  it('never shows a password again, and the admin API needs the admin key', async () => {
    const feed = await createFeed({ platform: 'microsoft-ads', conversionName: 'Sale' });
    expect(feed.password.length).toBeGreaterThanOrEqual(32);
    expect(feed.url).toMatch(new RegExp(`^http://[^/]+/feeds/${feed.id}/conversions\\.csv$`));
    const list = await t.app.inject({ method: 'GET', url: '/api/feeds', headers: adminAuth });
    const one = await t.app.inject({ method: 'GET', url: `/api/feeds/${feed.id}`, headers: adminAuth });
    for (const res of [list, one]) {
      expect(res.statusCode).toBe(200);
      expect(res.body).not.toContain(feed.password);
      expect(res.body).not.toContain('passwordDigest');
    }
    expect(one.json()).toMatchObject({ id: feed.id, platform: 'microsoft-ads', statuses: ['sale'], days: 30, username: feed.username, url: feed.url });
    expect(list.json().feeds.map((f: Feed) => f.id)).toContain(feed.id);
    expect((await t.app.inject({ method: 'GET', url: '/api/feeds' })).statusCode).toBe(401);
    expect((await t.app.inject({ method: 'POST', url: '/api/feeds', payload: { platform: 'google-ads', conversionName: 'x' } })).statusCode).toBe(401);
  });
});
