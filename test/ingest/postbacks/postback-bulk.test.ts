import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClickIdGenerator } from '../../../core/click-id.js';
import { adminAuth, startApp, type TestApp } from '../../helpers/app.js';

const ids = new ClickIdGenerator(8);
const newClickId = () => ids.next().id.toString();

describe('bulk postbacks (NDJSON)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp({ KEYREV_FLUSH_INTERVAL_MS: '50', KEYREV_POSTBACK_SECRET: 'global-secret' });
  });
  afterAll(async () => t.close());

  const post = (payload: string | Buffer, headers: Record<string, string> = {}) =>
    t.app.inject({ method: 'POST', url: '/postbacks?secret=global-secret', headers: { 'content-type': 'application/x-ndjson', ...headers }, payload });

  it('keeps the good lines and lists the bad ones with their line numbers', async () => {
    const [a, b] = [newClickId(), newClickId()];
    const lines = [
      JSON.stringify({ cid: a, payout: '1,5', txid: 'n1' }),
      '{"cid": broken',
      '',
      JSON.stringify({ cid: b, payout: 2, txid: 'n2', status: 'approved' }),
      JSON.stringify({ payout: 3 }),
      JSON.stringify({ cid: a, payout: '1,5', txid: 'n1' }),
      JSON.stringify({ cid: b, note: 'x'.repeat(20_000) }),
      '[1]',
    ];
    const res = await post(`${lines.join('\n')}\r\n`);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({
      lines: 8,
      accepted: 2,
      duplicates: 1,
      rejected: 4,
      errors: [
        { line: 2, reason: 'not a JSON object' },
        { line: 5, reason: 'missing click id' },
        { line: 7, reason: 'line longer than 16384 bytes' },
        { line: 8, reason: 'not a JSON object' },
      ],
      errorsTruncated: false,
    });
    await t.app.keyrev.postbacks.flusher.drain();
    const [row] = await t.app.keyrev.warehouse.query<{ n: string; revenue: string }>(
      'SELECT toString(sum(sign)) AS n, toString(sum(revenue * sign)) AS revenue FROM conversions WHERE click_id IN ({ids:Array(UInt64)})',
      { ids: [BigInt(a), BigInt(b)] },
    );
    expect(row).toEqual({ n: '2', revenue: '3.5' });
  });

  it('decides a long stream in order across chunks and past the in-flight bound: a lead, then its sale', async () => {
    const clicks = Array.from({ length: 2_500 }, newClickId);
    const text = [...clicks.map((c) => ({ cid: c, txid: 'o', status: 'lead', payout: 1 })), ...clicks.map((c) => ({ cid: c, txid: 'o', status: 'sale' }))]
      .map((p) => `${JSON.stringify(p)}\n`)
      .join('');
    // Chunks cut through lines, as a network's stream arrives.
    const chunks = Array.from({ length: Math.ceil(text.length / 4_000) }, (_, i) => Buffer.from(text.slice(i * 4_000, (i + 1) * 4_000)));
    const res = await t.app.inject({
      method: 'POST',
      url: '/postbacks?secret=global-secret',
      headers: { 'content-type': 'application/x-ndjson' },
      payload: Readable.from(chunks),
    });
    expect(res.json()).toMatchObject({ lines: 5_000, accepted: 5_000, duplicates: 0, rejected: 0 });
    await t.app.keyrev.postbacks.flusher.drain();
    const [row] = await t.app.keyrev.warehouse.query<{ n: string; sales: string; outcomes: string }>(
      `SELECT toString(sum(sign)) AS n, toString(sumIf(sign, status = 'sale')) AS sales,
              (SELECT toString(countIf(outcome = 'transition')) FROM postbacks WHERE click_id IN {ids:Array(UInt64)}) AS outcomes
       FROM conversions WHERE click_id IN {ids:Array(UInt64)}`,
      { ids: clicks.map(BigInt) },
    );
    expect(row).toEqual({ n: '2500', sales: '2500', outcomes: '2500' });
  });

  it('reads gzip, and refuses a broken one with a 400', async () => {
    const c = newClickId();
    const res = await post(gzipSync(`${JSON.stringify({ clickid: c, sum: 4 })}\n`), { 'content-encoding': 'gzip' });
    expect(res.json()).toMatchObject({ accepted: 1, rejected: 0 });
    const broken = await post(Buffer.from('not gzip at all'), { 'content-encoding': 'gzip' });
    expect(broken.statusCode).toBe(400);
    expect(broken.json().message).toMatch(/not valid gzip/);
  });

  it('asks for the global secret, in bulk and single postbacks alike', async () => {
    const line = `${JSON.stringify({ cid: newClickId() })}\n`;
    const noSecret = await t.app.inject({ method: 'POST', url: '/postbacks', headers: { 'content-type': 'application/x-ndjson' }, payload: line });
    expect(noSecret.statusCode).toBe(403);
    expect((await t.app.inject({ method: 'GET', url: `/postback?cid=${newClickId()}` })).json().message).toBe('bad secret');
    expect((await t.app.inject({ method: 'GET', url: `/postback?cid=${newClickId()}&secret=global-secret` })).statusCode).toBe(200);
    const asAdmin = await t.app.inject({ method: 'POST', url: '/postbacks', headers: { 'content-type': 'application/x-ndjson', ...adminAuth }, payload: line });
    expect(asAdmin.json()).toMatchObject({ accepted: 1 });
  });

  it('refuses other content types', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/postbacks', headers: { 'content-type': 'text/csv' }, payload: 'a,b' });
    expect(res.statusCode).toBe(415);
  });
});
