import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClickIdGenerator } from '../../core/click-id.js';
import { adminAuth, startApp, tempDir, type TestApp } from '../helpers/app.js';

/**
 * Attack: keywords, sub-ids and txids come from anyone who clicks a link or whoever sends a
 * postback. A CSV export opened in Excel or Sheets runs a cell that starts with = + - @ (or a tab
 * or CR before one) as a formula. Before the fix such cells were exported unchanged. Now CSV text
 * cells starting with one of those are prefixed with a single quote (OWASP's rule); numbers stay
 * numbers, and NDJSON, Parquet and Arrow keep the raw values.
 */
describe('CSV formula injection in exports', () => {
  let t: TestApp;
  const today = new Date().toISOString().slice(0, 10);
  const range = `from=${today}&to=${today}`;
  const formulas = ['=HYPERLINK("http://x","y")', "-2+3+cmd|'/C calc'!A0", '@SUM(1+1)', '+1'];
  // A tab or CR in a link is dropped by the click parser, so these reach ClickHouse another way
  // (another writer, an older keyrev): they are inserted as a row directly.
  const controlLed = ['\t=1+1', '\r=2+2'];
  const clickIds: string[] = [];

  beforeAll(async () => {
    t = await startApp({ KEYREV_FLUSH_INTERVAL_MS: '20' });
    const c = (await t.app.inject({ method: 'POST', url: '/api/campaigns', headers: adminAuth, payload: { name: 'csv', offerUrl: 'https://o.example/?c={clickid}' } })).json();
    for (const f of formulas) {
      const q = encodeURIComponent(f);
      const res = await t.app.inject({ method: 'GET', url: `/c/${c.id}?kw=${q}&sub1=${q}&utm_campaign=${q}` });
      clickIds.push(res.headers['x-keyrev-click-id'] as string);
    }
    const direct = new ClickIdGenerator(7).next().id.toString();
    clickIds.push(direct);
    await t.app.keyrev.clicks.flusher.drain();
    await t.app.keyrev.warehouse.insert('clicks', [{ click_id: direct, ts: Date.now(), campaign_id: c.id, keyword: controlLed[0], sub1: controlLed[1] }]);
    // Each click converts, its txid the same kind of text; the last one a chargeback with a negative amount.
    for (const [i, f] of formulas.entries()) {
      expect((await t.app.inject({ method: 'GET', url: `/postback?cid=${clickIds[i]}&payout=${i + 1}&txid=${encodeURIComponent(f)}` })).statusCode).toBe(200);
    }
    expect((await t.app.inject({ method: 'GET', url: `/postback?cid=${direct}&payout=-5&txid=direct&status=chargeback` })).statusCode).toBe(200);
    await t.app.keyrev.postbacks.flusher.drain();
  });
  afterAll(async () => t.close());

  const get = async (url: string) => {
    const res = await t.app.inject({ method: 'GET', url, headers: adminAuth });
    expect(res.statusCode, res.body).toBe(200);
    return res;
  };
  const neutralised = (value: string) => `'${value}`;

  it('prefixes formula-like text cells of the attribution CSV with a quote, and keeps numbers as numbers', async () => {
    const rows = parse((await get(`/api/export?${range}&format=csv`)).body, { columns: true }) as Record<string, string>[];
    expect(rows).toHaveLength(5);
    for (const [i, f] of formulas.entries()) {
      const row = rows.find((r) => r.clickId === clickIds[i])!;
      expect(row, f).toMatchObject({ keyword: neutralised(f), sub1: neutralised(f), utmCampaign: neutralised(f), txid: neutralised(f) });
      expect(Number(row.amount)).toBe(i + 1);
    }
    const direct = rows.find((r) => r.clickId === clickIds[4])!;
    expect(direct).toMatchObject({ keyword: neutralised(controlLed[0]!), sub1: neutralised(controlLed[1]!), txid: 'direct' });
    // A negative amount is a number, not text: left as is, so a spreadsheet sums it.
    expect(direct.amount).toMatch(/^-5(\.0+)?$/);
    expect(Number(direct.payout)).toBe(-5);

    // Filters still match the stored value: the quote is added to the file, not to the data.
    const filtered = parse((await get(`/api/export?${range}&format=csv&filter[keyword]=${encodeURIComponent(formulas[0]!)}`)).body, { columns: true }) as Record<string, string>[];
    expect(filtered.map((r) => r.keyword)).toEqual([neutralised(formulas[0]!)]);
  });

  it('prefixes them in the grouped CSV too, with empty cells (not \\N) for undefined ratios', async () => {
    const csv = (await get(`/api/export?${range}&format=csv&report=grouped&groupBy=keyword,sub1&sort=keyword`)).body;
    expect(csv).not.toContain('\\N');
    const rows = parse(csv, { columns: true }) as Record<string, string>[];
    expect(rows.map((r) => r.keyword).sort()).toEqual([...formulas, controlLed[0]!].map(neutralised).sort());
    for (const r of rows) {
      expect(r.sub1).toBe(r.keyword === neutralised(controlLed[0]!) ? neutralised(controlLed[1]!) : r.keyword);
      expect(r.clicks).toBe('1');
      // No cost model, so cost is 0 and roi is undefined (null in the JSON API): an empty cell.
      expect(r.roi).toBe('');
    }
  });

  it('keeps the raw values in NDJSON and Parquet, and grouped NDJSON counts are JSON numbers', async () => {
    const lines = (await get(`/api/export?${range}&format=ndjson`)).body.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => l.keyword).sort()).toEqual([...formulas, controlLed[0]].sort());
    expect(lines.map((l) => l.txid).sort()).toEqual([...formulas, 'direct'].sort());

    const grouped = (await get(`/api/export?${range}&format=ndjson&report=grouped&groupBy=keyword`)).body.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(grouped.map((g) => g.keyword).sort()).toEqual([...formulas, controlLed[0]].sort());
    for (const g of grouped) {
      expect(g.clicks).toBe(1);
      // The direct click's conversion is a chargeback: no sale.
      expect(g.sales).toBe(g.keyword === controlLed[0] ? 0 : 1);
      expect(g.roi).toBeNull();
    }
    // The JSON API and the NDJSON export agree on types, not only on values.
    const report = (await get(`/api/report?${range}&groupBy=keyword&sort=keyword`)).json() as { rows: Record<string, unknown>[] };
    const byKeyword = (rows: Record<string, unknown>[]) => [...rows].sort((a, b) => String(a.keyword).localeCompare(String(b.keyword)));
    expect(byKeyword(grouped)).toEqual(byKeyword(report.rows));

    const file = path.join(tempDir(), 'export.parquet');
    fs.writeFileSync(file, (await get(`/api/export?${range}&format=parquet`)).rawPayload);
    const back = await t.app.keyrev.warehouse.query<{ keyword: string }>('SELECT keyword FROM file({f:String}, Parquet)', { f: file });
    expect(back.map((r) => r.keyword).sort()).toEqual([...formulas, controlLed[0]].sort());
  });
});
