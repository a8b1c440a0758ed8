import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { decodeClickId } from '../../../core/click-id.js';
import { EmbeddedWarehouse } from '../../../warehouse/embedded.js';
import { adminAuth, startApp, type TestApp } from '../../helpers/app.js';
import { FlakyWarehouse } from '../../helpers/flaky-warehouse.js';
import { tempDir } from '../../helpers/temp.js';

const chrome = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';

describe('click tracking', () => {
  let t: TestApp;
  let flaky: FlakyWarehouse;
  let campaignId: string;

  beforeAll(async () => {
    const dataDir = tempDir();
    flaky = new FlakyWarehouse(await EmbeddedWarehouse.open(dataDir));
    t = await startApp({ KEYREV_DATA_DIR: dataDir, KEYREV_FALLBACK_URL: 'https://fallback.example/home', KEYREV_FLUSH_INTERVAL_MS: '50' }, { warehouse: flaky });
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/campaigns',
      headers: adminAuth,
      payload: {
        name: 'Shoes',
        offerUrl: 'https://shop.example/land?cid={clickid}&kw={keyword}&ad={ad}&src={utm_source}&s1={sub1}&c={campaign}&g={gclid}&x={custom}',
        trafficSource: 'google',
        costModel: 'cpc',
        costValue: 0.25,
      },
    });
    campaignId = res.json().id;
  });
  afterAll(async () => t.close());

  const click = (query: string, headers: Record<string, string> = { 'user-agent': chrome }, id = campaignId) =>
    t.app.inject({ method: 'GET', url: `/c/${id}${query}`, headers, remoteAddress: '203.0.113.7' });

  const rowOf = async (clickId: string) => {
    await t.app.keyrev.clicks.flusher.drain();
    const rows = await t.app.keyrev.warehouse.query<Record<string, unknown>>('SELECT * FROM clicks WHERE click_id = {id:UInt64}', { id: clickId });
    expect(rows).toHaveLength(1);
    return rows[0]!;
  };

  it('redirects to the offer with every macro filled and encoded once, and records the click', async () => {
    const res = await click('?kw=c%2B%2B&ad=4711&adgroup=88&matchtype=e&utm_source=google&utm_medium=cpc&sub1=a+b&gclid=EAI_x-1&custom=v%2F1&campaignid=999');
    expect(res.statusCode).toBe(302);
    const clickId = res.headers['x-keyrev-click-id'] as string;
    expect(clickId).toMatch(/^\d+$/);
    expect(Math.abs(decodeClickId(BigInt(clickId)).ms - Date.now())).toBeLessThan(10_000);
    expect(res.headers.location).toBe(
      `https://shop.example/land?cid=${clickId}&kw=c%2B%2B&ad=4711&src=google&s1=a%20b&c=${campaignId}&g=EAI_x-1&x=v%2F1`,
    );
    const row = await rowOf(clickId);
    expect(row).toMatchObject({
      campaign_id: campaignId,
      traffic_source: 'google',
      keyword: 'c++',
      ad: '4711',
      adgroup: '88',
      match_type: 'e',
      utm_source: 'google',
      utm_medium: 'cpc',
      sub1: 'a b',
      gclid: 'EAI_x-1',
      cost: 0.25,
      user_agent: chrome,
      is_bot: 0,
      is_unique: 1,
      missed: 0,
      extra: { custom: 'v/1', campaignid: '999' },
    });
    expect(row.ip).toBe('::ffff:203.0.113.7');
    expect(row.device_type).toBe('desktop');
  });

  it('takes the cost a link passes over the campaign cost model', async () => {
    const res = await click('?kw=x&cost=1,5');
    expect((await rowOf(res.headers['x-keyrev-click-id'] as string)).cost).toBe(1.5);
  });

  it('marks the repeat of a visitor within the window as not unique', async () => {
    const headers = { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0' };
    const first = await click('?kw=u', headers);
    const second = await click('?kw=u', headers);
    expect((await rowOf(first.headers['x-keyrev-click-id'] as string)).is_unique).toBe(1);
    expect((await rowOf(second.headers['x-keyrev-click-id'] as string)).is_unique).toBe(0);
  });

  it('flags crawlers and link previews', async () => {
    const res = await click('?kw=bot', { 'user-agent': 'Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)' });
    expect(res.statusCode).toBe(302);
    expect((await rowOf(res.headers['x-keyrev-click-id'] as string)).is_bot).toBe(1);
  });

  it('sends an unknown campaign to the account fallback and counts the miss', async () => {
    const res = await click('?kw=lost', { 'user-agent': chrome }, 'nosuchcampaign');
    expect(res.statusCode).toBe(302);
    expect(res.headers.location).toBe('https://fallback.example/home');
    const row = await rowOf(res.headers['x-keyrev-click-id'] as string);
    expect(row).toMatchObject({ campaign_id: 'nosuchcampaign', missed: 1, keyword: 'lost' });
    const metrics = await t.app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.body).toMatch(/keyrev_clicks_total\{result="missed"\} [1-9]/);
  });

  it("sends a paused campaign's visitors to its own fallback URL", async () => {
    const c = await t.app.inject({
      method: 'POST',
      url: '/api/campaigns',
      headers: adminAuth,
      payload: { name: 'Paused', offerUrl: 'https://offer.example/', fallbackUrl: 'https://own-fallback.example/?c={clickid}', status: 'paused' },
    });
    const res = await click('', { 'user-agent': chrome }, c.json().id);
    expect(res.statusCode).toBe(302);
    expect(res.headers.location).toBe(`https://own-fallback.example/?c=${res.headers['x-keyrev-click-id']}`);
  });

  it('bounds absurd input and still redirects, storing a clean row', async () => {
    const many = Array.from({ length: 1_000 }, (_, i) => `p${i}=${i}`).join('&');
    const res = await click(`?kw=${'k'.repeat(10_000)}&ad=%E0%A4%A&sub1=a%00b%0Dc&${many}`);
    expect(res.statusCode).toBe(302);
    expect(new URL(res.headers.location as string).hostname).toBe('shop.example');
    const row = await rowOf(res.headers['x-keyrev-click-id'] as string);
    expect((row.keyword as string).length).toBe(512);
    expect(row.ad).toBe('%E0%A4%A');
    expect(row.sub1).toBe('abc');
    expect(Object.keys(row.extra as object).length).toBeLessThanOrEqual(100);
  });

  it('never redirects anywhere but configured URLs', async () => {
    const res = await click('?kw=x&url=https://evil.example/&redirect=//evil.example&sub1=https://evil.example/');
    expect(new URL(res.headers.location as string).origin).toBe('https://shop.example');
  });

  const metrics = async () => (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
  const flushFailures = async () => Number(/^keyrev_flush_failures_total\{table="clicks",reason="unavailable"\} (\d+)$/m.exec(await metrics())?.[1] ?? 0);
  /** Resolves once the flusher tried a segment and ClickHouse failed it, so what lands later is a retry. */
  const flushFailedSince = async (before: number) => vi.waitUntil(async () => (await flushFailures()) > before, { timeout: 10_000, interval: 20 });

  it('keeps redirecting while ClickHouse is down, and the spool drains when it is back', async () => {
    const count = async (sql: string) => Number((await t.app.keyrev.warehouse.query<{ n: string }>(sql))[0]!.n);
    await t.app.keyrev.clicks.flusher.drain();
    const before = await count('SELECT count() AS n FROM clicks');
    const failures = await flushFailures();
    // A visitor new to this app, so its first click is unique and the other 199 are repeats.
    const visitor = { 'user-agent': `${chrome} outage` };
    const ids: string[] = [];
    flaky.down = true;
    try {
      for (let i = 0; i < 200; i++) {
        const res = await click(`?kw=outage-${i}`, visitor);
        expect(res.statusCode).toBe(302);
        ids.push(res.headers['x-keyrev-click-id'] as string);
      }
      expect(new Set(ids).size).toBe(200);
      const health = await t.app.inject({ method: 'GET', url: '/health' });
      expect(health.statusCode).toBe(503);
      expect(health.json().spool.clicks.bytes).toBeGreaterThan(0);
      await flushFailedSince(failures);
    } finally {
      flaky.down = false;
    }
    await t.app.keyrev.clicks.flusher.drain();
    expect((await count('SELECT count() AS n FROM clicks')) - before).toBe(200);
    expect(await count('SELECT count() - uniqExact(click_id) AS n FROM clicks')).toBe(0);
    expect(await count("SELECT sum(is_unique) AS n FROM clicks WHERE startsWith(keyword, 'outage-')")).toBe(1);
    expect((await rowOf(ids[0]!)).is_unique).toBe(1);
    expect((await t.app.inject({ method: 'GET', url: '/health' })).json().spool.clicks).toMatchObject({ segments: 0, bytes: 0 });
  });

  it("keeps a visitor's first click unique when its segment is inserted only on a retry", async () => {
    await t.app.keyrev.clicks.flusher.drain();
    const failures = await flushFailures();
    const visitor = { 'user-agent': `${chrome} retried` };
    flaky.down = true;
    let first: string;
    let repeat: string;
    try {
      first = (await click('?kw=retried', visitor)).headers['x-keyrev-click-id'] as string;
      repeat = (await click('?kw=retried', visitor)).headers['x-keyrev-click-id'] as string;
      await flushFailedSince(failures);
    } finally {
      flaky.down = false;
    }
    expect((await rowOf(first)).is_unique).toBe(1);
    expect((await rowOf(repeat)).is_unique).toBe(0);
  });

  it('skips a damaged spool line, counts it in /metrics and stores the clicks around it', async () => {
    await t.app.keyrev.clicks.flusher.drain();
    const before = (await click('?kw=around-damage')).headers['x-keyrev-click-id'] as string;
    // What damage could leave in a segment: a record cut short, then the next one whole.
    expect(await t.app.keyrev.clicks.spool.append('{"id":"1190958357420605440","ts":17\n')).toBe(true);
    const after = (await click('?kw=around-damage')).headers['x-keyrev-click-id'] as string;
    expect((await rowOf(before)).keyword).toBe('around-damage');
    expect((await rowOf(after)).keyword).toBe('around-damage');
    expect(await metrics()).toMatch(/^keyrev_spool_damaged_lines_total\{table="clicks"\} 1$/m);
  });
});
