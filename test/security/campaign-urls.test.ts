import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminAuth, startApp, type TestApp } from '../helpers/app.js';

/**
 * Attack: an offer or fallback URL that passes validation but cannot be sent as a Location
 * header (non-ASCII, a Cyrillic host, CR/LF). Before the fix every click on such a campaign
 * answered 500 (ERR_INVALID_CHAR) while the click counted as recorded. Now a URL is normalised
 * when it is saved (punycode host, percent-encoded path and query, macros kept) or refused with
 * a 400, and a click never answers 500 whatever is stored.
 */
describe('campaign URLs a click cannot be redirected to', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp({ KEYREV_FLUSH_INTERVAL_MS: '20' });
  });
  afterAll(async () => t.close());

  const post = (body: object) => t.app.inject({ method: 'POST', url: '/api/campaigns', headers: adminAuth, payload: body });
  const click = (id: string, query = '') => t.app.inject({ method: 'GET', url: `/c/${id}${query}`, remoteAddress: '203.0.113.9' });
  const rowOf = async (clickId: string) => {
    await t.app.keyrev.clicks.flusher.drain();
    const [row] = await t.app.keyrev.warehouse.query<{ missed: number; campaign_id: string }>('SELECT missed, campaign_id FROM clicks WHERE click_id = {id:UInt64}', { id: clickId });
    return row;
  };
  const missedClicks = async () => Number(/^keyrev_clicks_total\{result="missed"\} (\d+)$/m.exec((await t.app.inject({ method: 'GET', url: '/metrics' })).body)?.[1] ?? 0);

  // What WHATWG URL (and every browser) makes of each: the stored value is what a click sends.
  const normalised: [string, string][] = [
    ['https://shop.example/€?id={clickid}', 'https://shop.example/%E2%82%AC?id={clickid}'],
    ['https://пример.рф/?id={clickid}', 'https://xn--e1afmkfd.xn--p1ai/?id={clickid}'],
    ['https://shop.example/landing page?q=café ünï&kw={keyword}#top €', 'https://shop.example/landing%20page?q=caf%C3%A9%20%C3%BCn%C3%AF&kw={keyword}#top%20%E2%82%AC'],
    ['https://Shop.Example/Wege/straße?s={Sub1}', 'https://shop.example/Wege/stra%C3%9Fe?s={Sub1}'],
  ];

  it.each(normalised)('stores %j as %j, for the offer and the fallback URL', async (input, stored) => {
    const res = await post({ name: 'n', offerUrl: input, fallbackUrl: input });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json()).toMatchObject({ offerUrl: stored, fallbackUrl: stored });
    const patched = await t.app.inject({ method: 'PATCH', url: `/api/campaigns/${res.json().id}`, headers: adminAuth, payload: { offerUrl: input } });
    expect(patched.json().offerUrl).toBe(stored);
  });

  const refused: [string, RegExp][] = [
    ['https://shop.example/?a=1\nb={clickid}', /line breaks/],
    ['https://shop.example/?a=1\r\nSet-Cookie: session=stolen', /line breaks/],
    ['https://shop.example/\r\n\r\n<script>alert(1)</script>', /line breaks/],
    ['https://shop.example/a\tb', /control characters/],
    ['https://shop.example/\u0000', /control characters/],
  ];

  it.each(refused)('refuses %j with a 400 and a one-line reason, as offer or fallback URL', async (input, reason) => {
    for (const field of ['offerUrl', 'fallbackUrl'] as const) {
      const res = await post({ name: 'r', offerUrl: 'https://ok.example/', [field]: input });
      expect(res.statusCode, res.body).toBe(400);
      expect(res.json()).toMatchObject({ statusCode: 400, code: 'KR_BAD_REQUEST', error: 'Bad Request' });
      expect(res.json().message).toMatch(new RegExp(`^body\\.${field}: `));
      expect(res.json().message).toMatch(reason);
      expect(res.json().message).not.toMatch(/[\r\n]/);
    }
  });

  it('redirects a click on a non-ASCII campaign to its punycode and percent-encoded URL (302, not 500)', async () => {
    const idn = (await post({ name: 'idn', offerUrl: 'https://пример.рф/über?id={clickid}&kw={keyword}' })).json();
    const res = await click(idn.id, '?kw=rotes+k%C3%A4ppchen');
    expect(res.statusCode, res.body).toBe(302);
    const clickId = res.headers['x-keyrev-click-id'] as string;
    expect(res.headers.location).toBe(`https://xn--e1afmkfd.xn--p1ai/%C3%BCber?id=${clickId}&kw=rotes%20k%C3%A4ppchen`);
    expect(await rowOf(clickId)).toMatchObject({ missed: 0, campaign_id: idn.id });
  });

  it('never lets a click value put CR/LF or a header into Location', async () => {
    const c = (await post({ name: 'inj', offerUrl: 'https://shop.example/?kw={keyword}&s={sub1}&x={custom}' })).json();
    const res = await click(c.id, '?kw=a%0D%0ASet-Cookie:%20session=stolen&sub1=%0A%0D%E2%82%AC&custom=%0D%0ALocation:%20https://evil.example/');
    expect(res.statusCode, res.body).toBe(302);
    expect(res.headers['set-cookie']).toBeUndefined();
    // The parser drops control characters, and each value is URL-encoded once.
    expect(res.headers.location).toBe('https://shop.example/?kw=aSet-Cookie%3A%20session%3Dstolen&s=%E2%82%AC&x=Location%3A%20https%3A%2F%2Fevil.example%2F');
  });

  it('refuses a lone surrogate in a campaign text field, and a click on one stored by an older keyrev still redirects and is stored', async () => {
    // encodeURIComponent throws URIError on a lone surrogate, and ClickHouse refuses a row holding
    // one: the whole spool segment with it (other visitors' clicks) was set aside, never inserted.
    const refused = await post({ name: 'ls', trafficSource: 'goo\ud800gle', offerUrl: 'https://shop.example/?src={traffic_source}' });
    expect(refused.statusCode).toBe(400);
    expect(refused.json().message).toMatch(/^body\.trafficSource: .*lone surrogates/);
    const c = (await post({ name: 'ls', offerUrl: 'https://shop.example/?src={traffic_source}' })).json();
    await t.app.campaigns.update(c.id, { trafficSource: 'goo\ud800gle' });
    const other = (await post({ name: 'neighbour', offerUrl: 'https://ok.example/' })).json();
    const res = await click(c.id);
    expect(res.statusCode, res.body).toBe(302);
    expect(res.headers.location).toBe('https://shop.example/?src=goo%EF%BF%BDgle');
    const neighbour = await click(other.id);
    expect(await rowOf(res.headers['x-keyrev-click-id'] as string)).toMatchObject({ missed: 0, campaign_id: c.id });
    expect(await rowOf(neighbour.headers['x-keyrev-click-id'] as string)).toMatchObject({ missed: 0, campaign_id: other.id });
    expect((await t.app.inject({ method: 'GET', url: '/metrics' })).body).not.toMatch(/keyrev_flush_failures_total\{table="clicks",reason="refused"\}/);
  });

  // Campaigns stored before URLs were checked (written here through the domain object, past
  // the HTTP schema, as an older keyrev did) must not turn clicks into 500s either.
  it('redirects a click on a stored non-ASCII offer URL to its encoded form', async () => {
    const c = (await post({ name: 'legacy-ascii', offerUrl: 'https://ok.example/' })).json();
    await t.app.campaigns.update(c.id, { offerUrl: 'https://shop.example/€?id={clickid}' });
    // The admin API still shows it as stored (so it can be fixed), rather than failing on it.
    const list = await t.app.inject({ method: 'GET', url: '/api/campaigns', headers: adminAuth });
    expect(list.statusCode, list.body).toBe(200);
    expect(list.json().campaigns.find((x: { id: string }) => x.id === c.id).offerUrl).toBe('https://shop.example/€?id={clickid}');

    const res = await click(c.id);
    expect(res.statusCode, res.body).toBe(302);
    const clickId = res.headers['x-keyrev-click-id'] as string;
    expect(res.headers.location).toBe(`https://shop.example/%E2%82%AC?id=${clickId}`);
    expect(await rowOf(clickId)).toMatchObject({ missed: 0, campaign_id: c.id });
  });

  it('sends a click on a stored offer URL with CR/LF to the fallback URL and counts it as missed', async () => {
    const c = (await post({ name: 'legacy-crlf', offerUrl: 'https://ok.example/', fallbackUrl: 'https://fallback.example/?c={clickid}' })).json();
    await t.app.campaigns.update(c.id, { offerUrl: 'https://shop.example/?a=1\r\nSet-Cookie: session=stolen' });
    const before = await missedClicks();
    const res = await click(c.id);
    expect(res.statusCode, res.body).toBe(302);
    expect(res.headers['set-cookie']).toBeUndefined();
    const clickId = res.headers['x-keyrev-click-id'] as string;
    expect(res.headers.location).toBe(`https://fallback.example/?c=${clickId}`);
    expect(await missedClicks()).toBe(before + 1);
    expect(await rowOf(clickId)).toMatchObject({ missed: 1, campaign_id: c.id });
  });

  it('answers "This link is not active." when neither the offer nor any fallback can be sent', async () => {
    const c = (await post({ name: 'legacy2', offerUrl: 'https://ok.example/' })).json();
    await t.app.campaigns.update(c.id, { offerUrl: 'https://shop.example/?a=1\r\nSet-Cookie: session=stolen', fallbackUrl: 'https://пример.рф/\n' });
    const res = await click(c.id);
    expect(res.statusCode, res.body).toBe(404);
    expect(res.body).toBe('This link is not active.\n');
    expect(res.headers['set-cookie']).toBeUndefined();
    expect(await rowOf(res.headers['x-keyrev-click-id'] as string)).toMatchObject({ missed: 1 });

    // A paused campaign whose stored fallback cannot be sent: the same page, not a 500.
    await t.app.campaigns.update(c.id, { status: 'paused' });
    expect((await click(c.id)).statusCode).toBe(404);
  });

  it('sends missed clicks to a non-ASCII KEYREV_FALLBACK_URL in its encoded form', async () => {
    await t.close();
    t = await startApp({ KEYREV_DATA_DIR: t.dataDir, KEYREV_FALLBACK_URL: 'https://пример.рф/нет' });
    const res = await click('nosuchcampaign');
    expect(res.statusCode, res.body).toBe(302);
    expect(res.headers.location).toBe('https://xn--e1afmkfd.xn--p1ai/%D0%BD%D0%B5%D1%82');
  });
});
