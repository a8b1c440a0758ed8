import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminAuth, startApp, tempDir, type TestApp } from '../helpers/app.js';

const chrome = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
const landing = 'https://www.shoes.example';

describe('search ads under parallel tracking', () => {
  const dataDir = tempDir();
  let t: TestApp;
  let campaignId: string;

  beforeAll(async () => {
    t = await startApp({ KEYREV_DATA_DIR: dataDir, KEYREV_FLUSH_INTERVAL_MS: '50' });
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/campaigns',
      headers: adminAuth,
      payload: { name: 'Shoes search', offerUrl: 'https://offer.example/buy?sub={clickid}', trafficSource: 'google', landingDomains: ['Shoes.Example'], attributionDays: 14 },
    });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({ landingDomains: ['shoes.example'], attributionDays: 14 });
    campaignId = res.json().id;
  });
  afterAll(async () => t.close());

  const background = (query: string) =>
    t.app.inject({ method: 'GET', url: `/c/${campaignId}?${query}`, headers: { 'user-agent': chrome }, remoteAddress: '203.0.113.9' });
  const visit = (url: string, origin: string | null = landing, id = campaignId, remoteAddress = '203.0.113.9') =>
    t.app.inject({
      method: 'POST',
      url: `/lp/${id}`,
      headers: { 'content-type': 'text/plain', 'user-agent': chrome, ...(origin === null ? {} : { origin }) },
      payload: JSON.stringify({ url, referrer: 'https://www.google.com/' }),
      remoteAddress,
    });
  const clickRow = async (clickId: string) => {
    await t.app.keyrev.clicks.flusher.drain();
    return (await t.app.keyrev.warehouse.query<Record<string, string>>('SELECT keyword, gclid, referrer, extra FROM clicks WHERE click_id = {id:UInt64}', { id: clickId }))[0];
  };
  const postback = (query: string) => t.app.inject({ method: 'GET', url: `/postback?${query}` });

  it('sends a tracking template hit to lpurl only when its host is on the landing domains', async () => {
    const allowed = await background(`kw=shoes&gclid=G-ok-1&lpurl=${encodeURIComponent('https://www.shoes.example/red?x=1&y={z}')}`);
    expect(allowed.statusCode).toBe(302);
    expect(allowed.headers.location).toBe('https://www.shoes.example/red?x=1&y={z}');
    // Escaped twice, as a template that escapes {lpurl} again sends it.
    const twice = await background(`lpurl=${encodeURIComponent(encodeURIComponent('https://shoes.example/'))}`);
    expect(twice.headers.location).toBe('https://shoes.example/');
    for (const lpurl of [
      'https://evil.example/',
      'https://shoes.example.evil.example/',
      'https://evilshoes.example/',
      'javascript:alert(1)//shoes.example',
      '//shoes.example/',
      'https://evil.example/?to=shoes.example',
      'https://shoes.example@evil.example/',
    ]) {
      const res = await background(`lpurl=${encodeURIComponent(lpurl)}`);
      expect(res.statusCode, lpurl).toBe(302);
      expect(res.headers.location, lpurl).toMatch(/^https:\/\/offer\.example\/buy\?sub=\d+$/);
    }
  });

  it('resolves the landing page of a background hit to the same click, and a new gclid to a new click with the page keyword', async () => {
    const hit = await background(`kw=red+shoes&gclid=G-one&lpurl=${encodeURIComponent(`${landing}/`)}`);
    const clickId = hit.headers['x-keyrev-click-id'] as string;
    const same = await visit(`${landing}/?gclid=G-one&kw=red+shoes`);
    expect(same.statusCode).toBe(200);
    expect(same.headers['access-control-allow-origin']).toBe(landing);
    expect(same.json()).toEqual({ clickId, attributionDays: 14, repeat: true });
    // The page loaded before the background hit arrived: the hit is the page's click, not a second one.
    const first = await visit(`${landing}/p?gclid=G-two&kw=blue+shoes&utm_source=google`);
    expect(first.json()).toMatchObject({ repeat: false });
    const late = await background(`kw=blue+shoes&gclid=G-two&lpurl=${encodeURIComponent(`${landing}/p`)}`);
    expect(late.headers['x-keyrev-click-id']).toBe(first.json().clickId);
    expect(late.headers.location).toBe(`${landing}/p`);
    expect(await clickRow(first.json().clickId)).toMatchObject({ keyword: 'blue shoes', gclid: 'G-two', referrer: 'https://www.google.com/' });
    const stored = await t.app.keyrev.warehouse.query<{ n: string }>("SELECT count() AS n FROM clicks WHERE gclid = 'G-two'");
    expect(stored[0]!.n).toBe('1');
  });

  it('makes a click of a visit without any platform id (direct tracking)', async () => {
    const res = await visit(`${landing}/?kw=sandals&utm_source=newsletter`);
    expect(res.json().repeat).toBe(false);
    expect(await clickRow(res.json().clickId)).toMatchObject({ keyword: 'sandals', gclid: '' });
  });

  it('answers CORS only for the landing domains, and records nothing for other origins or pages', async () => {
    const before = await t.app.keyrev.warehouse.query<{ n: string }>('SELECT count() AS n FROM clicks');
    const wrongOrigin = await visit(`${landing}/?gclid=G-x`, 'https://evil.example');
    expect(wrongOrigin.statusCode).toBe(403);
    expect(wrongOrigin.headers['access-control-allow-origin']).toBeUndefined();
    expect(wrongOrigin.json().message).toMatch(/landingDomains/);
    expect((await visit(`https://evil.example/?gclid=G-x`)).statusCode).toBe(403);
    expect((await visit(`${landing}/?gclid=G-x`, null)).statusCode).toBe(403);
    expect((await visit(`${landing}/`, landing, 'no-such-campaign')).statusCode).toBe(404);
    const bad = await t.app.inject({ method: 'POST', url: `/lp/${campaignId}`, headers: { 'content-type': 'text/plain', origin: landing }, payload: '{"url":' });
    expect(bad.statusCode).toBe(400);
    const preflight = await t.app.inject({ method: 'OPTIONS', url: `/lp/${campaignId}`, headers: { origin: landing, 'access-control-request-method': 'POST' } });
    expect(preflight.statusCode).toBe(204);
    expect(preflight.headers['access-control-allow-origin']).toBe(landing);
    const refused = await t.app.inject({ method: 'OPTIONS', url: `/lp/${campaignId}`, headers: { origin: 'https://evil.example' } });
    expect(refused.headers['access-control-allow-origin']).toBeUndefined();
    await t.app.keyrev.clicks.flusher.drain();
    expect(await t.app.keyrev.warehouse.query<{ n: string }>('SELECT count() AS n FROM clicks')).toEqual(before);
  });

  it('limits the visits of one address', async () => {
    const answers = [];
    for (let i = 0; i < 61; i++) answers.push((await visit(`${landing}/?kw=flood${i}`, landing, campaignId, '198.51.100.20')).statusCode);
    expect(answers.slice(0, 60).every((s) => s === 200)).toBe(true);
    expect(answers[60]).toBe(429);
    expect((await visit(`${landing}/?kw=other`, landing, campaignId, '198.51.100.21')).statusCode).toBe(200);
    const metrics = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toMatch(/keyrev_landing_visits_total\{result="repeat"\} [1-9]/);
    expect(metrics).toMatch(/keyrev_landing_visits_total\{result="new"\} [1-9]\d/);
    expect(metrics).toMatch(/keyrev_landing_visits_total\{result="refused"\} [1-9]/);
  });

  it('credits a postback naming only the gclid to its click, before and after the click reaches ClickHouse', async () => {
    const hit = await background(`kw=boots&gclid=G-sale-1&lpurl=${encodeURIComponent(`${landing}/`)}`);
    const clickId = hit.headers['x-keyrev-click-id'] as string;
    // Before the flush: the process remembers the id.
    const early = await postback('gclid=G-sale-1&payout=12.50&txid=o-1');
    expect(early.statusCode, early.body).toBe(200);
    const unknown = await postback('gclid=G-never-seen&payout=1');
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().message).toMatch(/no click with the ad platform's click id/);
    // The sale is credited once both are in ClickHouse, whichever lands first.
    await t.app.keyrev.postbacks.flusher.drain();
    await t.app.keyrev.clicks.flusher.drain();
    const credited = await t.app.keyrev.warehouse.query<{ keyword: string; click_id: string }>('SELECT keyword, toString(click_id) AS click_id FROM attributed_conversions WHERE txid = {tx:String}', { tx: 'o-1' });
    expect(credited).toEqual([{ keyword: 'boots', click_id: clickId }]);
  });

  it('credits the lines of a bulk stream that name only a platform click id, and lists the unknown ones', async () => {
    const hit = await background(`kw=loafers&wbraid=W-bulk-1&lpurl=${encodeURIComponent(`${landing}/`)}`);
    const clickId = hit.headers['x-keyrev-click-id'] as string;
    const lines = [{ wbraid: 'W-bulk-1', payout: 5, txid: 'b-1' }, { gclid: 'G-bulk-unknown', payout: 5, txid: 'b-2' }, { cid: clickId, payout: 7, txid: 'b-3' }];
    const res = await t.app.inject({ method: 'POST', url: '/postbacks', headers: { 'content-type': 'application/x-ndjson', ...adminAuth }, payload: lines.map((l) => JSON.stringify(l)).join('\n') });
    expect(res.json()).toMatchObject({ lines: 3, accepted: 2, rejected: 1, errors: [{ line: 2 }] });
    expect(res.json().errors[0].reason).toMatch(/no click with the ad platform's click id/);
    await t.app.keyrev.postbacks.flusher.drain();
    await t.app.keyrev.clicks.flusher.drain();
    const credited = await t.app.keyrev.warehouse.query<{ txid: string; keyword: string }>("SELECT txid, keyword FROM attributed_conversions WHERE txid IN ('b-1', 'b-3') ORDER BY txid");
    expect(credited).toEqual([{ txid: 'b-1', keyword: 'loafers' }, { txid: 'b-3', keyword: 'loafers' }]);
  });

  it('after a restart, finds the click of a gclid in ClickHouse', async () => {
    const hit = await background(`kw=heels&msclkid=M-late-1&lpurl=${encodeURIComponent(`${landing}/`)}`);
    const clickId = hit.headers['x-keyrev-click-id'] as string;
    await t.app.keyrev.clicks.flusher.drain();
    await t.close();
    t = await startApp({ KEYREV_DATA_DIR: dataDir, KEYREV_FLUSH_INTERVAL_MS: '50' });
    expect((await visit(`${landing}/?msclkid=M-late-1`)).json()).toMatchObject({ clickId, repeat: true });
    const res = await postback('msclkid=M-late-1&payout=30&txid=o-2');
    expect(res.statusCode, res.body).toBe(200);
    await t.app.keyrev.postbacks.flusher.drain();
    const credited = await t.app.keyrev.warehouse.query<{ keyword: string }>('SELECT keyword FROM attributed_conversions WHERE txid = {tx:String}', { tx: 'o-2' });
    expect(credited).toEqual([{ keyword: 'heels' }]);
  });

  it('serves the landing-page script small, gzipped and revalidated by its version', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/lp.js', headers: { 'accept-encoding': 'gzip, br' } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-encoding']).toBe('gzip');
    expect(res.headers['cross-origin-resource-policy']).toBe('cross-origin');
    expect(res.rawPayload.length).toBeLessThan(2_500);
    const text = gunzipSync(res.rawPayload).toString();
    expect(text).toContain(`version: '${String(res.headers.etag).replaceAll('"', '')}'`);
    const again = await t.app.inject({ method: 'GET', url: '/lp.js', headers: { 'if-none-match': String(res.headers.etag) } });
    expect(again.statusCode).toBe(304);
  });

  it('refuses landing domains that are not host names', async () => {
    for (const bad of ['https://shoes.example', 'shoes.example/path', 'shoes.example:8080', '*.shoes.example', '10.0.0.1']) {
      const res = await t.app.inject({ method: 'PATCH', url: `/api/campaigns/${campaignId}`, headers: adminAuth, payload: { landingDomains: [bad] } });
      expect(res.statusCode, bad).toBe(400);
    }
  });
});
