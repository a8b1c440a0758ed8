import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClickIdGenerator } from '../../../core/click-id.js';
import { adminAuth, startApp, type TestApp } from '../../helpers/app.js';

const ids = new ClickIdGenerator(7);
const newClickId = () => ids.next().id.toString();

interface ConversionRow {
  click_id: string;
  conversion_type: string;
  txid: string;
  network: string;
  status: string;
  amount: string;
  currency: string;
  revenue: string;
  n: string;
}

describe('postbacks', () => {
  let t: TestApp;

  const conversionsOf = async (clickId: string): Promise<ConversionRow[]> => {
    await t.app.keyrev.postbacks.flusher.drain();
    // The folded state, as reports count it: sum(sign) over VersionedCollapsingMergeTree rows.
    const rows = await t.app.keyrev.warehouse.query<Record<string, string>>(
      `SELECT toString(click_id) AS id, conversion_type AS type, txid AS tx, any(network) AS net,
              argMax(status, version) AS st, toString(argMax(amount, version)) AS amt,
              argMax(currency, version) AS cur, toString(sum(revenue * sign)) AS rev, toString(sum(sign)) AS n
       FROM conversions WHERE click_id = {id:UInt64}
       GROUP BY click_id, conversion_type, txid HAVING sum(sign) != 0 ORDER BY txid`,
      { id: clickId },
    );
    return rows.map((r) => ({ click_id: r.id!, conversion_type: r.type!, txid: r.tx!, network: r.net!, status: r.st!, amount: r.amt!, currency: r.cur!, revenue: r.rev!, n: r.n! }));
  };
  const countRows = async (table: 'postbacks' | 'conversions') => {
    await t.app.keyrev.postbacks.flusher.drain();
    const [row] = await t.app.keyrev.warehouse.query<{ n: string }>(`SELECT toString(count()) AS n FROM ${table}`);
    return Number(row!.n);
  };
  const get = (url: string, remoteAddress = '198.51.100.20') => t.app.inject({ method: 'GET', url, remoteAddress });

  beforeAll(async () => {
    t = await startApp({ KEYREV_FLUSH_INTERVAL_MS: '50', KEYREV_CURRENCY: 'usd' });
    const admin = (method: 'POST' | 'PUT', url: string, payload: object) => t.app.inject({ method, url, headers: adminAuth, payload });
    expect((await admin('PUT', '/api/currency-rates', { base: 'USD', rates: { EUR: '1.10', GBP: 1.25 } })).statusCode).toBe(200);
    expect((await admin('POST', '/api/networks', { slug: 'affise', name: 'Affise', statusMap: { '1': 'sale', '2': 'lead', '3': 'rejected', '5': 'lead' } })).statusCode).toBe(201);
    expect((await admin('POST', '/api/networks', { slug: 'locked', name: 'Locked', secret: 's3cret-value', allowIps: ['203.0.113.0/24'], response: 'json' })).statusCode).toBe(201);
    expect((await admin('POST', '/api/networks', { slug: 'signed', name: 'Signed', signingKey: 'signing-key-0123456789', response: '1' })).statusCode).toBe(201);
    expect((await admin('POST', '/api/networks', { slug: 'adding', name: 'Adds payouts', duplicates: 'add', currency: 'EUR' })).statusCode).toBe(201);
    expect((await admin('POST', '/api/networks', { slug: 'narrow', name: 'Own names', params: { clickId: ['visit'], amount: ['value'] } })).statusCode).toBe(201);
  });
  afterAll(async () => t.close());

  // Postback URLs as each tracker documents them, filled the way networks fill them.
  const shapes: { style: string; url: (c: string) => string; expect: Partial<ConversionRow> }[] = [
    { style: 'Voluum', url: (c) => `/postback?cid=${c}&payout=12.50&txid=V-1&et=purchase`, expect: { status: 'sale', amount: '12.5', txid: 'V-1', conversion_type: 'purchase', currency: 'USD' } },
    { style: 'Keitaro', url: (c) => `/postback?subid=${c}&status=sale&payout=3,75&tid=K1&currency=eur`, expect: { status: 'sale', amount: '3.75', currency: 'EUR', revenue: '4.125' } },
    { style: 'Binom', url: (c) => `/postback?cnv_id=${c}&payout=1.5&txid=B1&cnv_status=approved`, expect: { status: 'sale', amount: '1.5', txid: 'B1' } },
    { style: 'RedTrack', url: (c) => `/postback?clickid=${c}&sum=7&type=ftd&status=approved`, expect: { status: 'sale', amount: '7', conversion_type: 'ftd' } },
    { style: 'BeMob', url: (c) => `/postback?cid=${c}&payout=2.00&txid=BM1&status=pending`, expect: { status: 'lead', amount: '2' } },
    { style: 'FunnelFlux', url: (c) => `/postback?hit=${c}&rev=9.99&tx=FF1`, expect: { status: 'sale', amount: '9.99', txid: 'FF1' } },
    { style: 'Everflow', url: (c) => `/postback?click_id=${c}&amount=4.20&transaction_id=EF1&event=signup&status=pending`, expect: { status: 'lead', conversion_type: 'signup', amount: '4.2' } },
    { style: 'TUNE/HasOffers', url: (c) => `/postback?aff_sub=${c}&amount=5.5&transaction_id=T1&goal=deposit&currency={currency}`, expect: { amount: '5.5', conversion_type: 'deposit', currency: 'USD' } },
    { style: 'CAKE', url: (c) => `/postback?s2=${c}&price=%23price%23&oid=C1`, expect: { amount: '0', txid: 'C1', status: 'sale' } },
    { style: 'Affise (numeric status)', url: (c) => `/postback/affise?clickid=${c}&sum=3,5&status=5&transactionid=A1`, expect: { status: 'lead', amount: '3.5', network: 'affise' } },
    { style: 'Prosper202 (+ in values)', url: (c) => `/postback?subid=${c}&amount=1+234,50&txid=order+42&status=%7Bstatus%7D`, expect: { amount: '1234.5', txid: 'order 42', status: 'sale' } },
    { style: 'own parameter names', url: (c) => `/postback/narrow?visit=${c}&value=0,99&cid=1`, expect: { amount: '0.99', network: 'narrow' } },
  ];

  it.each(shapes)('accepts a $style postback and records it once', async ({ url, expect: fields }) => {
    const clickId = newClickId();
    const res = await get(url(clickId));
    expect(res.statusCode, res.body).toBe(200);
    expect(res.body).toBe('OK');
    expect(res.headers['x-keyrev-outcome']).toBe('new');
    const [row, ...others] = await conversionsOf(clickId);
    expect(others).toHaveLength(0);
    expect(row).toMatchObject({ ...fields, n: '1' });
  });

  it('takes form and JSON bodies, the query string winning where both name a field', async () => {
    const form = newClickId();
    const res = await t.app.inject({ method: 'POST', url: '/postback?payout=2', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: `clickid=${form}&payout=99&txid=F1` });
    expect(res.statusCode, res.body).toBe(200);
    expect(await conversionsOf(form)).toMatchObject([{ amount: '2', txid: 'F1' }]);
    const json = newClickId();
    const res2 = await t.app.inject({ method: 'POST', url: '/postback', payload: { click_id: json, payout: 12.34, status: 'confirmed', currency: 'GBP' } });
    expect(res2.statusCode, res2.body).toBe(200);
    expect(await conversionsOf(json)).toMatchObject([{ amount: '12.34', status: 'sale', currency: 'GBP', revenue: '15.425' }]);
  });

  it('counts a retried postback once, even when the retries race', async () => {
    const clickId = newClickId();
    const url = `/postback?cid=${clickId}&payout=5&txid=R1`;
    const answers = await Promise.all(Array.from({ length: 20 }, () => get(url)));
    expect(answers.every((a) => a.statusCode === 200 && a.body === 'OK')).toBe(true);
    const outcomes = answers.map((a) => a.headers['x-keyrev-outcome']);
    expect(outcomes.filter((o) => o === 'new')).toHaveLength(1);
    expect(outcomes.filter((o) => o === 'duplicate')).toHaveLength(19);
    expect(await conversionsOf(clickId)).toMatchObject([{ amount: '5', n: '1' }]);
  });

  it('moves a conversion through lead, sale and chargeback, ignores a stale retry, and keeps the history', async () => {
    const clickId = newClickId();
    const send = async (query: string) => (await get(`/postback?cid=${clickId}&txid=S1&${query}`)).headers['x-keyrev-outcome'];
    expect(await send('status=lead')).toBe('new');
    expect(await send('status=sale&payout=40')).toBe('transition');
    expect(await send('status=lead')).toBe('stale');
    expect(await conversionsOf(clickId)).toMatchObject([{ status: 'sale', amount: '40', revenue: '40', n: '1' }]);
    expect(await send('status=chargeback')).toBe('transition');
    expect(await conversionsOf(clickId)).toMatchObject([{ status: 'chargeback', amount: '40', n: '1' }]);
    const history = await t.app.keyrev.warehouse.query<{ status: string; outcome: string }>(
      'SELECT status, outcome FROM postbacks WHERE click_id = {id:UInt64} ORDER BY postback_id',
      { id: clickId },
    );
    expect(history).toEqual([
      { status: 'lead', outcome: 'new' },
      { status: 'sale', outcome: 'transition' },
      { status: 'lead', outcome: 'stale' },
      { status: 'chargeback', outcome: 'transition' },
    ]);
  });

  it("follows a network's duplicate policy: add payouts, in the network's currency", async () => {
    const clickId = newClickId();
    await get(`/postback/adding?cid=${clickId}&payout=10`);
    const res = await get(`/postback/adding?cid=${clickId}&payout=5`);
    expect(res.headers['x-keyrev-outcome']).toBe('add');
    expect(await conversionsOf(clickId)).toMatchObject([{ amount: '15', currency: 'EUR', revenue: '16.5', n: '1' }]);
  });

  it('refuses bad postbacks with a one-line reason, stores nothing, and logs why', async () => {
    const before = await countRows('postbacks');
    const cases: [string, number, string][] = [
      ['/postback?payout=1', 400, 'missing click id'],
      ['/postback?cid={clickid}&payout=1', 400, 'missing click id'],
      ['/postback?cid=abc', 400, 'bad click id: "abc"'],
      [`/postback?cid=${newClickId()}&payout=12.3.4`, 400, 'bad amount: "12.3.4"'],
      [`/postback?cid=${newClickId()}&status=maybe`, 400, "unknown status: \"maybe\" (map it in the network's statusMap)"],
      [`/postback?cid=${newClickId()}&currency=EURO`, 400, 'bad currency: "EURO"'],
      [`/postback/nobody?cid=${newClickId()}`, 404, 'no network nobody'],
      [`/postback/locked?cid=${newClickId()}&secret=s3cret-value`, 403, 'ip 198.51.100.20 is not in the network\'s allowlist'],
    ];
    for (const [url, status, message] of cases) {
      const res = await get(url);
      expect(res.statusCode, url).toBe(status);
      expect(res.json().message, url).toBe(message);
    }
    const badBody = await t.app.inject({ method: 'POST', url: '/postback', headers: { 'content-type': 'application/json' }, payload: '[1,2' });
    expect(badBody.statusCode).toBe(400);
    expect(await countRows('postbacks')).toBe(before);

    const log = await t.app.inject({ method: 'GET', url: '/api/postbacks/log?limit=3', headers: adminAuth });
    expect(log.json().entries.map((e: { reason: string }) => e.reason)).toEqual(['bad_body', 'ip_not_allowed', 'unknown_network']);
    const metrics = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toMatch(/keyrev_postback_refusals_total\{reason="missing_click_id"\} 2/);
  });

  it('checks secrets, address allowlists and signatures', async () => {
    const inside = '203.0.113.9';
    const clickId = newClickId();
    expect((await get(`/postback/locked?cid=${clickId}&secret=wrong-secret`, inside)).statusCode).toBe(403);
    expect((await get(`/postback/locked?cid=${clickId}`, inside)).json().message).toBe('bad secret');
    const byPath = await get(`/postback/locked/s3cret-value?cid=${clickId}&payout=1`, inside);
    expect(byPath.statusCode).toBe(200);
    expect(byPath.json()).toMatchObject({ status: 'ok', outcome: 'new' });
    expect((await get(`/postback/locked?cid=${clickId}&payout=1&secret=s3cret-value`, inside)).json().outcome).toBe('duplicate');
    // The secret is not kept with the postback.
    await t.app.keyrev.postbacks.flusher.drain();
    const [stored] = await t.app.keyrev.warehouse.query<{ params: Record<string, string> }>('SELECT params FROM postbacks WHERE click_id = {id:UInt64} LIMIT 1', { id: clickId });
    expect(Object.keys(stored!.params)).toEqual([]);

    const signed = newClickId();
    const query = `cid=${signed}&payout=3`;
    const signature = createHmac('sha256', 'signing-key-0123456789').update(query).digest('hex');
    expect((await get(`/postback/signed?${query}&signature=${'0'.repeat(64)}`)).statusCode).toBe(403);
    const good = await get(`/postback/signed?${query}&signature=${signature}`);
    expect(good.statusCode).toBe(200);
    expect(good.body).toBe('1');
    const body = JSON.stringify({ cid: newClickId(), payout: 1 });
    const bodySig = createHmac('sha256', 'signing-key-0123456789').update(body).digest('hex');
    const post = await t.app.inject({ method: 'POST', url: '/postback/signed', headers: { 'content-type': 'application/json', 'x-signature': bodySig }, payload: body });
    expect(post.statusCode).toBe(200);
  });
});
