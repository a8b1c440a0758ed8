import fs from 'node:fs';
import path from 'node:path';
import { tableFromIPC, type Decimal } from 'apache-arrow';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminAuth, startApp, tempDir, type TestApp } from '../helpers/app.js';

/** An attribution row's money, as every format should give it. */
interface Money {
  clickId: string;
  status: string;
  amount: number;
  payout: number;
  revenue: number;
  keyword: string;
}

describe('/api/export', () => {
  let t: TestApp;
  // The day of the first click; each test asks from it up to its own day, so a run that
  // crosses UTC midnight still exports everything the fixture posted.
  let firstDay: string;
  const day = () => new Date().toISOString().slice(0, 10);
  // The fixture's conversions at their latest status, by click id (filled in beforeAll).
  let expectedMoney: Money[];

  beforeAll(async () => {
    firstDay = day();
    t = await startApp({ KEYREV_FLUSH_INTERVAL_MS: '20' });
    const campaign = (await t.app.inject({ method: 'POST', url: '/api/campaigns', headers: adminAuth, payload: { name: 'x', offerUrl: 'https://o.example/?c={clickid}', costModel: 'cpc', costValue: 0.1 } })).json().id;
    const keywords = ['red shoes', 'blue, "quoted" shoes', 'ünïcode', 'red shoes'];
    const ids: string[] = [];
    for (const kw of keywords) ids.push((await t.app.inject({ method: 'GET', url: `/c/${campaign}?kw=${encodeURIComponent(kw)}` })).headers['x-keyrev-click-id'] as string);
    await t.app.keyrev.clicks.flusher.drain();
    await t.app.inject({ method: 'GET', url: `/postback?cid=${ids[0]}&payout=10.5&txid=a` });
    await t.app.inject({ method: 'GET', url: `/postback?cid=${ids[1]}&payout=3&txid=b&status=lead` });
    await t.app.inject({ method: 'GET', url: `/postback?cid=${ids[2]}&payout=7&txid=c` });
    await t.app.inject({ method: 'GET', url: `/postback?cid=${ids[2]}&txid=c&status=chargeback` });
    // A large sale the network later rejected: its payout must never be summed as revenue.
    await t.app.inject({ method: 'GET', url: `/postback?cid=${ids[3]}&payout=1234.56&txid=d&status=sale` });
    await t.app.inject({ method: 'GET', url: `/postback?cid=${ids[3]}&payout=1234.56&txid=d&status=rejected` });
    await t.app.keyrev.postbacks.flusher.drain();
    const [sale, lead, chargeback, rejected] = ids as [string, string, string, string];
    expectedMoney = [
      { clickId: sale, status: 'sale', amount: 10.5, payout: 10.5, revenue: 10.5, keyword: 'red shoes' },
      { clickId: lead, status: 'lead', amount: 3, payout: 3, revenue: 0, keyword: 'blue, "quoted" shoes' },
      { clickId: chargeback, status: 'chargeback', amount: 7, payout: 7, revenue: 0, keyword: 'ünïcode' },
      { clickId: rejected, status: 'rejected', amount: 1234.56, payout: 1234.56, revenue: 0, keyword: 'red shoes' },
    ].sort((a, b) => a.clickId.localeCompare(b.clickId));
  });
  afterAll(async () => t.close());

  const get = (url: string) => t.app.inject({ method: 'GET', url, headers: adminAuth });

  it('exports the grouped report as CSV and NDJSON equal to the JSON report', async () => {
    const to = day();
    const range = `from=${firstDay}&to=${to}`;
    const report = (await get(`/api/report?${range}&groupBy=keyword&sort=keyword`)).json() as { rows: Record<string, unknown>[] };
    expect(report.rows).toHaveLength(3);
    const csv = await get(`/api/export?${range}&groupBy=keyword&sort=keyword&report=grouped&format=csv`);
    expect(csv.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(csv.headers['content-disposition']).toBe(`attachment; filename="keyrev-grouped-${firstDay}_${to}.csv"`);
    const parsed = parse(csv.body, { columns: true, cast: (value, ctx) => (ctx.header || ctx.column === 'keyword' ? value : value === '' ? null : Number(value)) });
    expect(parsed).toEqual(report.rows);
    const ndjson = await get(`/api/export?${range}&groupBy=keyword&sort=keyword&report=grouped&format=ndjson`);
    const lines = ndjson.body.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => Object.fromEntries(Object.entries(l).map(([k, v]) => [k, k === 'keyword' || v === null ? v : Number(v)])))).toEqual(report.rows);
  });

  it('exports the attribution report (a row per conversion with its click) in Arrow and Parquet', async () => {
    const range = `from=${firstDay}&to=${day()}`;
    // The conversion log and the export are two views of the same conversions: same money.
    const log = (await get(`/api/conversions?${range}`)).json() as { rows: { clickId: string; status: string; amount: number; payout: number; revenue: number; click: { keyword: string } }[] };
    const fromLog = log.rows.map((r) => ({ clickId: r.clickId, status: r.status, amount: r.amount, payout: r.payout, revenue: r.revenue, keyword: r.click.keyword }));
    expect(fromLog.sort((a, b) => a.clickId.localeCompare(b.clickId))).toEqual(expectedMoney);

    const arrow = await get(`/api/export?${range}&format=arrow`);
    expect(arrow.headers['content-type']).toBe('application/vnd.apache.arrow.stream');
    const table = tableFromIPC(arrow.rawPayload);
    // Money stays an exact Decimal(18, 6) in Arrow: apache-arrow gives the unscaled integer.
    const scaleOf = (name: string) => (table.schema.fields.find((f) => f.name === name)!.type as Decimal).scale;
    for (const money of ['amount', 'payout', 'revenue']) expect(scaleOf(money), money).toBe(6);
    const decimal = (v: unknown, name: string) => Number(v) / 10 ** scaleOf(name);
    const fromArrow = table.toArray().map((r: Record<string, unknown>) => ({
      clickId: String(r.clickId),
      status: String(r.status),
      amount: decimal(r.amount, 'amount'),
      payout: decimal(r.payout, 'payout'),
      revenue: decimal(r.revenue, 'revenue'),
      keyword: String(r.keyword),
    }));
    expect(fromArrow.sort((a, b) => a.clickId.localeCompare(b.clickId))).toEqual(expectedMoney);

    const parquet = await get(`/api/export?${range}&format=parquet`);
    expect(parquet.rawPayload.subarray(0, 4).toString()).toBe('PAR1');
    const file = path.join(tempDir(), 'export.parquet');
    fs.writeFileSync(file, parquet.rawPayload);
    const back = await t.app.keyrev.warehouse.query<{ clickId: string; status: string; amount: string; payout: string; revenue: string; keyword: string }>(
      `SELECT clickId, status, toString(amount) AS amount, toString(payout) AS payout, toString(revenue) AS revenue, keyword
       FROM file({f:String}, Parquet) ORDER BY clickId`,
      { f: file },
    );
    expect(back.map((r) => ({ ...r, amount: Number(r.amount), payout: Number(r.payout), revenue: Number(r.revenue) }))).toEqual(expectedMoney);
  });

  it('exports attribution CSV whose revenue column sums to the report revenue, rejected and charged back sales not counted', async () => {
    const range = `from=${firstDay}&to=${day()}`;
    const csv = await get(`/api/export?${range}&format=csv`);
    expect(csv.statusCode, csv.body).toBe(200);
    const rows = parse(csv.body, { columns: true }) as Record<keyof Money | 'currency', string>[];
    // What a media buyer does with the file: sum the revenue column. It must be the report's revenue.
    const report = (await get(`/api/report?${range}&groupBy=keyword`)).json() as { totals: { revenue: number } };
    expect(report.totals.revenue).toBe(10.5);
    expect(rows.reduce((sum, r) => sum + Number(r.revenue), 0)).toBe(report.totals.revenue);

    const money = rows.map((r) => ({ clickId: r.clickId, status: r.status, amount: Number(r.amount), payout: Number(r.payout), revenue: Number(r.revenue), keyword: r.keyword }));
    expect(money.sort((a, b) => a.clickId.localeCompare(b.clickId))).toEqual(expectedMoney);
    // The fixture's postbacks name no currency, so the network's amounts are in the account currency.
    expect(rows.map((r) => r.currency)).toEqual(['USD', 'USD', 'USD', 'USD']);
  });

  it('explains the attribution money columns where /docs shows the report parameter', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    const report = doc.paths['/api/export'].get.parameters.find((p: { name: string }) => p.name === 'report') as { description?: string };
    expect(report.description).toMatch(/`payout`/);
    expect(report.description).toMatch(/`revenue` \(`payout` when the status is sale or rebill, else 0/);
  });

  it('refuses a bad format or filter with a 400', async () => {
    const range = `from=${firstDay}&to=${day()}`;
    expect((await get(`/api/export?${range}&format=xlsx`)).statusCode).toBe(400);
    const res = await get(`/api/export?${range}&format=csv&filter[password]=x`);
    expect(res.statusCode).toBe(400);
    expect(res.json().message).toMatch(/^querystring.filter\[password\]: not a dimension/);
  });
});
