import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClickIdGenerator } from '../../core/click-id.js';
import { adminAuth, startApp, type TestApp } from '../helpers/app.js';

const ids = new ClickIdGenerator(21);
const newClickId = () => ids.next().id.toString();
const signingKey = 'signet-signing-key-0123456789';
const secret = 'signet-secret-value';
const sign = (data: string) => createHmac('sha256', signingKey).update(data).digest('hex');

/**
 * Attack: on a network with a signingKey, a POST's HMAC covered the body only, but the query
 * string's values overrode the body's. Signing `{"x":"1"}` (or capturing any signed body) and
 * sending it to `/postback/signet?cid=..&payout=777777&txid=forged&status=sale` recorded a forged
 * 777,777 sale. Now the signature covers every value used: a signed POST takes its values from the
 * signed body only and refuses other query parameters (403 bad_signature saying why); a GET's
 * signature covers its whole query string but the signature itself; a signed `ts`/`timestamp`
 * older (or newer) than 10 minutes is refused, so a captured postback cannot be replayed for long.
 */
describe('postback signatures cover every value used', () => {
  let t: TestApp;
  const urlOf = (query = '') => `/postback/signet${query ? `?${query}` : ''}`;
  const storedOf = async (clickId: string) => {
    await t.app.keyrev.postbacks.flusher.drain();
    return t.app.keyrev.warehouse.query<{ txid: string; status: string; amount: string }>(
      'SELECT txid, status, toString(amount) AS amount FROM postbacks WHERE click_id = {id:UInt64} ORDER BY received_at',
      { id: clickId },
    );
  };
  const postJson = (query: string, body: string, headers: Record<string, string> = {}) =>
    t.app.inject({ method: 'POST', url: urlOf(query), headers: { 'content-type': 'application/json', ...headers }, payload: body });
  const expectRefused = (res: { statusCode: number; body: string; json: () => { code: string; message: string } }, message: RegExp) => {
    expect(res.statusCode, res.body).toBe(403);
    expect(res.json().code).toBe('KR_FORBIDDEN');
    expect(res.json().message).toMatch(message);
    expect(res.json().message).not.toContain('\n');
  };

  beforeAll(async () => {
    t = await startApp({ KEYREV_FLUSH_INTERVAL_MS: '20', KEYREV_POSTBACK_SECRET: 'global-secret-value' });
    const created = await t.app.inject({ method: 'POST', url: '/api/networks', headers: adminAuth, payload: { slug: 'signet', name: 'Signs', secret, signingKey } });
    expect(created.statusCode, created.body).toBe(201);
  });
  afterAll(async () => t.close());

  it('GET: a signed query string is accepted, a value changed after signing is refused', async () => {
    const c = newClickId();
    const query = `cid=${c}&payout=12.5&txid=g1&status=sale&secret=${secret}`;
    const good = await t.app.inject({ method: 'GET', url: urlOf(`${query}&signature=${sign(query)}`) });
    expect(good.statusCode, good.body).toBe(200);
    // The signature may also come first, or as `sig` or the X-Signature header: it is the one part left out.
    const q2 = `cid=${c}&payout=12.5&txid=g2&secret=${secret}`;
    expect((await t.app.inject({ method: 'GET', url: urlOf(`sig=${sign(q2)}&${q2}`) })).statusCode).toBe(200);
    expect((await t.app.inject({ method: 'GET', url: urlOf(q2.replace('g2', 'g3')), headers: { 'x-signature': sign(q2.replace('g2', 'g3')) } })).statusCode).toBe(200);

    const tampered = await t.app.inject({ method: 'GET', url: urlOf(`${query.replace('payout=12.5', 'payout=777777')}&signature=${sign(query)}`) });
    expectRefused(tampered, /^bad signature$/);
    const added = await t.app.inject({ method: 'GET', url: urlOf(`${query}&signature=${sign(query)}&txid=extra`) });
    expectRefused(added, /^bad signature$/);
    expect((await storedOf(c)).map((r) => [r.txid, r.amount])).toEqual([
      ['g1', '12.5'],
      ['g2', '12.5'],
      ['g3', '12.5'],
    ]);
  });

  it('POST: a signed JSON body and a signed form body are accepted, with their own values', async () => {
    const c = newClickId();
    const json = JSON.stringify({ cid: c, payout: '3.25', txid: 'j1', status: 'sale' });
    expect((await postJson(`secret=${secret}`, json, { 'x-signature': sign(json) })).statusCode).toBe(200);
    // The signature and the secret may travel in the query: they are not values of the postback.
    const form = `cid=${c}&payout=4.5&txid=f1&secret=${secret}`;
    const res = await t.app.inject({ method: 'POST', url: urlOf(`signature=${sign(form)}`), headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: form });
    expect(res.statusCode, res.body).toBe(200);
    expect((await storedOf(c)).map((r) => [r.txid, r.amount])).toEqual([
      ['j1', '3.25'],
      ['f1', '4.5'],
    ]);
  });

  it('POST: a signed body with values in the query is refused, and nothing is stored (the forged 777,777 sale)', async () => {
    const c = newClickId();
    const body = '{"x":"1"}';
    const res = await postJson(`cid=${c}&payout=777777&txid=forged&status=sale&secret=${secret}`, body, { 'x-signature': sign(body) });
    expectRefused(res, /not covered by the signature/);
    expect(res.json().message).toMatch(/cid, payout, txid, status/);
    expect(await storedOf(c)).toEqual([]);
    const log = (await t.app.inject({ method: 'GET', url: '/api/postbacks/log?limit=1', headers: adminAuth })).json();
    expect(log.entries[0]).toMatchObject({ reason: 'bad_signature', network: 'signet' });
  });

  it('POST: a captured signed body replayed with new query values is refused', async () => {
    const c = newClickId();
    const captured = JSON.stringify({ cid: c, payout: 1, txid: 'r1', status: 'lead', secret });
    const signature = sign(captured);
    expect((await postJson('', captured, { 'x-signature': signature })).statusCode).toBe(200);
    for (const query of ['payout=999', 'status=sale&payout=500', 'txid=r2', `cid=${newClickId()}`, 'PAYOUT=5', 'note=x']) {
      expectRefused(await postJson(query, captured, { 'x-signature': signature }), /not covered by the signature/);
    }
    expect((await storedOf(c)).map((r) => [r.txid, r.status, r.amount])).toEqual([['r1', 'lead', '1']]);
  });

  it('a signed timestamp (ts or timestamp, seconds or milliseconds) is refused outside 10 minutes of now', async () => {
    const c = newClickId();
    const now = Math.floor(Date.now() / 1000);
    const fresh = `cid=${c}&txid=t1&ts=${now}&secret=${secret}`;
    expect((await t.app.inject({ method: 'GET', url: urlOf(`${fresh}&signature=${sign(fresh)}`) })).statusCode).toBe(200);
    const ms = JSON.stringify({ cid: c, txid: 't2', timestamp: Date.now(), secret });
    expect((await postJson('', ms, { 'x-signature': sign(ms) })).statusCode).toBe(200);
    for (const at of [now - 11 * 60, now + 11 * 60, (now - 3600) * 1000]) {
      const old = `cid=${c}&txid=t3&ts=${at}&secret=${secret}`;
      expectRefused(await t.app.inject({ method: 'GET', url: urlOf(`${old}&signature=${sign(old)}`) }), /^bad signature: ts .* more than 10 minutes from now/);
    }
    // Not a number of seconds: not read as a timestamp (a network's own field of that name).
    const text = `cid=${c}&txid=t4&timestamp=2026-01-01&secret=${secret}`;
    expect((await t.app.inject({ method: 'GET', url: urlOf(`${text}&signature=${sign(text)}`) })).statusCode).toBe(200);
    expect((await storedOf(c)).map((r) => r.txid)).toEqual(['t1', 't2', 't4']);
  });

  it('leaves networks without a signing key as they were: the query wins over the body', async () => {
    const c = newClickId();
    const res = await t.app.inject({
      method: 'POST',
      url: `/postback?payout=2&secret=global-secret-value`,
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ cid: c, payout: 1, txid: 'u1' }),
    });
    expect(res.statusCode, res.body).toBe(200);
    expect((await storedOf(c)).map((r) => r.amount)).toEqual(['2']);
  });
});
