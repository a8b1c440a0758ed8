import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { liveSpendByDay } from '../../warehouse/cost-store.js';
import { adminAuth, startApp, type TestApp } from '../helpers/app.js';

/** The date of now in a zone, YYYY-MM-DD. */
const dayIn = (tz: string) => new Intl.DateTimeFormat('en-CA', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date());
const [y, m, d] = dayIn('UTC').split('-');
const today = `${y}-${m}-${d}`;

describe('POST /api/costs', () => {
  let t: TestApp;
  let campaign: string;

  const upload = async (body: string, query: string, type = 'text/csv', c = campaign) => {
    const res = await t.app.inject({ method: 'POST', url: `/api/costs?campaign=${c}&${query}`, headers: { ...adminAuth, 'content-type': type }, payload: body });
    return res;
  };
  const ok = async (body: string, query = 'tz=UTC', type = 'text/csv', c = campaign) => {
    const res = await upload(body, query, type, c);
    expect(res.statusCode, res.body).toBe(200);
    return res.json();
  };
  const newCampaign = async () => (await t.app.inject({ method: 'POST', url: '/api/campaigns', headers: adminAuth, payload: { name: 'Search', offerUrl: 'https://o.example/?c={clickid}' } })).json().id as string;
  const live = async (c = campaign) => Object.fromEntries((await liveSpendByDay(t.app.keyrev.warehouse, c)).map((r) => [r.day, Number(r.spend)]));

  beforeAll(async () => {
    t = await startApp({ KEYREV_FLUSH_INTERVAL_MS: '20' });
    campaign = await newCampaign();
    expect((await t.app.inject({ method: 'PUT', url: '/api/currency-rates', headers: adminAuth, payload: { base: 'USD', rates: { EUR: '1.10' } } })).statusCode).toBe(200);
    for (const q of ['kw=running+shoes&matchtype=e&adgroup=1234', 'kw=Running%20%20Shoes&matchtype=p&adgroup=1234', 'kw=laufschuhe&matchtype=b&adgroup=77']) {
      expect((await t.app.inject({ method: 'GET', url: `/c/${campaign}?${q}` })).statusCode).toBe(302);
    }
    await t.app.keyrev.clicks.flusher.drain();
  });
  afterAll(async () => t.close());

  it('reads a Google Ads UI keyword export: title lines, totals rows, 1,234.56', async () => {
    const file = [
      'Keyword report',
      `"${today} - ${today}"`,
      'Keyword status,Keyword,Match type,Campaign,Ad group,Ad group ID,Currency code,Cost,Clicks,Day',
      `Enabled,running shoes,Exact match,Search,Shoes,1234,USD,"1,234.56",10,${today}`,
      `Enabled,trail shoes,Phrase match,Search,Shoes,1234,USD,3.50,2,${today}`,
      'Total: Account,--,--,--,--,--,USD,"1,238.06",12,--',
      'Total: Search,--,--,--,--,--,USD,"1,238.06",12,--',
    ].join('\n');
    const res = await ok(file);
    expect(res).toMatchObject({ rows: 2, matched: 1, rejectedRows: 0, spend: 1238.06, currency: 'USD', days: [today] });
    expect(res.unmatched).toEqual([{ line: 5, reason: expect.stringContaining('"trail shoes"') }]);
    expect(await live()).toEqual({ [today]: 1238.06 });
  });

  it('reads a Microsoft Advertising KeywordPerformanceReport: report header lines, M/D/YYYY, footer', async () => {
    const [yy, mm, dd] = today.split('-');
    const file = [
      '"Report Name: Keyword Performance Report"',
      `"Report Time: ${Number(mm)}/${Number(dd)}/${yy}"`,
      '"Time Zone: (GMT) Coordinated Universal Time"',
      '"Rows: 2"',
      '',
      '"TimePeriod","AccountName","CampaignName","CampaignId","AdGroupName","AdGroupId","Keyword","KeywordId","BidMatchType","Impressions","Clicks","Spend","CurrencyCode"',
      `"${Number(mm)}/${Number(dd)}/${yy}","Acct","Search","9","Shoes","1234","RUNNING  shoes","55","Phrase","100","5","12.34","USD"`,
      `"${Number(mm)}/${Number(dd)}/${yy}","Acct","Search","9","Shoes","1234","running shoes","56","Broad","10","1","0.66","USD"`,
      '',
      '"©2026 Microsoft Corporation. All rights reserved. "',
    ].join('\r\n');
    const res = await ok(file);
    // The phrase row matches the click with "Running  Shoes" (case and spaces ignored); no broad click exists.
    expect(res).toMatchObject({ rows: 2, matched: 1, spend: 13, rejectedRows: 0 });
    expect(res.unmatched.map((u: { line: number }) => u.line)).toEqual([8]);
    // Replace, never add: this upload is the day's spend now.
    expect(await live()).toEqual({ [today]: 13 });
  });

  it('reads a German export: semicolons, 1.234,56, DD.MM.YYYY, its currency converted', async () => {
    const [yy, mm, dd] = today.split('-');
    const file = ['Suchbegriff-Bericht', 'Tag;Keyword;Übereinstimmungstyp;Anzeigengruppe;Kosten;Währungscode', `${dd}.${mm}.${yy};Laufschuhe;Weitgehend passend;77;1.100,00;EUR`, `Gesamt;;;;1.100,00;EUR`].join('\n');
    const c = await newCampaign();
    // Its own campaign, without clicks: nothing matches, and the spend is kept all the same.
    const res = await ok(file, 'tz=UTC', 'text/csv', c);
    expect(res).toMatchObject({ rows: 1, matched: 0, spend: 1210, currency: 'USD' });
    expect(await live(c)).toEqual({ [today]: 1210 });
    const matched = await ok(file.replace('Weitgehend passend', 'Broad'), 'tz=UTC');
    expect(matched).toMatchObject({ rows: 1, matched: 1, spend: 1210 });
  });

  it('answers bad lines with their line number and reason, and keeps the good ones (NDJSON)', async () => {
    const lines = [
      JSON.stringify({ date: today, keyword: 'running shoes', matchType: 'exact', adgroup: '1234', spend: 2.5 }),
      'not json',
      JSON.stringify({ date: '2026-02-30', keyword: 'x', spend: 1 }),
      '',
      JSON.stringify({ date: today, keyword: 'x', spend: '-1' }),
      JSON.stringify({ date: today, keyword: '  ', spend: 1 }),
      JSON.stringify({ date: today, keyword: 'x', spend: 1, currency: 'JPY' }),
      JSON.stringify({ date: today, keyword: 'x', spend: 1, matchType: 'sometimes' }),
      JSON.stringify({ date: today, keyword: 'running shoes', spend: '1,5', extra: 1 }),
      JSON.stringify({ date: today, keyword: '[running shoes]', spend: '0,75' }),
    ].join('\n');
    const res = await ok(lines, 'tz=UTC', 'application/x-ndjson');
    expect(res.rows).toBe(2);
    expect(res.matched).toBe(2);
    expect(res.spend).toBe(3.25);
    expect(res.rejected.map((r: { line: number }) => r.line)).toEqual([2, 3, 5, 6, 7, 8, 9]);
    expect(res.rejected.map((r: { reason: string }) => r.reason)).toEqual([
      'not JSON',
      expect.stringContaining('bad date'),
      'negative spend',
      'no keyword',
      expect.stringContaining('no exchange rate for JPY'),
      expect.stringContaining('unknown match type'),
      expect.stringContaining('extra'),
    ]);
  });

  it('replaces a day on re-upload, never adds, and undo brings the earlier upload back', async () => {
    const c = await newCampaign();
    const row = (keyword: string, spend: number, date = today) => JSON.stringify({ date, keyword, spend });
    const first = await ok([row('a', 10), row('b', 5), row('a', 1, '2026-11-01')].join('\n'), 'tz=UTC', 'application/x-ndjson', c);
    expect(await live(c)).toEqual({ [today]: 15, '2026-11-01': 1 });
    const second = await ok(row('a', 7), 'tz=UTC', 'application/x-ndjson', c);
    // The whole day is replaced (keyword b too); the other day is left as it was.
    expect(await live(c)).toEqual({ [today]: 7, '2026-11-01': 1 });
    const third = await ok(row('c', 2), 'tz=UTC', 'application/x-ndjson', c);
    expect(await live(c)).toEqual({ [today]: 2, '2026-11-01': 1 });

    const listed = (await t.app.inject({ method: 'GET', url: '/api/costs/uploads', headers: adminAuth })).json().uploads.filter((u: { campaign: string }) => u.campaign === c);
    expect(listed.map((u: { id: string }) => u.id)).toEqual([third.uploadId, second.uploadId, first.uploadId]);
    expect(listed[2]).toMatchObject({ days: ['2026-11-01', today], rows: 3, spend: 16, currency: 'USD', tz: 'UTC' });

    expect((await t.app.inject({ method: 'DELETE', url: `/api/costs/uploads/${third.uploadId}`, headers: adminAuth })).statusCode).toBe(204);
    expect(await live(c)).toEqual({ [today]: 7, '2026-11-01': 1 });
    expect((await t.app.inject({ method: 'DELETE', url: `/api/costs/uploads/${second.uploadId}`, headers: adminAuth })).statusCode).toBe(204);
    expect(await live(c)).toEqual({ [today]: 15, '2026-11-01': 1 });
    expect((await t.app.inject({ method: 'DELETE', url: `/api/costs/uploads/${second.uploadId}`, headers: adminAuth })).statusCode).toBe(404);
    expect((await t.app.inject({ method: 'DELETE', url: `/api/costs/uploads/${first.uploadId}`, headers: adminAuth })).statusCode).toBe(204);
    expect(await live(c)).toEqual({});
  });

  it('matches by the day in the upload time zone', async () => {
    const c = await newCampaign();
    await t.app.inject({ method: 'GET', url: `/c/${c}?kw=zone` });
    await t.app.keyrev.clicks.flusher.drain();
    for (const tz of ['Pacific/Kiritimati', 'Pacific/Pago_Pago', 'UTC']) {
      const res = await ok(JSON.stringify({ date: dayIn(tz), keyword: 'zone', spend: 1 }), `tz=${tz}`, 'application/x-ndjson', c);
      expect(res.matched, tz).toBe(1);
    }
    // Kiritimati (UTC+14) and Pago Pago (UTC-11) never share a date.
    const other = await ok(JSON.stringify({ date: dayIn('Pacific/Pago_Pago'), keyword: 'zone', spend: 1 }), 'tz=Pacific/Kiritimati', 'application/x-ndjson', c);
    expect(other.matched).toBe(0);
  });

  it('refuses what it cannot read, changing nothing', async () => {
    const c = await newCampaign();
    const good = JSON.stringify({ date: today, keyword: 'a', spend: 1 });
    expect((await upload(good, 'tz=UTC', 'application/json', c)).statusCode).toBe(415);
    expect((await upload(good, 'tz=Mars/Olympus', 'application/x-ndjson', c)).statusCode).toBe(400);
    expect((await upload(good, 'tz=UTC', 'application/x-ndjson', 'nosuchcampaign')).statusCode).toBe(404);
    expect((await upload('a,b\n1,2\n', 'tz=UTC', 'text/csv', c)).json()).toMatchObject({ statusCode: 400, message: expect.stringContaining('no header row') });
    const long = `${good}\n${JSON.stringify({ date: today, keyword: 'x'.repeat(70_000), spend: 1 })}`;
    expect((await upload(long, 'tz=UTC', 'application/x-ndjson', c)).statusCode).toBe(413);
    expect((await t.app.inject({ method: 'POST', url: `/api/costs?campaign=${c}`, headers: { 'content-type': 'application/x-ndjson' }, payload: good })).statusCode).toBe(401);
    expect(await live(c)).toEqual({});
  });
});
