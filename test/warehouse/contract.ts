import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WarehouseError, type StreamFormat, type Warehouse } from '../../warehouse/warehouse.js';

async function collect(chunks: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of chunks) parts.push(Buffer.from(c));
  return Buffer.concat(parts);
}

/**
 * What every warehouse adapter must do the same way. Run by one test file per adapter.
 */
export function warehouseContract(name: string, open: () => Promise<Warehouse>, close?: () => Promise<void>): void {
  describe(`warehouse contract: ${name}`, () => {
    let wh: Warehouse;
    beforeAll(async () => {
      wh = await open();
      await wh.exec('DROP TABLE IF EXISTS contract_t');
      await wh.exec(
        `CREATE TABLE contract_t (id UInt64, name String, tags Array(String), at DateTime64(3, 'UTC'), m Map(String, String))
         ENGINE = MergeTree ORDER BY id SETTINGS non_replicated_deduplication_window = 100`,
      );
    });
    afterAll(async () => {
      await wh?.exec('DROP TABLE IF EXISTS contract_t');
      await wh?.close();
      await close?.();
    });

    it('binds parameters of every kind without putting values in the SQL', async () => {
      const rows = await wh.query<Record<string, unknown>>(
        `SELECT {u:UInt64} AS u, {s:String} AS s, {f:Float64} AS f, {b:Bool} AS b, {a:Array(String)} AS a,
                {d:DateTime64(3, 'UTC')} AS d, {n:Nullable(String)} AS n`,
        { u: 18446744073709551615n, s: "it's \\ 'quoted'; DROP TABLE x", f: 1.5, b: true, a: ['x', "y'z"], d: new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 678)), n: null },
      );
      expect(rows).toEqual([
        { u: '18446744073709551615', s: "it's \\ 'quoted'; DROP TABLE x", f: 1.5, b: true, a: ['x', "y'z"], d: '2026-01-02 03:04:05.678', n: null },
      ]);
    });

    it('inserts objects and reads them back with 64-bit ids as strings', async () => {
      await wh.insert('contract_t', [
        { id: '9007199254740993', name: 'a+b', tags: ['c++'], at: '2026-03-01 10:00:00.123', m: { k: 'v' } },
        { id: 2, name: 'ünï', tags: [], at: '2026-03-01 10:00:01.000', m: {} },
      ]);
      const rows = await wh.query('SELECT id, name, tags, at, m FROM contract_t ORDER BY id');
      expect(rows).toEqual([
        { id: '2', name: 'ünï', tags: [], at: '2026-03-01 10:00:01.000', m: {} },
        { id: '9007199254740993', name: 'a+b', tags: ['c++'], at: '2026-03-01 10:00:00.123', m: { k: 'v' } },
      ]);
    });

    it('stores a raw batch once when it is replayed with the same dedup token', async () => {
      const batch = Buffer.from('{"id":100,"name":"r","tags":[],"at":"2026-03-02 00:00:00","m":{}}\n{"id":101,"name":"s","tags":[],"at":"2026-03-02 00:00:00","m":{}}\n');
      await wh.insertRaw('contract_t', batch, 'JSONEachRow', { dedupToken: 'batch-1' });
      await wh.insertRaw('contract_t', batch, 'JSONEachRow', { dedupToken: 'batch-1' });
      const [row] = await wh.query<{ c: string }>('SELECT count() AS c FROM contract_t WHERE id BETWEEN 100 AND 199');
      expect(row!.c).toBe('2');
      await wh.insertRaw('contract_t', Buffer.from('100,"r",[],"2026-03-02 00:00:00",{}\n'), 'CSV', { dedupToken: 'batch-2' });
      const [again] = await wh.query<{ c: string }>('SELECT count() AS c FROM contract_t WHERE id BETWEEN 100 AND 199');
      expect(again!.c).toBe('3');
    });

    it('inserts positional rows into the columns named, the others taking their defaults', async () => {
      const at = Date.UTC(2026, 2, 3, 4, 5, 6, 789);
      const batch = Buffer.from(`["200",${at},{"k":"v"}]\n["201",${at},{}]\n`);
      await wh.insertRaw('contract_t', batch, 'JSONCompactEachRow', { columns: ['id', 'at', 'm'], dedupToken: 'compact-1' });
      await wh.insertRaw('contract_t', batch, 'JSONCompactEachRow', { columns: ['id', 'at', 'm'], dedupToken: 'compact-1' });
      const rows = await wh.query('SELECT id, name, tags, at, m FROM contract_t WHERE id BETWEEN 200 AND 299 ORDER BY id');
      expect(rows).toEqual([
        { id: '200', name: '', tags: [], at: '2026-03-03 04:05:06.789', m: { k: 'v' } },
        { id: '201', name: '', tags: [], at: '2026-03-03 04:05:06.789', m: {} },
      ]);
    });

    it('streams results in the formats exports use', async () => {
      const params = { n: 50_000 };
      const sql = 'SELECT number AS n, toString(number) AS s FROM numbers({n:UInt64})';
      const csv = (await collect(wh.stream(sql, params, 'CSVWithNames'))).toString();
      const lines = csv.trimEnd().split('\n');
      expect(lines[0]).toBe('"n","s"');
      expect(lines).toHaveLength(50_001);
      expect(lines[50_000]).toBe('49999,"49999"');
      const ndjson = (await collect(wh.stream(sql, { n: 3 }, 'JSONEachRow'))).toString();
      expect(ndjson.trimEnd().split('\n').map((l) => JSON.parse(l))).toEqual([
        { n: '0', s: '0' },
        { n: '1', s: '1' },
        { n: '2', s: '2' },
      ]);
      const parquet = await collect(wh.stream(sql, params, 'Parquet'));
      expect(parquet.subarray(0, 4).toString()).toBe('PAR1');
      expect(parquet.subarray(parquet.length - 4).toString()).toBe('PAR1');
    });

    it('lets two streams and a query run at the same time', async () => {
      const sql = 'SELECT number FROM numbers({n:UInt64})';
      const [a, b, q] = await Promise.all([
        collect(wh.stream(sql, { n: 20_000 }, 'TabSeparatedWithNames')),
        collect(wh.stream(sql, { n: 10 }, 'TabSeparatedWithNames')),
        wh.query<{ x: number }>('SELECT 7 AS x'),
      ]);
      expect(a.toString().trimEnd().split('\n')).toHaveLength(20_001);
      expect(b.toString().trimEnd().split('\n')).toHaveLength(11);
      expect(q).toEqual([{ x: 7 }]);
    });

    it('stops a stream the reader abandons and serves the next one', async () => {
      let seen = 0;
      for await (const chunk of wh.stream('SELECT number FROM numbers(10000000)', {}, 'TabSeparatedWithNames')) {
        seen += chunk.length;
        break;
      }
      expect(seen).toBeGreaterThan(0);
      const after = await collect(wh.stream('SELECT 1 AS one', {}, 'CSVWithNames'));
      expect(after.toString()).toBe('"one"\n1\n');
    });

    it('reports a bad statement as a WarehouseError with ClickHouse code, not as unavailable', async () => {
      const err = await wh.query('SELECT * FROM no_such_table').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WarehouseError);
      expect((err as WarehouseError).unavailable).toBe(false);
      expect((err as WarehouseError).clickhouseCode).toBe(60);
      expect((err as WarehouseError).message).toMatch(/no_such_table/);
      const streamErr = await collect(wh.stream('SELECT * FROM no_such_table', {}, 'CSVWithNames' as StreamFormat)).catch((e: unknown) => e);
      expect(streamErr).toBeInstanceOf(WarehouseError);
    });

    it('refuses a parameter of the wrong type', async () => {
      const err = await wh.query('SELECT {n:UInt8} AS n', { n: 'not a number' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WarehouseError);
      expect((err as WarehouseError).unavailable).toBe(false);
    });

    it('answers ping', async () => {
      await expect(wh.ping()).resolves.toBeUndefined();
    });
  });
}
