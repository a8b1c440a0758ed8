import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newDelivery } from '../../outbound/delivery.js';
import { writeDeliveries } from '../../warehouse/outbox-store.js';
import { adminAuth, startApp, type TestApp } from '../helpers/app.js';
import { startReceiver, until, type Received } from './receiver.js';

let t: TestApp;
let rx: Awaited<ReturnType<typeof startReceiver>>;

beforeAll(async () => {
  rx = await startReceiver((req, nth) => {
    if (req.path === '/flaky') return nth === 1 ? 500 : 200;
    if (req.path === '/missing') return 404;
    if (req.path === '/slow') return { delayMs: 1_500 };
    if (req.path === '/held') return { delayMs: 300 };
    return 200;
  });
  t = await startApp({ KEYREV_OUTBOUND_ALLOW: '127.0.0.1', KEYREV_FLUSH_INTERVAL_MS: '50' });
  // Fast retries for the test; the default schedule starts at 30 s.
  t.app.outbound.tuning.retryDelaysMs = [300];
  t.app.outbound.tuning.timeoutMs = 400;
});
afterAll(async () => {
  await t?.close();
  await rx?.close();
});

async function api(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: object) {
  const res = await t.app.inject({ method, url, headers: adminAuth, ...(payload ? { payload } : {}) });
  return { status: res.statusCode, body: res.body ? res.json() : undefined };
}

async function campaign(trafficSource: string): Promise<string> {
  const res = await api('POST', '/api/campaigns', { name: `c ${trafficSource}`, offerUrl: 'https://offer.example/?s={clickid}', trafficSource });
  expect(res.status).toBe(201);
  return res.body.id as string;
}

async function rule(body: object): Promise<string> {
  const res = await api('POST', '/api/postback-rules', body);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.id as string;
}

async function click(campaignId: string, query = ''): Promise<string> {
  const res = await t.app.inject({ method: 'GET', url: `/c/${campaignId}?${query}` });
  expect(res.statusCode).toBe(302);
  return res.headers['x-keyrev-click-id'] as string;
}

async function postback(clickId: string, query: string): Promise<void> {
  const res = await t.app.inject({ method: 'GET', url: `/postback?cid=${clickId}&${query}` });
  expect(res.body).toBe('OK');
}

const sale = async (campaignId: string, payout = '10', clickQuery = '') => {
  const clickId = await click(campaignId, clickQuery);
  // The click must be in ClickHouse for the conversion to be credited at once (else it is queued when the click lands).
  await postback(clickId, `payout=${payout}&txid=T${clickId}`);
  return clickId;
};

const forClick = (clickId: string) => (r: Received) => r.query.get('c') === clickId || r.body.includes(clickId);

describe('outgoing postbacks', () => {
  it('fires the campaign rules, else the traffic source rules, else the global ones', async () => {
    const global = await rule({ scope: 'global', url: `${rx.base}/global?c={clickid}` });
    await rule({ scope: 'source', source: 'src-a', url: `${rx.base}/source?c={clickid}` });
    const [a, b, c] = [await campaign('src-a'), await campaign('src-a'), await campaign('src-c')];
    await rule({ scope: 'campaign', campaignId: a, url: `${rx.base}/campaign?c={clickid}` });
    await rule({ scope: 'campaign', campaignId: a, url: `${rx.base}/campaign2?c={clickid}` });
    const [ca, cb, cc] = [await sale(a), await sale(b), await sale(c)];
    await until(() => rx.received.filter(forClick(ca)).length === 2 && rx.received.some(forClick(cb)) && rx.received.some(forClick(cc)), 8_000, 'three deliveries');
    await new Promise((r) => setTimeout(r, 300));
    expect(rx.received.filter(forClick(ca)).map((r) => r.path).sort()).toEqual(['/campaign', '/campaign2']);
    expect(rx.received.filter(forClick(cb)).map((r) => r.path)).toEqual(['/source']);
    expect(rx.received.filter(forClick(cc)).map((r) => r.path)).toEqual(['/global']);
    expect((await api('DELETE', `/api/postback-rules/${global}`)).status).toBe(204);
  });

  it('sends only the statuses of the rule, with its share of the payout, once per status', async () => {
    const id = await campaign('src-status');
    await rule({ scope: 'campaign', campaignId: id, url: `${rx.base}/status?c={clickid}&p={payout}&s={status}&cur={currency}&rev={revenue}&m={status:sale=1,lead=0}`, statuses: ['lead', 'sale'], payoutPercent: 50 });
    const clickId = await click(id);
    await postback(clickId, 'payout=10&txid=X&status=lead');
    await until(() => rx.on('/status').some(forClick(clickId)), 5_000, 'lead');
    await postback(clickId, 'payout=10&txid=X&status=lead'); // a retry of the lead: no second delivery
    await postback(clickId, 'payout=7.5&txid=X&status=sale');
    await until(() => rx.on('/status').filter(forClick(clickId)).length === 2, 5_000, 'sale');
    await postback(clickId, 'txid=X&status=rejected');
    await new Promise((r) => setTimeout(r, 800));
    const got = rx.on('/status').filter(forClick(clickId)).map((r) => Object.fromEntries(r.query));
    expect(got).toEqual([
      { c: clickId, p: '5', s: 'lead', cur: 'USD', rev: '10', m: '0' },
      { c: clickId, p: '3.75', s: 'sale', cur: 'USD', rev: '7.5', m: '1' },
    ]);
  });

  it('fills every macro, encoded once for the URL, a JSON body and a form body', async () => {
    const id = await campaign('src macro');
    const awkward = 'a b+c&d=é"q\'\\ü';
    const names = ['external_id', 'keyword', 'ad', 'adgroup', 'matchtype', 'gclid', 'msclkid', 'fbclid', ...Array.from({ length: 10 }, (_, i) => `sub${i + 1}`), 'utm_source', 'utm_medium', 'utm_campaign', 'utm_term', 'utm_content'];
    const clickParams: Record<string, string> = { external_id: `ext ${awkward}`, kw: `kw ${awkward}`, ad: `ad ${awkward}`, adgroup: `ag ${awkward}`, matchtype: 'e', gclid: 'G-1', msclkid: 'M-1', fbclid: 'F-1' };
    for (const n of names.filter((n) => n.startsWith('sub') || n.startsWith('utm_'))) clickParams[n] = `${n} ${awkward}`;
    const expected: Record<string, string> = { ...clickParams, keyword: clickParams.kw!, matchtype: 'e' };
    delete expected.kw;
    const all = ['clickid', 'payout', 'revenue', 'currency', 'status', 'txid', 'conversion_type', 'conversion_time', 'campaign', 'source', ...names];
    const query = all.map((n) => `${n}={${n}}`).join('&');
    const json = `{${all.map((n) => (n === 'payout' ? `"payout":{payout}` : `"${n}":"{${n}}"`)).join(',')}}`;
    await rule({ scope: 'campaign', campaignId: id, url: `${rx.base}/macro-url?${query}` });
    await rule({ scope: 'campaign', campaignId: id, url: `${rx.base}/macro-json`, method: 'POST', body: json });
    await rule({ scope: 'campaign', campaignId: id, url: `${rx.base}/macro-form`, method: 'POST', bodyType: 'form', body: query });
    const clickId = await click(id, new URLSearchParams(clickParams).toString());
    await postback(clickId, `payout=12.5&txid=${encodeURIComponent(`tx ${awkward}`)}&type=dep%20osit&currency=EUR`);
    await until(() => ['/macro-url', '/macro-json', '/macro-form'].every((p) => rx.on(p).length > 0), 5_000, 'three macro deliveries');
    const fromUrl = Object.fromEntries(rx.on('/macro-url')[0]!.query);
    const form = rx.on('/macro-form')[0]!;
    const fromForm = Object.fromEntries(new URLSearchParams(form.body));
    const jsonReq = rx.on('/macro-json')[0]!;
    const fromJson = JSON.parse(jsonReq.body) as Record<string, unknown>;
    const want = { ...expected, clickid: clickId, payout: '12.5', status: 'sale', txid: `tx ${awkward}`, conversion_type: 'dep osit', currency: 'EUR', campaign: id, source: 'src macro' };
    for (const [name, value] of Object.entries(want)) {
      expect(fromUrl[name], `url ${name}`).toBe(value);
      expect(fromForm[name], `form ${name}`).toBe(value);
      expect(name === 'payout' ? String(fromJson[name]) : fromJson[name], `json ${name}`).toBe(value);
    }
    expect(fromUrl.conversion_time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(fromUrl.revenue).toBe('0'); // no EUR rate loaded: revenue 0
    expect(jsonReq.headers['content-type']).toBe('application/json');
    expect(form.headers['content-type']).toBe('application/x-www-form-urlencoded');
  });

  it('signs the body (POST) or the URL (GET) so the receiver can verify it; the key is never shown', async () => {
    const id = await campaign('src-sign');
    const signingKey = 'receiver-shared-key-0123';
    const post = await rule({ scope: 'campaign', campaignId: id, url: `${rx.base}/signed-post`, method: 'POST', body: '{"c":"{clickid}","kw":"{keyword}"}', signingKey });
    await rule({ scope: 'campaign', campaignId: id, url: `${rx.base}/signed-get?c={clickid}&kw={keyword}`, signingKey });
    const clickId = await sale(id, '1', 'kw=sign%20me');
    await until(() => rx.on('/signed-post').length > 0 && rx.on('/signed-get').length > 0, 5_000, 'signed deliveries');
    const p = rx.on('/signed-post')[0]!;
    expect(p.headers['x-keyrev-signature']).toBe(`sha256=${createHmac('sha256', signingKey).update(p.body).digest('hex')}`);
    const g = rx.on('/signed-get')[0]!;
    expect(g.headers['x-keyrev-signature']).toBe(`sha256=${createHmac('sha256', signingKey).update(`${rx.base}${g.url}`).digest('hex')}`);
    expect(g.query.get('c')).toBe(clickId);
    const shown = await api('GET', `/api/postback-rules/${post}`);
    expect(shown.body).toMatchObject({ hasSigningKey: true });
    expect(JSON.stringify(shown.body)).not.toContain(signingKey);
  });

  it('retries a 500 and delivers on the 200; fails a 404 at once; retries a timeout, then fails', async () => {
    const id = await campaign('src-retry');
    const flaky = await rule({ scope: 'campaign', campaignId: id, url: `${rx.base}/flaky?c={clickid}` });
    const missing = await rule({ scope: 'campaign', campaignId: id, url: `${rx.base}/missing?c={clickid}` });
    const slow = await rule({ scope: 'campaign', campaignId: id, url: `${rx.base}/slow?c={clickid}` });
    await sale(id);
    const rows = async (ruleId: string) => (await api('GET', `/api/postback-deliveries?ruleId=${ruleId}`)).body.rows as Record<string, unknown>[];
    const settled = async (ruleId: string) => {
      const [row] = await rows(ruleId);
      return row && (row.state === 'delivered' || row.state === 'failed') ? row : undefined;
    };
    let flakyRow: Record<string, unknown> | undefined;
    let missingRow: Record<string, unknown> | undefined;
    let slowRow: Record<string, unknown> | undefined;
    const deadline = Date.now() + 8_000;
    while (!(flakyRow && missingRow && slowRow) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 150));
      flakyRow ??= await settled(flaky);
      missingRow ??= await settled(missing);
      slowRow ??= await settled(slow);
    }
    expect(flakyRow).toMatchObject({ state: 'delivered', attempts: 2, lastStatusCode: 200, history: [{ statusCode: 500, answer: 'error 500' }, { statusCode: 200, answer: 'OK' }] });
    expect(missingRow).toMatchObject({ state: 'failed', attempts: 1, lastStatusCode: 404, lastError: 'HTTP 404', history: [{ statusCode: 404 }] });
    expect(slowRow).toMatchObject({ state: 'failed', attempts: 2, lastStatusCode: null, lastError: 'timed out after 400 ms', history: [{ statusCode: null }, { statusCode: null }] });
    expect(rx.on('/flaky')).toHaveLength(2);
    expect(rx.on('/missing')).toHaveLength(1);
    const metrics = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toMatch(/keyrev_outbound_deliveries_total\{result="retry"\} [1-9]/);
    expect(metrics).toMatch(/keyrev_outbound_deliveries_total\{result="failed"\} [1-9]/);
    expect(metrics).toMatch(/keyrev_outbound_deliveries_total\{result="delivered"\} [1-9]/);
    expect(metrics).toMatch(/keyrev_outbound_queue_depth \d/);
    expect(metrics).toMatch(/keyrev_outbound_oldest_pending_seconds \d/);

    // A replay sends the failed one again, with the same delivery id.
    const before = rx.on('/missing').length;
    const replayed = await api('POST', `/api/postback-deliveries/${missingRow!.id as string}/replay`);
    expect(replayed).toMatchObject({ status: 202, body: { state: 'pending' } });
    await until(() => rx.on('/missing').length === before + 1, 5_000, 'replayed delivery');
    expect(rx.on('/missing').at(-1)!.headers['x-keyrev-delivery']).toBe(missingRow!.id);
    expect((await api('POST', '/api/postback-deliveries/0123456789abcdef0123456789abcdef/replay')).status).toBe(404);
  });

  it('lists deliveries by state and rule with secrets masked, and makes none twice when the queue is read again', async () => {
    const id = await campaign('src-log');
    const r = await rule({ scope: 'campaign', campaignId: id, url: `${rx.base}/log?c={clickid}&token=abc&api_key=k1&kw={keyword}`, headers: { Authorization: 'Bearer s3cret', 'X-Plain': 'visible' } });
    const clickId = await sale(id, '3', 'kw=shoes');
    await until(() => rx.on('/log').length === 1, 5_000, 'log delivery');
    expect(rx.on('/log')[0]!.headers.authorization).toBe('Bearer s3cret');
    // The attempt is recorded a moment after the answer.
    const listed = await until(async () => {
      const res = await api('GET', `/api/postback-deliveries?ruleId=${r}&state=delivered`);
      return res.body.rows.length > 0 && res;
    }, 3_000, 'delivered state');
    expect(listed.body.rows).toHaveLength(1);
    const row = listed.body.rows[0];
    expect(row).toMatchObject({ ruleId: r, clickId, status: 'sale', state: 'delivered', attempts: 1, lastStatusCode: 200, headers: { Authorization: '********', 'X-Plain': '********', 'x-keyrev-delivery': row.id } });
    expect(row.url).toBe(`${rx.base}/log?c=${clickId}&token=********&api_key=********&kw=shoes`);
    expect(row.history[0]).toMatchObject({ statusCode: 200, answer: 'OK' });
    expect(typeof row.history[0].latencyMs).toBe('number');
    expect((await api('GET', `/api/postback-deliveries?ruleId=${r}&state=failed`)).body.rows).toHaveLength(0);
    // The rule is shown as the log shows its deliveries: secret query values and header values masked.
    const shownRule = (await api('GET', `/api/postback-rules/${r}`)).body;
    expect(shownRule.headers).toEqual({ Authorization: '********', 'X-Plain': '********' });
    expect(shownRule.url).toBe(`${rx.base}/log?c={clickid}&token=********&api_key=********&kw={keyword}`);
    expect(JSON.stringify((await api('GET', '/api/postback-rules')).body)).not.toContain('token=abc');
    // Sent back as shown (a form that PATCHes what it read), the masked values keep the stored ones.
    expect((await api('PATCH', `/api/postback-rules/${r}`, { url: `${shownRule.url as string}&v=2`, headers: shownRule.headers })).status).toBe(200);
    const stored = t.app.outbound.outbox as unknown as { deps: { rules(): { id: string; url: string; headers: Record<string, string> }[] } };
    expect(stored.deps.rules().find((x) => x.id === r)).toMatchObject({ url: `${rx.base}/log?c={clickid}&token=abc&api_key=k1&kw={keyword}&v=2`, headers: { Authorization: 'Bearer s3cret', 'X-Plain': 'visible' } });

    // The whole recent queue read again (the overlap sweep): nothing new is created or sent.
    t.app.outbound.tuning.sweepEveryMs = 0;
    t.app.outbound.tuning.overlapMs = 600_000;
    await t.app.outbound.run();
    await t.app.outbound.run();
    t.app.outbound.tuning.sweepEveryMs = 30_000;
    t.app.outbound.tuning.overlapMs = 30_000;
    await new Promise((res) => setTimeout(res, 300));
    expect(rx.on('/log')).toHaveLength(1);
    const counted = await t.app.keyrev.warehouse.query<{ n: string }>('SELECT toString(count()) AS n FROM outbound_deliveries FINAL WHERE rule_id = {r:String}', { r });
    expect(counted).toEqual([{ n: '1' }]);
  });

  it('replays a rule over a time range: conversions from before the rule existed are delivered', async () => {
    const id = await campaign('src-replay');
    const from = new Date(Date.now() - 1_000).toISOString();
    const clickId = await sale(id);
    await new Promise((r) => setTimeout(r, 500));
    const r = await rule({ scope: 'campaign', campaignId: id, url: `${rx.base}/replay?c={clickid}` });
    await new Promise((res) => setTimeout(res, 300));
    expect(rx.on('/replay')).toHaveLength(0);
    const to = new Date(Date.now() + 1_000).toISOString();
    expect((await api('POST', `/api/postback-rules/${r}/replay`, { from, to }))).toMatchObject({ status: 200, body: { conversions: 1, created: 1, resent: 0, next: null } });
    await until(() => rx.on('/replay').length === 1, 5_000, 'replayed rule');
    expect(rx.on('/replay')[0]!.query.get('c')).toBe(clickId);
    // Again: nothing new to create; with resend the delivered one goes again.
    await new Promise((res) => setTimeout(res, 200));
    expect((await api('POST', `/api/postback-rules/${r}/replay`, { from, to })).body).toEqual({ conversions: 1, created: 0, resent: 0, next: null });
    expect((await api('POST', `/api/postback-rules/${r}/replay`, { from, to, resend: true })).body).toEqual({ conversions: 1, created: 0, resent: 1, next: null });
    await until(() => rx.on('/replay').length === 2, 5_000, 'resent');
    expect((await api('POST', `/api/postback-rules/${r}/replay`, { from: to, to: from })).status).toBe(400);
  });

  it('refuses rules whose destination is loopback, private, link-local (metadata) or unique-local, and bad templates', async () => {
    for (const url of ['http://10.0.0.1/x', 'http://169.254.169.254/latest/meta-data/', 'http://[::1]/x', 'http://192.168.0.10/x', 'http://[fd00::1]/x']) {
      const res = await api('POST', '/api/postback-rules', { scope: 'global', url });
      expect(res.status, url).toBe(400);
      expect(res.body.message, url).toMatch(/^body\.url: destination refused: .* address \(not allowed unless KEYREV_OUTBOUND_ALLOW names it\)$/);
    }
    const bad = async (body: object) => (await api('POST', '/api/postback-rules', body)).body.message as string;
    expect(await bad({ scope: 'global', url: `${rx.base}/?x={nope}` })).toMatch(/unknown macro \{nope\}/);
    expect(await bad({ scope: 'global', url: 'http://{source}.example/' })).toMatch(/body\.url/);
    expect(await bad({ scope: 'source', url: `${rx.base}/` })).toBe('body.source: is required for scope source');
    expect(await bad({ scope: 'campaign', campaignId: 'nosuchcampaign', url: `${rx.base}/` })).toBe('body.campaignId: no campaign nosuchcampaign');
    expect(await bad({ scope: 'global', method: 'POST', url: `${rx.base}/`, body: '{"k":{keyword}}' })).toMatch(/must be JSON once filled/);
    expect(await bad({ scope: 'global', url: `${rx.base}/`, headers: { Host: 'x' } })).toMatch(/is set by keyrev/);
    // A PATCH is checked as a whole, the destination too.
    const r = await rule({ scope: 'source', source: 'src-patch', url: `${rx.base}/patch` });
    expect((await api('PATCH', `/api/postback-rules/${r}`, { url: 'http://10.0.0.1/' })).status).toBe(400);
    expect((await api('PATCH', `/api/postback-rules/${r}`, { scope: 'global' })).body).toMatchObject({ scope: 'global' });
    expect((await api('GET', `/api/postback-rules/${r}`)).body.source).toBeUndefined();
    expect((await api('PATCH', `/api/postback-rules/${r}`, { enabled: false })).body).toMatchObject({ enabled: false });
    // A report key may not read or change rules.
    const key = (await api('POST', '/api/keys', { name: 'reports' })).body.key as string;
    expect((await t.app.inject({ method: 'GET', url: '/api/postback-rules', headers: { authorization: `Bearer ${key}` } })).statusCode).toBe(403);
  });

  it('delivers a keyword beyond Latin-1 in a header, percent-encoded (Node would refuse it as is)', async () => {
    const id = await campaign('src-header');
    const r = await rule({ scope: 'campaign', campaignId: id, url: `${rx.base}/header-kw?c={clickid}`, headers: { 'X-Kw': 'kw {keyword}' } });
    await sale(id, '1', `kw=${encodeURIComponent('日本 shoes')}`);
    await until(() => rx.on('/header-kw').length === 1, 5_000, 'header delivery');
    expect(rx.on('/header-kw')[0]!.headers['x-kw']).toBe('kw %E6%97%A5%E6%9C%AC shoes');
    await until(async () => (await api('GET', `/api/postback-deliveries?ruleId=${r}&state=delivered`)).body.rows.length === 1, 3_000, 'delivered');
    // A header value the rule itself writes must be sendable as is.
    expect((await api('POST', '/api/postback-rules', { scope: 'global', url: `${rx.base}/`, headers: { 'X-Name': 'Café 日本' } })).body.message).toMatch(/printable ASCII/);
  });

  it('holds at most maxHeld deliveries: the rest stay stored and later scans send them', async () => {
    const id = await campaign('src-held');
    await rule({ scope: 'campaign', campaignId: id, url: `${rx.base}/held?c={clickid}` });
    t.app.outbound.tuning.maxHeld = 2;
    t.app.outbound.tuning.openScanMs = 0;
    try {
      for (let i = 0; i < 6; i++) await sale(id);
      await until(async () => {
        await t.app.outbound.run();
        return rx.on('/held').length === 6;
      }, 10_000, 'six held deliveries');
      const at = rx.on('/held').map((r) => r.atMs);
      // Two at a time, each answered after 300 ms: the third request waited for a slot.
      expect(at[2]! - at[0]!).toBeGreaterThanOrEqual(250);
    } finally {
      t.app.outbound.tuning.maxHeld = 5_000;
      t.app.outbound.tuning.openScanMs = 5_000;
    }
  });

  it('scans only deliveries created within the horizon, and those a replay reopened however old', async () => {
    const id = await campaign('src-stale');
    const r = await rule({ scope: 'campaign', campaignId: id, url: `${rx.base}/stale?c=1` });
    const stored = (t.app.outbound.outbox as unknown as { deps: { rules(): Parameters<typeof newDelivery>[2][] } }).deps.rules().find((x) => x.id === r)!;
    const row = { click_id: '1', conversion_type: '', txid: 'stale', status: 'sale' } as Parameters<typeof newDelivery>[1];
    const old = newDelivery('000000000000000000000000000051a1', row, stored, {} as Parameters<typeof newDelivery>[3], Date.now() - 30 * 86_400_000);
    await writeDeliveries(t.app.keyrev.warehouse, [{ ...old, url: `${rx.base}/stale?c=1` }]);
    t.app.outbound.tuning.openScanMs = 0;
    try {
      await t.app.outbound.run();
      await t.app.outbound.run();
      await new Promise((res) => setTimeout(res, 300));
      expect(rx.on('/stale')).toHaveLength(0);
      expect((await api('POST', `/api/postback-deliveries/${old.id}/replay`)).status).toBe(202);
      await until(() => rx.on('/stale').length === 1, 5_000, 'replayed stale delivery');
    } finally {
      t.app.outbound.tuning.openScanMs = 5_000;
    }
  });

  it('replays a rule in shares of rows (next says where to go on), one replay at a time', async () => {
    const id = await campaign('src-pages');
    const from = new Date(Date.now() - 1_000).toISOString();
    for (let i = 0; i < 3; i++) {
      await sale(id);
      await new Promise((res) => setTimeout(res, 5));
    }
    await new Promise((res) => setTimeout(res, 500));
    const r = await rule({ scope: 'campaign', campaignId: id, url: `${rx.base}/pages?c={clickid}` });
    const to = new Date(Date.now() + 1_000).toISOString();
    t.app.outbound.tuning.replayRowsPerCall = 1;
    let calls = 0;
    let conversions = 0;
    try {
      let next: string | null = from;
      while (next !== null && calls < 10) {
        const res = await api('POST', `/api/postback-rules/${r}/replay`, { from: next, to });
        expect(res.status, JSON.stringify(res.body)).toBe(200);
        conversions += res.body.conversions as number;
        next = res.body.next as string | null;
        calls++;
      }
    } finally {
      t.app.outbound.tuning.replayRowsPerCall = 20_000;
    }
    expect(conversions).toBe(3);
    expect(calls).toBeGreaterThan(1);
    await until(() => rx.on('/pages').length === 3, 5_000, 'three paged replays');
    const [a, b] = await Promise.all([api('POST', `/api/postback-rules/${r}/replay`, { from, to, resend: true }), api('POST', `/api/postback-rules/${r}/replay`, { from, to, resend: true })]);
    expect([a.status, b.status].sort()).toEqual([200, 409]);
  });

  it('refuses a time outside the years the warehouse holds', async () => {
    expect((await api('GET', '/api/postback-deliveries?from=1960-01-01')).status).toBe(400);
  });
});
