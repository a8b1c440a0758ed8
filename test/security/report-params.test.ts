import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminAuth, startApp, type TestApp } from '../helpers/app.js';

/**
 * Attack: report parameters that pass a regex or JS Intl but that ClickHouse refuses (an
 * impossible date, a zone name in the wrong case or that only JS knows). Before the fix each was
 * a 500 (a ClickHouse error), and /api/export, whose headers were already set, answered
 * FST_ERR_REP_INVALID_PAYLOAD_TYPE. Now each is a 400 naming the parameter, on every endpoint.
 */
describe('report parameters ClickHouse cannot take', () => {
  let t: TestApp;
  const today = new Date().toISOString().slice(0, 10);
  beforeAll(async () => {
    t = await startApp({ KEYREV_FLUSH_INTERVAL_MS: '20' });
    const c = (await t.app.inject({ method: 'POST', url: '/api/campaigns', headers: adminAuth, payload: { name: 'p', offerUrl: 'https://o.example/?c={clickid}' } })).json();
    const clickId = (await t.app.inject({ method: 'GET', url: `/c/${c.id}?kw=params` })).headers['x-keyrev-click-id'] as string;
    await t.app.keyrev.clicks.flusher.drain();
    await t.app.inject({ method: 'GET', url: `/postback?cid=${clickId}&payout=2&txid=p1` });
    await t.app.keyrev.postbacks.flusher.drain();
  });
  afterAll(async () => t.close());

  const get = (url: string) => t.app.inject({ method: 'GET', url, headers: adminAuth });
  const endpoints = ['/api/report', '/api/timeseries', '/api/conversions', '/api/export?format=csv'].map((e) => (e.includes('?') ? `${e}&` : `${e}?`));

  const bad: [string, string, RegExp][] = [
    ['from', '2026-02-30', /^querystring\.from: .*2026-11-01/],
    ['from', '2026-13-45', /^querystring\.from: /],
    ['from', '0000-00-00', /^querystring\.from: /],
    ['to', '2026-02-29', /^querystring\.to: /],
    ['from', '2026-01-01T25:00', /^querystring\.from: /],
    ['from', '2026-01-01T23:60', /^querystring\.from: /],
    // Outside what ClickHouse's DateTime holds in every zone: the bounds would wrap silently.
    ['from', '1969-12-31', /^querystring\.from: .*1971.*2105/],
    ['to', '2299-12-31', /^querystring\.to: .*1971.*2105/],
    ['tz', 'utc', /^querystring\.tz: .*Europe\/Berlin.*did you mean UTC\?/],
    ['tz', 'europe/berlin', /^querystring\.tz: .*did you mean Europe\/Berlin\?/],
    // JS Intl knows it (a retired alias), ClickHouse does not: the engine's own list decides.
    ['tz', 'US/Pacific-New', /^querystring\.tz: .*Europe\/Berlin/],
  ];
  const cases = endpoints.flatMap((endpoint) => bad.map(([name, value, message]) => [endpoint, name, value, message] as const));

  it.each(cases)('%s%s=%s answers 400 KR_BAD_REQUEST naming the parameter', async (endpoint, name, value, message) => {
    const params = new URLSearchParams({ from: today, to: today, tz: 'UTC', [name]: value });
    const res = await get(`${endpoint}${params.toString()}`);
    expect(res.statusCode, res.body).toBe(400);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.headers['content-disposition']).toBeUndefined();
    expect(res.json()).toMatchObject({ statusCode: 400, code: 'KR_BAD_REQUEST', error: 'Bad Request' });
    expect(res.json().message).toMatch(message);
  });

  it('still answers the widest accepted range in the most extreme zones, with the same numbers', async () => {
    // Guards the bounds: each of these reaches ClickHouse, none may wrap and lose today's click.
    const narrow = (await get(`/api/report?from=${today}&to=${today}`)).json();
    expect(narrow.totals.clicks).toBe(1);
    for (const tz of ['Pacific/Kiritimati', 'Etc/GMT+12', 'Asia/Kathmandu', 'UTC']) {
      for (const range of ['from=1971-01-01&to=2105-12-31', 'from=1971-01-01T00:00&to=2105-12-31T23:59:59.999']) {
        for (const endpoint of ['/api/report', '/api/timeseries']) {
          const res = await get(`${endpoint}?${range}&tz=${encodeURIComponent(tz)}`);
          expect(res.statusCode, `${endpoint} ${range} ${tz}: ${res.body}`).toBe(200);
          expect(res.json().totals, `${endpoint} ${range} ${tz}`).toMatchObject({ clicks: 1, revenue: 2 });
        }
        const log = await get(`/api/conversions?${range}&tz=${encodeURIComponent(tz)}`);
        expect(log.json().rows, `${range} ${tz}`).toHaveLength(1);
      }
    }
  });

  it('never answers 500 for any date-shaped bound or zone name, on any endpoint', async () => {
    // What a hand-edited link or a script sends: the right shape, any numbers, zones in any case.
    const pad = (n: number, width: number) => String(n).padStart(width, '0');
    const bound = fc
      .tuple(fc.integer({ min: 1899, max: 2400 }), fc.integer({ min: 0, max: 13 }), fc.integer({ min: 0, max: 32 }), fc.option(fc.tuple(fc.integer({ min: 0, max: 25 }), fc.integer({ min: 0, max: 61 }), fc.option(fc.integer({ min: 0, max: 61 })))))
      .map(([y, m, d, time]) => `${pad(y, 4)}-${pad(m, 2)}-${pad(d, 2)}${time ? `T${pad(time[0], 2)}:${pad(time[1], 2)}${time[2] === null ? '' : `:${pad(time[2], 2)}`}` : ''}`);
    const zones = ['UTC', 'utc', 'Europe/Berlin', 'EUROPE/BERLIN', 'US/Pacific-New', 'Asia/Kathmandu', 'Pacific/Kiritimati', 'Etc/GMT+12', 'localtime', 'posixrules', 'Factory', 'EST5EDT', 'Mars/Olympus'];
    await fc.assert(
      fc.asyncProperty(bound, bound, fc.constantFrom(...zones), fc.constantFrom(...endpoints), async (from, to, tz, endpoint) => {
        const res = await get(`${endpoint}${new URLSearchParams({ from, to, tz }).toString()}`);
        expect([200, 400], `${endpoint} from=${from} to=${to} tz=${tz}: ${res.body.slice(0, 300)}`).toContain(res.statusCode);
        if (res.statusCode === 400) expect(res.json().code).toBe('KR_BAD_REQUEST');
      }),
      { numRuns: 60 },
    );
  });

  it('answers an export that fails before its first byte with the one JSON error shape', async () => {
    // The warehouse going away is the real failure an export can meet after validation.
    const ok = await get(`/api/export?from=${today}&to=${today}&format=ndjson&report=grouped`);
    expect(ok.statusCode).toBe(200);
    await t.app.keyrev.warehouse.close();
    for (const format of ['csv', 'ndjson', 'parquet', 'arrow']) {
      const res = await get(`/api/export?from=${today}&to=${today}&format=${format}`);
      expect(res.statusCode, res.body).toBe(503);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.headers['content-disposition']).toBeUndefined();
      expect(res.json()).toMatchObject({ statusCode: 503, code: 'KR_WAREHOUSE_UNAVAILABLE' });
    }
  });
});
