import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClickIdGenerator } from '../../core/click-id.js';
import { adminAuth, startApp, type TestApp } from '../helpers/app.js';

const ids = new ClickIdGenerator(23);
const newClickId = () => ids.next().id.toString();
const secret = 'global-secret-value';

/**
 * Attack: `payout=-500` on a sale was stored as revenue of -500, so anyone who may send
 * postbacks could lower the reported revenue and ROI. Now a negative amount is refused with a
 * 400 unless the status is a chargeback (a word or the network's statusMap code for one).
 */
describe('negative payouts', () => {
  let t: TestApp;
  const postback = (query: string, network = '') => t.app.inject({ method: 'GET', url: `/postback${network ? `/${network}` : ''}?${query}&secret=${secret}` });

  beforeAll(async () => {
    t = await startApp({ KEYREV_FLUSH_INTERVAL_MS: '20', KEYREV_POSTBACK_SECRET: secret });
    const created = await t.app.inject({ method: 'POST', url: '/api/networks', headers: adminAuth, payload: { slug: 'coded', name: 'Coded', statusMap: { '1': 'sale', '9': 'chargeback' } } });
    expect(created.statusCode, created.body).toBe(201);
  });
  afterAll(async () => t.close());

  it.each([
    ['payout=-5', ''],
    ['payout=-0,01&status=sale', ''],
    ['payout=-5&status=lead', ''],
    ['payout=-5&status=rebill', ''],
    ['payout=-5&status=rejected', ''],
    ['payout=-5&status=1', 'coded'],
  ])('%s (network %j) is refused with a 400 and stores nothing', async (query, network) => {
    const c = newClickId();
    const res = await postback(`cid=${c}&txid=neg&${query}`, network);
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json()).toMatchObject({ code: 'KR_BAD_REQUEST' });
    expect(res.json().message).toMatch(/^negative amount: "-[\d,.]+" \(only a chargeback may be negative\)$/);
    await t.app.keyrev.postbacks.flusher.drain();
    const [row] = await t.app.keyrev.warehouse.query<{ n: string }>('SELECT toString(count()) AS n FROM postbacks WHERE click_id = {id:UInt64}', { id: c });
    expect(row!.n).toBe('0');
  });

  it('accepts a negative amount on a chargeback, by word or by the network code for one', async () => {
    const c = newClickId();
    expect((await postback(`cid=${c}&txid=cb&payout=10`)).statusCode).toBe(200);
    expect((await postback(`cid=${c}&txid=cb&payout=-10&status=chargeback`)).statusCode).toBe(200);
    expect((await postback(`cid=${c}&txid=cb2&payout=-10&status=refund`)).statusCode).toBe(200);
    expect((await postback(`cid=${c}&txid=cb3&payout=-10&status=9`, 'coded')).statusCode).toBe(200);
  });

  it('rejects the negative lines of a bulk stream with the same reason', async () => {
    const c = newClickId();
    const lines = [{ cid: c, txid: 'b1', payout: -3 }, { cid: c, txid: 'b2', payout: -3, status: 'chargeback' }, { cid: c, txid: 'b3', payout: 3 }];
    const res = await t.app.inject({
      method: 'POST',
      url: '/postbacks',
      headers: { ...adminAuth, 'content-type': 'application/x-ndjson' },
      payload: lines.map((l) => JSON.stringify(l)).join('\n'),
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ lines: 3, accepted: 2, rejected: 1, errors: [{ line: 1, reason: 'negative amount: "-3" (only a chargeback may be negative)' }] });
  });
});
