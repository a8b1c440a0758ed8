import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClickIdGenerator } from '../../core/click-id.js';
import { postbackColumns, postbackLine } from '../../ingest/postbacks/postback-row.js';
import { adminAuth, startApp, type TestApp } from '../helpers/app.js';

const ids = new ClickIdGenerator(22);
const newClickId = () => ids.next().id.toString();
const secret = 'global-secret-value';

/**
 * Attack: `GET /postback?cid=4242&status=__proto__&txid=poison` was answered 200 and stored with
 * the status `{}` (`constructor` stored `""`): status words and a network's statusMap were plain
 * objects indexed by the sender's text, so Object.prototype's members counted as statuses. From
 * then on /api/conversions answered 500 for every range holding that row (its response schema
 * allowed only the five statuses). Now every lookup by a sender's text is an own-key lookup, such
 * statuses are refused with a 400 and store nothing, and the conversion log shows whatever status
 * a row holds instead of failing the whole answer.
 */
describe('prototype keys as postback statuses', () => {
  let t: TestApp;
  const today = new Date().toISOString().slice(0, 10);
  const postback = (query: string, network = '') => t.app.inject({ method: 'GET', url: `/postback${network ? `/${network}` : ''}?${query}&secret=${secret}` });
  const storedCount = async (clickId: string) => {
    await t.app.keyrev.postbacks.flusher.drain();
    const [row] = await t.app.keyrev.warehouse.query<{ n: string }>('SELECT toString(count()) AS n FROM postbacks WHERE click_id = {id:UInt64}', { id: clickId });
    return Number(row!.n);
  };

  beforeAll(async () => {
    t = await startApp({ KEYREV_FLUSH_INTERVAL_MS: '20', KEYREV_POSTBACK_SECRET: secret });
    const created = await t.app.inject({
      method: 'POST',
      url: '/api/networks',
      headers: adminAuth,
      payload: { slug: 'mapped', name: 'Mapped', statusMap: { '1': 'sale', '9': 'chargeback', constructor: 'lead' } },
    });
    expect(created.statusCode, created.body).toBe(201);
  });
  afterAll(async () => t.close());

  const keys = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__', 'isPrototypeOf', 'Constructor', '__PROTO__'];

  it.each(keys)('status=%s is refused with a 400 and stores nothing, with or without a network statusMap', async (status) => {
    for (const network of ['', 'mapped']) {
      // `constructor` is an own word of the `mapped` network's statusMap: that one is a real status there.
      if (network === 'mapped' && status.toLowerCase() === 'constructor') continue;
      const c = newClickId();
      const res = await postback(`cid=${c}&status=${encodeURIComponent(status)}&txid=poison`, network);
      expect(res.statusCode, `${network} ${res.body}`).toBe(400);
      expect(res.json()).toMatchObject({ code: 'KR_BAD_REQUEST', message: `unknown status: ${JSON.stringify(status)} (map it in the network's statusMap)` });
      expect(await storedCount(c)).toBe(0);
    }
  });

  it("reads a network's own statusMap words, even those named like Object's members", async () => {
    const c = newClickId();
    expect((await postback(`cid=${c}&status=constructor&txid=m1`, 'mapped')).statusCode).toBe(200);
    expect((await postback(`cid=${c}&status=1&txid=m2`, 'mapped')).statusCode).toBe(200);
    await t.app.keyrev.postbacks.flusher.drain();
    const rows = await t.app.keyrev.warehouse.query<{ txid: string; status: string }>('SELECT txid, status FROM postbacks WHERE click_id = {id:UInt64} ORDER BY txid', { id: c });
    expect(rows).toEqual([
      { txid: 'm1', status: 'lead' },
      { txid: 'm2', status: 'sale' },
    ]);
  });

  it('keeps parameters named like Object members with the postback, as any other', async () => {
    const c = newClickId();
    expect((await postback(`cid=${c}&txid=p1&__proto__=a&constructor=b&toString=c`)).statusCode).toBe(200);
    await t.app.keyrev.postbacks.flusher.drain();
    const [row] = await t.app.keyrev.warehouse.query<{ params: Record<string, string> }>('SELECT params FROM postbacks WHERE click_id = {id:UInt64}', { id: c });
    // Entries, not an object literal: `{ __proto__: 'a' }` in code would set a prototype, not a key.
    expect(Object.entries(row!.params).sort()).toEqual([
      ['__proto__', 'a'],
      ['constructor', 'b'],
      ['toString', 'c'],
    ]);
  });

  it('/api/conversions still answers 200 after a row with an unexpected status is in the tables', async () => {
    const c = newClickId();
    // What the attack stored before the fix, written straight into the table as another writer (or an older keyrev) could.
    const line = postbackLine({
      ...Object.fromEntries(postbackColumns.map((col) => [col, ''])),
      postback_id: ids.next().id.toString(),
      received_at: Date.now(),
      click_id: c,
      txid: 'poison',
      status: '{}',
      amount: '0',
      params: {},
      outcome: 'new',
      revenue: '0',
      conv_status: '{}',
      conv_amount: '0',
      conv_revenue: '0',
      converted_at: Date.now(),
      prev_version: '0',
      prev_amount: '0',
      prev_revenue: '0',
    } as Parameters<typeof postbackLine>[0]);
    await t.app.keyrev.warehouse.insertRaw('postbacks', Buffer.from(line), 'JSONCompactEachRow', { columns: postbackColumns });
    const res = await t.app.inject({ method: 'GET', url: `/api/conversions?from=${today}&to=${today}`, headers: adminAuth });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().rows.find((r: { clickId: string }) => r.clickId === c)).toMatchObject({ status: '{}', revenue: 0 });
  });
});
