import fs from 'node:fs';
import path from 'node:path';
import { drainPending } from 'chdb';
import { afterEach, describe, expect, it } from 'vitest';
import { ClickIdGenerator } from '../../../core/click-id.js';
import { EmbeddedWarehouse } from '../../../warehouse/embedded.js';
import { adminAuth, startApp } from '../../helpers/app.js';
import { FlakyWarehouse } from '../../helpers/flaky-warehouse.js';
import { tempDir } from '../../helpers/temp.js';

describe('postbacks across an outage and a restart', () => {
  // Each test has its own data directory and warehouse, so any one of them runs alone and in any order.
  let opened: FlakyWarehouse | undefined;
  const openWarehouse = async () => {
    const dataDir = tempDir();
    opened = new FlakyWarehouse(await EmbeddedWarehouse.open(dataDir));
    return { dataDir, flaky: opened };
  };
  afterEach(async () => {
    await opened?.close();
    opened = undefined;
    // chdb holds one data directory per process: the next test's directory may open only once this one is let go.
    await drainPending();
  });

  it('acknowledges while ClickHouse is down, replays on start, and still knows every conversion', async () => {
    const { dataDir, flaky } = await openWarehouse();
    const env = { KEYREV_DATA_DIR: dataDir, KEYREV_FLUSH_INTERVAL_MS: '20' };
    const clickId = new ClickIdGenerator(3).next().id.toString();
    const first = await startApp(env, { warehouse: flaky });
    const send = (app: typeof first, query: string) => app.app.inject({ method: 'GET', url: `/postback?cid=${clickId}&txid=X&${query}` });

    flaky.down = true;
    expect((await send(first, 'status=lead&payout=1')).statusCode).toBe(200);
    expect((await send(first, 'status=sale&payout=30')).headers['x-keyrev-outcome']).toBe('transition');
    expect(first.app.keyrev.postbacks.spool.stats().appended).toBe(2);
    // Stopped while ClickHouse is still down: the postbacks stay in the spool.
    await first.app.close();
    flaky.down = false;

    const second = await startApp(env, { warehouse: flaky });
    try {
      expect((await send(second, 'status=sale&payout=30')).headers['x-keyrev-outcome']).toBe('duplicate');
      expect((await send(second, 'status=lead')).headers['x-keyrev-outcome']).toBe('stale');
      expect((await send(second, 'status=rejected')).headers['x-keyrev-outcome']).toBe('transition');
      await second.app.keyrev.postbacks.flusher.drain();
      const rows = await flaky.query<{ status: string; n: string; revenue: string; history: string }>(
        `SELECT argMax(status, version) AS status, toString(sum(sign)) AS n, toString(sum(revenue * sign)) AS revenue,
                toString((SELECT count() FROM postbacks WHERE click_id = {id:UInt64})) AS history
         FROM conversions WHERE click_id = {id:UInt64}`,
        { id: clickId },
      );
      expect(rows).toEqual([{ status: 'rejected', n: '1', revenue: '30', history: '5' }]);
    } finally {
      await second.app.close();
    }
  });

  it('keeps only the newest conversions in memory after a restart and looks older ones up in ClickHouse', async () => {
    const { dataDir, flaky } = await openWarehouse();
    const env = { KEYREV_DATA_DIR: dataDir, KEYREV_FLUSH_INTERVAL_MS: '20', KEYREV_LEDGER_MAX_CONVERSIONS: '10' };
    const day = 86_400_000;
    // One click a day over the last 15 days, each with a sale.
    const clicks = Array.from({ length: 15 }, (_, i) => new ClickIdGenerator(4).next(Date.now() - (15 - i) * day).id.toString());
    const first = await startApp(env, { warehouse: flaky });
    for (const c of clicks) expect((await first.app.inject({ method: 'GET', url: `/postback?cid=${c}&txid=old&payout=5` })).headers['x-keyrev-outcome']).toBe('new');
    await first.app.close();

    const second = await startApp(env, { warehouse: flaky });
    try {
      const send = async (c: string, query: string) => {
        const res = await second.app.inject({ method: 'GET', url: `/postback?cid=${c}&${query}` });
        expect(res.statusCode, res.body).toBe(200);
        return res.headers['x-keyrev-outcome'];
      };
      // The oldest click's sale is no longer in memory: a retry is still a duplicate, found in ClickHouse.
      const [retryA, retryB] = await Promise.all([send(clicks[0]!, 'txid=old&payout=5'), send(clicks[0]!, 'txid=old&payout=5')]);
      expect([retryA, retryB]).toEqual(['duplicate', 'duplicate']);
      expect(await send(clicks[0]!, 'txid=old&status=chargeback')).toBe('transition');
      expect(await send(clicks[1]!, 'txid=another&payout=1')).toBe('new');
      expect(await send(clicks[14]!, 'txid=old&payout=5')).toBe('duplicate');
      await second.app.keyrev.postbacks.flusher.drain();
      const [row] = await flaky.query<{ status: string; n: string }>(
        'SELECT argMax(status, version) AS status, toString(sum(sign)) AS n FROM conversions WHERE click_id = {id:UInt64} AND txid = {tx:String}',
        { id: clicks[0]!, tx: 'old' },
      );
      expect(row).toEqual({ status: 'chargeback', n: '1' });

      // A stream of retries and new sales on old clicks: the lookups of one read share one query.
      const lookups = () => flaky.queries.filter((q) => q.includes('click_id IN')).length;
      const before = lookups();
      const lines = clicks.slice(1).flatMap((c) => [JSON.stringify({ cid: c, txid: 'old', payout: 5 }), JSON.stringify({ cid: c, txid: 'bulk', payout: 1 })]);
      const res = await second.app.inject({
        method: 'POST',
        url: '/postbacks',
        headers: { 'content-type': 'application/x-ndjson', ...adminAuth },
        payload: `${lines.join('\n')}\n`,
      });
      expect(res.json()).toMatchObject({ lines: 28, accepted: 14, duplicates: 14, rejected: 0 });
      expect(lookups() - before).toBe(1);

      // ClickHouse down: a line that needs a lookup is answered "send again"; the rest of its batch is recorded.
      flaky.down = true;
      const fresh = new ClickIdGenerator(4).next().id.toString();
      const down = await second.app.inject({
        method: 'POST',
        url: '/postbacks',
        headers: { 'content-type': 'application/x-ndjson', ...adminAuth },
        payload: `${JSON.stringify({ cid: clicks[0], txid: 'while-down' })}\n${JSON.stringify({ cid: fresh, txid: 'while-down' })}\n`,
      });
      flaky.down = false;
      expect(down.json()).toMatchObject({
        lines: 2,
        accepted: 1,
        rejected: 1,
        errors: [{ line: 1, reason: 'ClickHouse could not be asked about this older conversion: send this line again' }],
      });
      expect(await send(clicks[0]!, 'txid=while-down')).toBe('new');
      expect(await send(fresh, 'txid=while-down')).toBe('duplicate');
    } finally {
      await second.app.close();
    }
  });

  it('replays a spool segment an older version wrote as JSONEachRow objects', async () => {
    const { dataDir, flaky } = await openWarehouse();
    const { id, ms } = new ClickIdGenerator(5).next();
    const at = new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
    const row = { postback_id: id.toString(), received_at: at, click_id: id.toString(), network: '', txid: 'old-format', conversion_type: '', status: 'sale', amount: '7.5', currency: 'USD', params: { sub: 'a' }, outcome: 'new', ip: '127.0.0.1', revenue: '7.5', conv_network: '', conv_status: 'sale', conv_amount: '7.5', conv_currency: 'USD', conv_revenue: '7.5', converted_at: at, prev_version: '0', prev_status: '', prev_amount: '0', prev_currency: '', prev_revenue: '0' };
    const dir = path.join(dataDir, 'spool', 'postbacks');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, `${String(ms).padStart(16, '0')}.jsonl`), `${JSON.stringify(row)}\n`);

    const app = await startApp({ KEYREV_DATA_DIR: dataDir }, { warehouse: flaky });
    try {
      const res = await app.app.inject({ method: 'GET', url: `/postback?cid=${id}&txid=old-format&payout=7,5` });
      expect(res.headers['x-keyrev-outcome']).toBe('duplicate');
      await app.app.keyrev.postbacks.flusher.drain();
      const rows = await flaky.query('SELECT status, toString(amount) AS amount, params FROM postbacks WHERE click_id = {id:UInt64} ORDER BY postback_id', { id });
      expect(rows).toEqual([
        { status: 'sale', amount: '7.5', params: { sub: 'a' } },
        { status: 'sale', amount: '7.5', params: {} },
      ]);
      expect(fs.readdirSync(dir).filter((f) => f.endsWith('.jsonl'))).toEqual([]);
    } finally {
      await app.app.close();
    }
  });
});
