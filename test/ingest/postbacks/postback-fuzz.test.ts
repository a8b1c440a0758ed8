import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultPostbackParams } from '../../../ingest/postbacks/postback-params.js';
import { startApp, type TestApp } from '../../helpers/app.js';

/** Parameter names a network would send, and values from plausible to hostile. */
const names = fc.oneof(fc.constantFrom(...Object.values(defaultPostbackParams).flat(), 'secret', 'signature'), fc.string({ maxLength: 70 }));
const values = fc.oneof(
  fc.constantFrom('{payout}', '#price#', '%7Bx%7D', 'REPLACE', '', '12,34', '-0', '1e9', '383765977717833728', '18446744073709551616', 'approved', 'chargeback', '%', '%E0%A4%A', '+'),
  fc.bigInt({ min: 0n, max: (1n << 64n) + 5n }).map(String),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 3000 }),
);
const clickIds = fc.bigInt({ min: 1n, max: (1n << 63n) - 1n }).map(String);
const pairs = fc.array(fc.oneof(fc.tuple(names, values), fc.tuple(fc.constantFrom('cid', 'clickid', 'subid'), clickIds)), { maxLength: 120 });

describe('postback parser under fuzzing', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp({ KEYREV_FLUSH_INTERVAL_MS: '20' });
  });
  afterAll(async () => t.close());

  const spooled = () => t.app.keyrev.postbacks.spool.stats().appended;

  it('never answers 5xx, and a refused postback stores nothing', async () => {
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(pairs, fc.constantFrom('query', 'form', 'json', 'ndjson'), async (params, how) => {
        const before = spooled();
        const query = params.map(([k, v]) => `${encodeURIComponent(k)}=${how === 'query' ? encodeURIComponent(v) : v}`).join('&');
        const res =
          how === 'query'
            ? await t.app.inject({ method: 'GET', url: `/postback?${query}` })
            : how === 'form'
              ? await t.app.inject({ method: 'POST', url: '/postback', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: query })
              : how === 'json'
                ? await t.app.inject({ method: 'POST', url: '/postback', headers: { 'content-type': 'application/json' }, payload: JSON.stringify(Object.fromEntries(params)) })
                : await t.app.inject({ method: 'POST', url: '/postbacks', headers: { 'content-type': 'application/x-ndjson' }, payload: params.map(([k, v]) => JSON.stringify({ [k]: v })).join('\n') });
        statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
        expect(res.statusCode, res.body).toBeLessThan(500);
        if (res.statusCode >= 400) {
          expect(spooled()).toBe(before);
          expect(res.json().message).not.toMatch(/\n/);
        }
        if (how === 'ndjson') expect(spooled() - before).toBe(res.json().accepted + res.json().duplicates);
      }),
      { numRuns: 300 },
    );
    // The generator reaches both sides: accepted postbacks and refusals.
    expect(statuses.get(200) ?? 0).toBeGreaterThan(20);
    expect(statuses.get(400) ?? 0).toBeGreaterThan(20);
  });
});
