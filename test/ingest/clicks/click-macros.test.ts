import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminAuth, startApp, type TestApp } from '../../helpers/app.js';

/**
 * The offer URL a click is sent to, checked against URLs written out by hand: a campaign's offer
 * URL with macros, a tracking link with given parameters, and the Location header it must get.
 */
describe('offer macros on the redirect path', () => {
  let t: TestApp;
  let campaignId: string;
  let clickIdCampaign: string;

  const createCampaign = async (payload: Record<string, unknown>) => {
    const res = await t.app.inject({ method: 'POST', url: '/api/campaigns', headers: adminAuth, payload });
    expect(res.statusCode, res.body).toBe(201);
    return res.json().id as string;
  };

  beforeAll(async () => {
    t = await startApp({ KEYREV_FLUSH_INTERVAL_MS: '50' });
    campaignId = await createCampaign({
      name: 'Shoes',
      offerUrl: 'https://offer.example/lp?kw={keyword}&ad={AD}&mt={matchtype}&cost={cost}&s1={sub1}&s2={sub2}&src={traffic_source}&x={custom}&u={unknown}',
      trafficSource: 'google ads',
      costModel: 'cpc',
      costValue: 0.5,
    });
    clickIdCampaign = await createCampaign({ name: 'Ids', offerUrl: 'https://offer.example/c/{clickid}?camp={campaign}&kw={keyword}' });
  });
  afterAll(async () => t?.close());

  const click = (id: string, query: string) => t.app.inject({ method: 'GET', url: `/c/${id}${query}` });

  it.each([
    [
      'no parameters: known macros empty, the cost from the cost model, other macros left as written',
      '',
      'https://offer.example/lp?kw=&ad=&mt=&cost=0.500000&s1=&s2=&src=google%20ads&x={custom}&u={unknown}',
    ],
    [
      'spaces (+ and %20), a literal plus, an ampersand, an equals sign and non-ASCII text',
      '?kw=running+shoes&ad=4711&matchtype=e&sub1=c%2B%2B&sub2=Tom%20%26%20Jerry%3D1&custom=caf%C3%A9%20%E6%97%A5%E6%9C%AC&unknown=a%2Fb',
      'https://offer.example/lp?kw=running%20shoes&ad=4711&mt=e&cost=0.500000&s1=c%2B%2B&s2=Tom%20%26%20Jerry%3D1&src=google%20ads&x=caf%C3%A9%20%E6%97%A5%E6%9C%AC&u=a%2Fb',
    ],
    [
      'unfilled macros count as absent, and the next alias of the column is used',
      '?kw={keyword}&keyword=%7Bkeyword%7D&keyword_text=blue+shoes&ad=[ad]&matchtype=%23matchtype%23&sub1=REPLACE&sub2={{sub2}}',
      'https://offer.example/lp?kw=blue%20shoes&ad=&mt=&cost=0.500000&s1=&s2=&src=google%20ads&x={custom}&u={unknown}',
    ],
    [
      'aliases in any case, the first value of a repeated name, and a cost the link passes (with a comma)',
      '?KW=first&kw=second&Creative=c1&ad=a2&MatchType=p&cost=1,5&cost=9',
      'https://offer.example/lp?kw=first&ad=c1&mt=p&cost=1.5&s1=&s2=&src=google%20ads&x={custom}&u={unknown}',
    ],
    [
      'a cost that is not a number is skipped for the next one; broken escapes are kept as written',
      '?cost=abc&COST=0.35&kw=50%+off&sub1=%E0%A4%A',
      'https://offer.example/lp?kw=50%25%20off&ad=&mt=&cost=0.35&s1=%25E0%25A4%25A&s2=&src=google%20ads&x={custom}&u={unknown}',
    ],
    [
      'a macro named by a parameter is case-sensitive in the link (custom, not Custom); names are decoded',
      '?Custom=no&cust%6Fm=yes&Unknown=no',
      'https://offer.example/lp?kw=&ad=&mt=&cost=0.500000&s1=&s2=&src=google%20ads&x=yes&u={unknown}',
    ],
  ])('%s', async (_what, query, location) => {
    const res = await click(campaignId, query);
    expect(res.statusCode).toBe(302);
    expect(res.headers.location).toBe(location);
  });

  it('cuts a column value to 512 characters before encoding it', async () => {
    const res = await click(campaignId, `?kw=${'%C3%A9'.repeat(600)}`);
    expect(res.statusCode).toBe(302);
    expect(res.headers.location).toBe(
      `https://offer.example/lp?kw=${'%C3%A9'.repeat(512)}&ad=&mt=&cost=0.500000&s1=&s2=&src=google%20ads&x={custom}&u={unknown}`,
    );
  });

  it('fills {clickid} with the id of the recorded click and {campaign} with the campaign id', async () => {
    const res = await click(clickIdCampaign, '?kw=a%26b%20c');
    expect(res.statusCode).toBe(302);
    const clickId = res.headers['x-keyrev-click-id'] as string;
    expect(clickId).toMatch(/^\d+$/);
    expect(res.headers.location).toBe(`https://offer.example/c/${clickId}?camp=${clickIdCampaign}&kw=a%26b%20c`);
  });

  it('sends the offer the values the click row stores', async () => {
    const res = await click(campaignId, '?kw=running+shoes&ad=[ad]&creative=4711&sub2=Tom%20%26%20Jerry&custom=caf%C3%A9&cost=0,35');
    expect(res.headers.location).toBe(
      'https://offer.example/lp?kw=running%20shoes&ad=4711&mt=&cost=0.35&s1=&s2=Tom%20%26%20Jerry&src=google%20ads&x=caf%C3%A9&u={unknown}',
    );
    await t.app.keyrev.clicks.flusher.drain();
    const rows = await t.app.keyrev.warehouse.query<Record<string, unknown>>(
      'SELECT keyword, ad, match_type, sub1, sub2, traffic_source, cost, extra FROM clicks WHERE click_id = {id:UInt64}',
      { id: res.headers['x-keyrev-click-id'] as string },
    );
    expect(rows).toEqual([
      { keyword: 'running shoes', ad: '4711', match_type: '', sub1: '', sub2: 'Tom & Jerry', traffic_source: 'google ads', cost: 0.35, extra: { custom: 'café' } },
    ]);
  });
});
