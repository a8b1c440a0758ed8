import fs from 'node:fs';
import path from 'node:path';
import { tableFromIPC, type Decimal } from 'apache-arrow';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminAuth, startApp, tempDir, type TestApp } from '../helpers/app.js';

describe('/api/export', () => {
  let t: TestApp;
  const today = new Date().toISOString().slice(0, 10);
  const range = `from=${today}&to=${today}`;

  beforeAll(async () => {
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
    await t.app.keyrev.postbacks.flusher.drain();
  });
  afterAll(async () => t.close());

  const get = (url: string) => t.app.inject({ method: 'GET', url, headers: adminAuth });

  it('exports the grouped report as CSV and NDJSON equal to the JSON report', async () => {
    const report = (await get(`/api/report?${range}&groupBy=keyword&sort=keyword`)).json() as { rows: Record<string, unknown>[] };
    expect(report.rows).toHaveLength(3);
    const csv = await get(`/api/export?${range}&groupBy=keyword&sort=keyword&report=grouped&format=csv`);
    expect(csv.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(csv.headers['content-disposition']).toBe(`attachment; filename="keyrev-grouped-${today}_${today}.csv"`);
    const parsed = parse(csv.body, { columns: true, cast: (value, ctx) => (ctx.header || ctx.column === 'keyword' ? value : value === '\\N' ? null : Number(value)) });
    expect(parsed).toEqual(report.rows);
    const ndjson = await get(`/api/export?${range}&groupBy=keyword&sort=keyword&report=grouped&format=ndjson`);
    const lines = ndjson.body.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => Object.fromEntries(Object.entries(l).map(([k, v]) => [k, k === 'keyword' || v === null ? v : Number(v)])))).toEqual(report.rows);
  });

  it('exports the attribution report (a row per conversion with its click) in Arrow and Parquet', async () => {
    const log = (await get(`/api/conversions?${range}`)).json() as { rows: { clickId: string; status: string; revenue: number; click: { keyword: string } }[] };
    const expected = log.rows.map((r) => ({ clickId: r.clickId, status: r.status, revenue: r.revenue, keyword: r.click.keyword })).sort((a, b) => a.clickId.localeCompare(b.clickId));
    expect(expected.map((e) => e.status).sort()).toEqual(['chargeback', 'lead', 'sale']);

    const arrow = await get(`/api/export?${range}&format=arrow`);
    expect(arrow.headers['content-type']).toBe('application/vnd.apache.arrow.stream');
    const table = tableFromIPC(arrow.rawPayload);
    // Money stays an exact Decimal(18, 6) in Arrow: apache-arrow gives the unscaled integer.
    const revenueType = table.schema.fields.find((f) => f.name === 'revenue')!.type as Decimal;
    expect(revenueType.scale).toBe(6);
    const fromArrow = table.toArray().map((r: Record<string, unknown>) => ({ clickId: String(r.clickId), status: String(r.status), revenue: Number(r.revenue) / 10 ** revenueType.scale, keyword: String(r.keyword) }));
    expect(fromArrow.sort((a, b) => a.clickId.localeCompare(b.clickId))).toEqual(expected);

    const parquet = await get(`/api/export?${range}&format=parquet`);
    expect(parquet.rawPayload.subarray(0, 4).toString()).toBe('PAR1');
    const file = path.join(tempDir(), 'export.parquet');
    fs.writeFileSync(file, parquet.rawPayload);
    const back = await t.app.keyrev.warehouse.query<{ clickId: string; status: string; revenue: string; keyword: string }>(
      `SELECT clickId, status, toString(revenue) AS revenue, keyword FROM file({f:String}, Parquet) ORDER BY clickId`,
      { f: file },
    );
    expect(back.map((r) => ({ ...r, revenue: Number(r.revenue) }))).toEqual(expected);
  });

  it('refuses a bad format or filter with a 400', async () => {
    expect((await get(`/api/export?${range}&format=xlsx`)).statusCode).toBe(400);
    const res = await get(`/api/export?${range}&format=csv&filter[password]=x`);
    expect(res.statusCode).toBe(400);
    expect(res.json().message).toMatch(/^querystring.filter\[password\]: not a dimension/);
  });
});
