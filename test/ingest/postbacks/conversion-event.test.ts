import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClickIdGenerator } from '../../../core/click-id.js';
import type { ConversionEvent } from '../../../core/conversion.js';
import { startApp, type TestApp } from '../../helpers/app.js';

const ids = new ClickIdGenerator(9);

describe('the conversion event', () => {
  let t: TestApp;
  const seen: ConversionEvent[] = [];

  beforeAll(async () => {
    t = await startApp();
    t.app.events.on('conversion', (e) => {
      seen.push(e);
    });
    // A failing subscriber is isolated: the postback is still answered, the others still called.
    t.app.events.on('conversion', () => {
      throw new Error('a broken subscriber');
    });
  });
  afterAll(async () => t.close());

  const postback = (query: string) => t.app.inject({ method: 'GET', url: `/postback?${query}` });

  it('is published once a postback is durable, with the state before and after, in order', async () => {
    const clickId = ids.next().id;
    seen.length = 0;
    expect((await postback(`cid=${clickId}&payout=10&txid=A&status=lead`)).body).toBe('OK');
    expect((await postback(`cid=${clickId}&txid=A&status=sale`)).body).toBe('OK');
    expect((await postback(`cid=${clickId}&txid=A&status=sale`)).body).toBe('OK');
    expect(seen.map((e) => e.outcome)).toEqual(['new', 'transition', 'duplicate']);
    const [lead, sale, retry] = seen;
    expect(lead).toMatchObject({ clickId, txid: 'A', type: '', network: '', previous: undefined });
    expect(lead!.state).toMatchObject({ status: 'lead', amountMicros: 10_000_000n, revenueMicros: 10_000_000n });
    expect(sale!.previous?.status).toBe('lead');
    expect(sale!.state).toMatchObject({ status: 'sale', amountMicros: 10_000_000n, version: sale!.postbackId });
    expect(retry!.state?.version).toBe(sale!.postbackId);
    expect(sale!.postbackId > lead!.postbackId).toBe(true);
  });

  it('is published for every accepted line of a bulk stream, and not for refused ones', async () => {
    const [a, b] = [ids.next().id, ids.next().id];
    seen.length = 0;
    const body = [`{"cid":"${a}","payout":"1","txid":"x"}`, '{"payout":"2"}', `{"cid":"${b}","payout":"3","txid":"y"}`].join('\n');
    const res = await t.app.inject({ method: 'POST', url: '/postbacks', headers: { 'content-type': 'application/x-ndjson' }, payload: body });
    expect(res.json()).toMatchObject({ accepted: 2, rejected: 1 });
    expect(seen.map((e) => [e.clickId, e.outcome])).toEqual([
      [a, 'new'],
      [b, 'new'],
    ]);
  });
});
