import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClickIdGenerator } from '../../core/click-id.js';
import { adminAuth, startApp, type TestApp } from '../helpers/app.js';

const ids = new ClickIdGenerator(24);
const newClickId = () => ids.next().id.toString();
const secret = 'global-secret-value';

/**
 * Attack: POST /postbacks inflated whatever gzip it was given and read every line of it. A 9.4 MB
 * gzip of zeros kept the server busy 86 s before the 8 GiB limit answered 413; a 30 KB gzip of
 * `{}\n` lines took 98 s, logged 10.5 M refusals and pushed every other refusal out of the
 * postback log. Now a stream is stopped when it inflates more than 100 times its compressed size
 * (+1 MB) with a 413, after 10,000 rejected lines, and after KEYREV_BULK_MAX_SECONDS; at most 100
 * entries of one stream reach the postback log, then one summary. Lines before a stop are kept.
 */
describe('bulk postback streams that cost more than they carry', () => {
  let t: TestApp;
  const maxSeconds = 3;
  const post = (payload: Buffer | string | Readable, headers: Record<string, string> = {}, query = `?secret=${secret}`) =>
    t.app.inject({ method: 'POST', url: `/postbacks${query}`, headers: { 'content-type': 'application/x-ndjson', ...headers }, payload });
  const gzip = { 'content-encoding': 'gzip' };
  const storedTxids = async (clickId: string) => {
    await t.app.keyrev.postbacks.flusher.drain();
    const rows = await t.app.keyrev.warehouse.query<{ txid: string }>('SELECT txid FROM postbacks WHERE click_id = {id:UInt64} ORDER BY txid', { id: clickId });
    return rows.map((r) => r.txid);
  };
  /** Runs a request and gives its answer and how long it took, in seconds. */
  const timed = async <T>(run: () => Promise<T>): Promise<[T, number]> => {
    const started = performance.now();
    const res = await run();
    return [res, (performance.now() - started) / 1000];
  };
  // 16 MiB of zeros is a 16 KB gzip member; members one after another are one valid gzip stream.
  const zeros = gzipSync(Buffer.alloc(16 * 1024 * 1024));
  const bomb = (members: number, first?: string) => Buffer.concat([...(first ? [gzipSync(first)] : []), ...Array.from({ length: members }, () => zeros)]);

  beforeAll(async () => {
    t = await startApp({ KEYREV_FLUSH_INTERVAL_MS: '20', KEYREV_POSTBACK_SECRET: secret, KEYREV_BULK_MAX_SECONDS: String(maxSeconds) });
  });
  afterAll(async () => t.close());

  it('answers a gzip of zeros with a 413 as soon as it inflates past 100 times its size, keeping the lines before', async () => {
    const c = newClickId();
    // 1 GiB inflated from 1 MB: before the fix it was all inflated and scanned (seconds of CPU).
    const [res, seconds] = await timed(() => post(bomb(64, `${JSON.stringify({ cid: c, txid: 'before-bomb' })}\n`), gzip));
    expect(res.statusCode, res.body).toBe(413);
    expect(res.json()).toMatchObject({ code: 'KR_PAYLOAD_TOO_LARGE' });
    expect(res.json().message).toMatch(/^the stream inflates to more than 100 times its compressed size/);
    expect(res.json().message).not.toContain('\n');
    expect(seconds).toBeLessThan(2);
    expect(await storedTxids(c)).toEqual(['before-bomb']);
  }, 60_000);

  it('inflates nothing before the caller is authorised', async () => {
    const [res, seconds] = await timed(() => post(bomb(64), gzip, ''));
    expect(res.statusCode, res.body).toBe(403);
    expect(res.json().message).toBe('bad secret');
    expect(seconds).toBeLessThan(2);
  }, 60_000);

  it('stops a stream after 10,000 rejected lines, answering what was done, and keeps the postback log for the others', async () => {
    // A refusal from someone else, before the flood: it must still be in the log afterwards.
    const single = await t.app.inject({ method: 'GET', url: `/postback?payout=1&secret=${secret}&marker=before-flood` });
    expect(single.statusCode).toBe(400);
    const c = newClickId();
    // 2 M lines of `{}` in a 6 KB gzip, after one good line.
    const flood = gzipSync(Buffer.from(`${JSON.stringify({ cid: c, txid: 'first-line' })}\n${'{}\n'.repeat(2_000_000)}`));
    const [res, seconds] = await timed(() => post(flood, gzip));
    expect(res.statusCode, res.body).toBe(200);
    const answer = res.json();
    expect(answer.stopped).toMatch(/^too many rejected lines \(10000\): the rest of the stream was not read/);
    expect(answer.accepted).toBe(1);
    expect(answer.rejected).toBeGreaterThanOrEqual(10_000);
    // Lines decided before the stop are answered too: at most a few batches past the limit.
    expect(answer.rejected).toBeLessThan(30_000);
    expect(answer.lines).toBe(answer.accepted + answer.rejected);
    expect(answer.errors).toHaveLength(1000);
    expect(answer.errors[0]).toEqual({ line: 2, reason: 'missing click id' });
    expect(answer.errorsTruncated).toBe(true);
    expect(seconds).toBeLessThan(3);
    expect(await storedTxids(c)).toEqual(['first-line']);

    const log = (await t.app.inject({ method: 'GET', url: '/api/postbacks/log?limit=1000', headers: adminAuth })).json().entries as { reason: string; source: string; message: string }[];
    const fromStream = log.filter((e) => e.source.startsWith('/postbacks'));
    expect(fromStream.length).toBe(101);
    expect(fromStream[0]).toMatchObject({ reason: 'too_many_entries' });
    expect(fromStream[0]!.message).toMatch(/^more than 100 entries from one bulk stream/);
    expect(log.some((e) => e.source.includes('marker=before-flood'))).toBe(true);
    const metrics = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
    // Every refusal is still counted, logged or not.
    const refusals = Number(/keyrev_postback_refusals_total\{reason="missing_click_id"\} (\d+)/.exec(metrics)?.[1]);
    expect(refusals).toBe(answer.rejected + 1);
  }, 60_000);

  it('counts blank lines in `lines`, without accepting or rejecting them', async () => {
    expect((await post('\n\n\n\n')).json()).toEqual({ lines: 4, accepted: 0, duplicates: 0, rejected: 0, errors: [], errorsTruncated: false });
    const [res] = await timed(() => post(gzipSync('\n'.repeat(500_000)), gzip));
    expect(res.json()).toMatchObject({ lines: 500_000, accepted: 0, rejected: 0 });
  });

  it('stops a stream that takes longer than KEYREV_BULK_MAX_SECONDS, answering what was done', async () => {
    const c = newClickId();
    const stalled = new Readable({ read() {} });
    stalled.push(`${JSON.stringify({ cid: c, txid: 'slow' })}\n`);
    // Before the fix this stream was read until the client ended it.
    const end = setTimeout(() => stalled.push(null), (maxSeconds + 5) * 1000);
    const [res, seconds] = await timed(() => post(stalled, adminAuth, ''));
    clearTimeout(end);
    stalled.destroy();
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ lines: 1, accepted: 1, rejected: 0 });
    expect(res.json().stopped).toMatch(new RegExp(`^time limit of ${maxSeconds} s reached \\(KEYREV_BULK_MAX_SECONDS\\): the rest of the stream was not read`));
    expect(seconds).toBeGreaterThanOrEqual(maxSeconds - 0.1);
    expect(seconds).toBeLessThan(maxSeconds + 3);
    expect(await storedTxids(c)).toEqual(['slow']);
  }, 60_000);
});
