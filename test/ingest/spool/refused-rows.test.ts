import fs from 'node:fs';
import path from 'node:path';
import type { FastifyBaseLogger } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMetrics, type Metrics } from '../../../core/metrics.js';
import { createInsertLock, openPipeline, type PipelineOptions } from '../../../ingest/spool/pipeline.js';
import { migrate } from '../../../schema/migrate.js';
import { EmbeddedWarehouse } from '../../../warehouse/embedded.js';
import { WarehouseError, type InsertFormat, type InsertOptions } from '../../../warehouse/warehouse.js';
import { FlakyWarehouse } from '../../helpers/flaky-warehouse.js';
import { tempDir } from '../../helpers/temp.js';

/**
 * A segment ClickHouse refuses is split until only the refused rows are left: those are set
 * aside, every other row is inserted, and a crash in the middle never stores a row twice.
 * Real embedded ClickHouse underneath; each case in a database of its own (chdb holds one data
 * directory per process).
 */

/** The real engine, with a script run before each raw insert: it can refuse one or take ClickHouse down. */
class ScriptedWarehouse extends FlakyWarehouse {
  /** The dedup token of every raw insert asked, in order. */
  readonly tokens: string[] = [];
  /** Raw inserts ClickHouse took. */
  taken = 0;
  beforeInsert: () => void = () => {};

  override async insertRaw(table: string, data: Uint8Array, format: InsertFormat, options?: InsertOptions): Promise<void> {
    this.tokens.push(options?.dedupToken ?? '');
    this.beforeInsert();
    await super.insertRaw(table, data, format, options);
    this.taken++;
  }
}

/** Logs kept for the test to read (the pipeline logs what it set aside). */
function recordingLog() {
  const errors: { obj: object; msg: string }[] = [];
  const log = {
    level: 'silent',
    child: () => log,
    error: (obj: object, msg: string) => errors.push({ obj, msg }),
    fatal() {},
    warn() {},
    info() {},
    debug() {},
    trace() {},
    silent() {},
  };
  return { log: log as unknown as FastifyBaseLogger, errors };
}

const value = async (counter: { get(): Promise<{ values: { labels: object; value: number }[] }> }, labels: object) =>
  (await counter.get()).values.find((v) => JSON.stringify(v.labels) === JSON.stringify(labels))?.value ?? 0;

describe('a segment ClickHouse refuses', () => {
  let engine: EmbeddedWarehouse;
  beforeAll(async () => {
    engine = await EmbeddedWarehouse.open(tempDir());
  });
  afterAll(async () => engine.close());

  let n = 0;
  /** A fresh database (made current), with keyrev's schema unless `bare`, and a data directory for its spools. */
  async function fresh(bare = false): Promise<{ wh: ScriptedWarehouse; dataDir: string }> {
    const db = `refused_${++n}`;
    await engine.exec(`CREATE DATABASE ${db} ENGINE = Atomic`);
    await engine.exec(`USE ${db}`);
    if (!bare) await migrate(engine);
    return { wh: new ScriptedWarehouse(engine), dataDir: tempDir('keyrev-refused-') };
  }

  /**
   * The clicks pipeline with an encoder that, like the one of the incident, passes a traffic
   * source through as it came: a lone surrogate makes ClickHouse refuse the insert.
   */
  const clickColumns = ['click_id', 'ts', 'campaign_id', 'traffic_source'] as const;
  let encodes = 0;
  const looseEncoder = async (segment: Buffer) => {
    encodes++;
    const records = segment.toString().split('\n').filter(Boolean).map((line) => JSON.parse(line) as { id: number; source: string });
    return Buffer.from(records.map((r) => `${JSON.stringify([r.id, '2024-05-01 12:00:00.000', 'camp', r.source])}\n`).join(''));
  };
  function clicksPipeline(wh: ScriptedWarehouse, dataDir: string, metrics: Metrics = createMetrics()) {
    const { log, errors } = recordingLog();
    const opts: PipelineOptions = {
      table: 'clicks',
      columns: clickColumns,
      encode: looseEncoder,
      dataDir,
      maxTotalBytes: 1 << 30,
      // Sealed only when the test drains: one segment of everything appended.
      flushIntervalMs: 60_000,
      insertLock: createInsertLock(),
    };
    return { pipeline: openPipeline(opts, wh, metrics, log), metrics, errors };
  }

  const poisoned = new Set([17, 60]);
  /** 100 clicks in one append (one segment): ids 1000..1099, two of them with a lone surrogate as their source. */
  const hundredClicks = () =>
    Array.from({ length: 100 }, (_, i) => `${JSON.stringify({ id: 1000 + i, source: poisoned.has(i) ? `bad\ud800${i}` : `src${i}` })}\n`).join('');

  const storedClicks = async () =>
    (await engine.query<{ id: string; n: string }>('SELECT toString(click_id) AS id, count() AS n FROM clicks GROUP BY click_id ORDER BY click_id')).map(
      (r) => [Number(r.id), Number(r.n)] as const,
    );
  const everyGoodClickOnce = Array.from({ length: 100 }, (_, i) => i)
    .filter((i) => !poisoned.has(i))
    .map((i) => [1000 + i, 1] as const);

  function rejectedFiles(dataDir: string, table: string): { lines: string[]; reasons: string[] } {
    const dir = path.join(dataDir, 'spool', table, 'rejected');
    const names = fs.readdirSync(dir);
    expect(names.filter((f) => f.endsWith('.jsonl'))).toHaveLength(1);
    const file = path.join(dir, names.find((f) => f.endsWith('.jsonl'))!);
    const split = (text: string) => text.split('\n').filter(Boolean);
    return { lines: split(fs.readFileSync(file, 'utf8')), reasons: split(fs.readFileSync(file.replace(/\.jsonl$/, '.error'), 'utf8')) };
  }

  it('inserts the 98 good rows of 100 and sets only the 2 refused ones aside, with the reason, counted', async () => {
    const { wh, dataDir } = await fresh();
    const { pipeline, metrics, errors } = clicksPipeline(wh, dataDir);
    encodes = 0;
    expect(await pipeline.spool.append(hundredClicks(), 100)).toBe(true);
    await pipeline.flusher.drain();
    await pipeline.close();

    expect(await storedClicks()).toEqual(everyGoodClickOnce);
    const { lines, reasons } = rejectedFiles(dataDir, 'clicks');
    expect(lines.map((l) => JSON.parse(l)[0])).toEqual([1017, 1060]);
    expect(reasons).toHaveLength(2);
    expect(reasons[0]).toMatch(/^line 18 of 100: .*surrogate/);
    expect(reasons[1]).toMatch(/^line 61 of 100: .*surrogate/);
    // Counted: the segment once as refused, its rows as written or set aside.
    expect(await value(metrics.flushFailures, { table: 'clicks', reason: 'refused' })).toBe(1);
    expect(await value(metrics.rowsRejected, { table: 'clicks' })).toBe(2);
    expect(await value(metrics.rowsWritten, { table: 'clicks' })).toBe(98);
    expect(errors.map((e) => e.msg)).toEqual(['ClickHouse refused rows of a spool segment; inserted the others, set these aside']);
    // Encoded once: every part is cut from the payload the encoder first made.
    expect(encodes).toBe(1);
    // Nothing of the segment is left in the spool.
    expect(fs.readdirSync(path.join(dataDir, 'spool', 'clicks')).filter((f) => /\.(jsonl|refused)$/.test(f))).toEqual([]);
  });

  /** A small table standing in for the postbacks one (`i` cannot take a word), fed JSONEachRow lines as they are. */
  async function smallPostbacks() {
    const { wh, dataDir } = await fresh(true);
    await engine.exec('CREATE TABLE postbacks (i UInt32, s String) ENGINE = MergeTree ORDER BY i SETTINGS non_replicated_deduplication_window = 1000');
    const metrics = createMetrics();
    const { log } = recordingLog();
    const pipeline = openPipeline(
      { table: 'postbacks', dataDir, maxTotalBytes: 1 << 30, flushIntervalMs: 60_000, insertLock: createInsertLock() },
      wh,
      metrics,
      log,
    );
    return { wh, dataDir, metrics, pipeline };
  }
  const storedPostbacks = async () => (await engine.query<{ i: number; n: string }>('SELECT i, count() AS n FROM postbacks GROUP BY i ORDER BY i')).map((r) => [r.i, Number(r.n)]);

  it('sets aside refused JSONEachRow lines the same way (a segment inserted as it is, no encoder)', async () => {
    const { dataDir, metrics, pipeline } = await smallPostbacks();
    const lines = Array.from({ length: 100 }, (_, i) => `${JSON.stringify({ i: poisoned.has(i) ? `x${i}` : i, s: `s${i}` })}\n`);
    await pipeline.spool.append(lines.join(''), 100);
    await pipeline.flusher.drain();
    await pipeline.close();

    expect(await storedPostbacks()).toEqual(Array.from({ length: 100 }, (_, i) => [i, 1]).filter(([i]) => !poisoned.has(i!)));
    const rejected = rejectedFiles(dataDir, 'postbacks');
    expect(rejected.lines).toEqual(['{"i":"x17","s":"s17"}', '{"i":"x60","s":"s60"}']);
    expect(rejected.reasons[0]).toMatch(/^line 18 of 100: Code: 27\..*Cannot parse input/);
    expect(await value(metrics.rowsRejected, { table: 'postbacks' })).toBe(2);
  });

  it('does not split what a materialized view refused: the table took those rows, a part sent again would store them twice', async () => {
    const { dataDir, metrics, pipeline } = await smallPostbacks();
    // A view that fails on one row after the table stored the insert (ClickHouse writes the table first).
    await engine.exec('CREATE TABLE view_rows (i UInt32) ENGINE = MergeTree ORDER BY i');
    await engine.exec("CREATE MATERIALIZED VIEW fragile TO view_rows AS SELECT i + throwIf(s = 'view-poison') AS i FROM postbacks");
    const lines = Array.from({ length: 100 }, (_, i) => `${JSON.stringify({ i: i === 17 ? 'x17' : i, s: i === 80 ? 'view-poison' : `s${i}` })}\n`);
    await pipeline.spool.append(lines.join(''), 100);
    await pipeline.flusher.drain();
    await pipeline.close();

    // Every row the table could read is in it once; the half holding the view's poison is set aside whole, with why.
    expect(await storedPostbacks()).toEqual(Array.from({ length: 100 }, (_, i) => [i, 1]).filter(([i]) => i !== 17));
    const rejected = rejectedFiles(dataDir, 'postbacks');
    expect(rejected.lines.map((l) => JSON.parse(l).i)).toEqual(['x17', ...Array.from({ length: 50 }, (_, k) => 50 + k)]);
    expect(rejected.reasons[0]).toMatch(/^line 18 of 100: Code: 27\./);
    expect(rejected.reasons[1]).toMatch(/^line 51 of 100: a materialized view refused these rows .*while pushing to view/);
    expect(await value(metrics.rowsRejected, { table: 'postbacks' })).toBe(51);
  });

  it('stores no row twice when a crash cuts the splitting short and the segment is replayed', async () => {
    const { wh, dataDir } = await fresh();
    // First run: ClickHouse goes away after three parts went in, and the process dies.
    wh.beforeInsert = () => {
      if (wh.taken === 3) wh.down = true;
    };
    const first = clicksPipeline(wh, dataDir);
    await first.pipeline.spool.append(hundredClicks(), 100);
    await expect(first.pipeline.flusher.drain()).rejects.toThrow(/unreachable/);
    expect((await storedClicks()).length).toBeGreaterThan(0);
    await first.pipeline.flusher.stop(); // the crash: no close, the segment and its refusals stay on disk
    const tokensOfFirst = wh.tokens.splice(0);

    // The replay: ClickHouse is back, the segment is read again, encoded again, split again.
    wh.down = false;
    wh.beforeInsert = () => {};
    const second = clicksPipeline(wh, dataDir);
    await second.pipeline.flusher.drain();
    await second.pipeline.close();
    expect(await storedClicks()).toEqual(everyGoodClickOnce);
    // The ranges refused in the first run were not sent whole again.
    const segmentToken = tokensOfFirst[0]!;
    expect(wh.tokens).not.toContain(segmentToken);
    expect(wh.tokens).not.toContain(`${segmentToken}:0-50`);
    expect(rejectedFiles(dataDir, 'clicks').lines.map((l) => JSON.parse(l)[0])).toEqual([1017, 1060]);

    // And a segment replayed after it was all done (the crash came before its file was deleted,
    // its refusals lost too): the same parts under the same tokens, stored once.
    const segmentFile = path.join(dataDir, 'spool', 'clicks', `${segmentToken.split('-')[1]!.padStart(16, '0')}.jsonl`);
    fs.writeFileSync(segmentFile, hundredClicks());
    const third = clicksPipeline(wh, dataDir);
    await third.pipeline.flusher.drain();
    await third.pipeline.close();
    expect(await storedClicks()).toEqual(everyGoodClickOnce);
  });

  it('never stores a range whole after its halves: a refusal that would not recur is on record before they are sent', async () => {
    const { wh, dataDir } = await fresh();
    // Every row is good; ClickHouse refuses the first insert once (as it might under a passing
    // fault), takes the first half, and is gone before the second.
    let inserts = 0;
    wh.beforeInsert = () => {
      inserts++;
      if (inserts === 1) throw new WarehouseError('injected: refused once', false);
      if (inserts === 3) wh.down = true;
    };
    const first = clicksPipeline(wh, dataDir);
    const good = Array.from({ length: 100 }, (_, i) => `${JSON.stringify({ id: 1000 + i, source: `src${i}` })}\n`).join('');
    await first.pipeline.spool.append(good, 100);
    await expect(first.pipeline.flusher.drain()).rejects.toThrow(/unreachable/);
    await first.pipeline.flusher.stop();
    expect((await storedClicks()).length).toBe(50);

    // Replayed, the whole segment would be taken now; sent whole, its first half would count twice.
    wh.down = false;
    wh.beforeInsert = () => {};
    const second = clicksPipeline(wh, dataDir);
    await second.pipeline.flusher.drain();
    await second.pipeline.close();
    expect(await storedClicks()).toEqual(Array.from({ length: 100 }, (_, i) => [1000 + i, 1] as const));
    expect(fs.existsSync(path.join(dataDir, 'spool', 'clicks', 'rejected'))).toBe(false);
  });

  it('waits and tries again, unsplit, when ClickHouse refuses for a reason of its own (too many parts)', async () => {
    const { wh, dataDir } = await fresh();
    let inserts = 0;
    wh.beforeInsert = () => {
      if (++inserts === 1) throw new WarehouseError('Code: 252. DB::Exception: Too many parts (TOO_MANY_PARTS)', false, 252);
    };
    const { pipeline, metrics } = clicksPipeline(wh, dataDir);
    await pipeline.spool.append(hundredClicks().split('\n').filter((_, i) => !poisoned.has(i)).join('\n') + '\n', 98);
    await expect(pipeline.flusher.drain()).rejects.toThrow(/TOO_MANY_PARTS/);
    expect(await value(metrics.flushFailures, { table: 'clicks', reason: 'unavailable' })).toBe(1);
    await pipeline.flusher.drain();
    await pipeline.close();
    expect(await storedClicks()).toEqual(everyGoodClickOnce);
    // One insert refused, one whole insert after it: nothing split, nothing set aside.
    expect(wh.tokens).toHaveLength(2);
    expect(new Set(wh.tokens).size).toBe(1);
    expect(await value(metrics.flushFailures, { table: 'clicks', reason: 'refused' })).toBe(0);
  });

  it('stores a replayed segment whose dedup token ClickHouse kept without its rows (a kill mid-insert)', async () => {
    const { wh, dataDir } = await fresh();
    // A first run spools ten clicks and stops while ClickHouse cannot take them: the segment stays.
    const first = clicksPipeline(wh, dataDir);
    const ten = Array.from({ length: 10 }, (_, i) => `${JSON.stringify({ id: 2000 + i, source: 'src' })}\n`).join('');
    expect(await first.pipeline.spool.append(ten, 10)).toBe(true);
    wh.down = true;
    await first.pipeline.close();
    wh.down = false;
    const dir = path.join(dataDir, 'spool', 'clicks');
    const [segment] = fs.readdirSync(dir).filter((f) => f.endsWith('.jsonl'));
    const token = `${fs.readFileSync(path.join(dir, 'spool-id'), 'utf8').trim()}-${Number(segment!.replace('.jsonl', ''))}`;
    // What a kill between ClickHouse recording the token and committing the part leaves: the token
    // known, none of the rows (here another row under it stands for the lost part).
    await engine.insertRaw('clicks', Buffer.from(`${JSON.stringify([9999, '2024-05-01 12:00:00.000', 'camp', 'x'])}\n`), 'JSONCompactEachRow', {
      dedupToken: token,
      columns: clickColumns,
    });
    const second = clicksPipeline(wh, dataDir);
    await second.pipeline.flusher.drain();
    await second.pipeline.close();
    expect((await storedClicks()).filter(([id]) => id >= 2000 && id < 2010)).toEqual(Array.from({ length: 10 }, (_, i) => [2000 + i, 1]));
    // Replayed again (its file left by a crash after the insert): nothing is stored twice.
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.jsonl'))).toEqual([]);
  });

  it("keeps a replayed segment whose check ClickHouse could not answer, and checks thousands of rows in shares a server's URL limit takes", async () => {
    const { wh, dataDir } = await fresh();
    const first = clicksPipeline(wh, dataDir);
    const many = Array.from({ length: 1_200 }, (_, i) => `${JSON.stringify({ id: 5000 + i, source: 'src' })}\n`).join('');
    expect(await first.pipeline.spool.append(many, 1_200)).toBe(true);
    wh.down = true;
    await first.pipeline.close();
    wh.down = false;
    // The replay's insert goes through; the check after it finds ClickHouse gone.
    const checks = () => wh.queries.filter((q) => q.includes('IN {ids:Array(UInt64)}')).length;
    wh.beforeInsert = () => {
      wh.beforeInsert = () => {};
      setImmediate(() => (wh.down = true));
    };
    const second = clicksPipeline(wh, dataDir);
    await expect(second.pipeline.flusher.drain()).rejects.toThrow(/unreachable/);
    const dir = path.join(dataDir, 'spool', 'clicks');
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.jsonl'))).toHaveLength(1);
    wh.down = false;
    const before = checks();
    await second.pipeline.flusher.drain();
    await second.pipeline.close();
    expect(checks() - before).toBe(3);
    expect((await storedClicks()).filter(([id]) => id >= 5000 && id < 6200)).toHaveLength(1_200);
    expect((await storedClicks()).filter(([id]) => id >= 5000 && id < 6200).every(([, n]) => n === 1)).toBe(true);
  });
});
