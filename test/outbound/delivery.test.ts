import { describe, expect, it } from 'vitest';
import type { OutboundResult } from '../../core/outbound-http.js';
import { afterAttempt, defaultRetryDelaysMs, firingRules } from '../../outbound/delivery.js';
import { fillMacros, jsonTemplateProblem, macroNames, macroProblem, type MacroValues } from '../../outbound/macros.js';
import type { Rule } from '../../outbound/rule-schema.js';
import type { DeliveryRow } from '../../warehouse/outbox-store.js';

const delivery: DeliveryRow = {
  id: 'd',
  ruleId: 'r',
  clickId: '1',
  type: '',
  txid: 't',
  status: 'sale',
  method: 'GET',
  url: 'https://x.example/',
  headers: {},
  body: '',
  state: 'pending',
  attempts: 0,
  step: 0,
  nextMs: 0,
  createdMs: 0,
  deliveredMs: undefined,
  lastStatus: 0,
  lastError: '',
  version: '7',
};
const answer = (status: number): OutboundResult => ({ ok: true, status, bodyStart: '', latencyMs: 1 });
const networkError: OutboundResult = { ok: false, error: 'connect ECONNREFUSED', refused: false, permanent: false, latencyMs: 1 };

describe('a delivery after an attempt', () => {
  it('follows the documented schedule on retryable failures (30 s, 2 min, 10 min, 1 h, 6 h), then fails', () => {
    expect(defaultRetryDelaysMs).toEqual([30_000, 120_000, 600_000, 3_600_000, 21_600_000]);
    let d = delivery;
    const waits: number[] = [];
    for (const result of [answer(500), networkError, answer(429), answer(408), answer(503)]) {
      d = afterAttempt(d, result, 1_000, defaultRetryDelaysMs);
      expect(d.state).toBe('retrying');
      waits.push(d.nextMs - 1_000);
    }
    expect(waits).toEqual([...defaultRetryDelaysMs]);
    expect(afterAttempt(d, answer(502), 1_000, defaultRetryDelaysMs)).toMatchObject({ state: 'failed', attempts: 6, lastStatus: 502, lastError: 'HTTP 502' });
  });

  it('is delivered on a 2xx; fails at once on another 4xx, a redirect, or a refused destination', () => {
    expect(afterAttempt(delivery, answer(204), 5, defaultRetryDelaysMs)).toMatchObject({ state: 'delivered', deliveredMs: 5, attempts: 1 });
    expect(afterAttempt(delivery, answer(404), 5, defaultRetryDelaysMs)).toMatchObject({ state: 'failed', attempts: 1 });
    expect(afterAttempt(delivery, answer(301), 5, defaultRetryDelaysMs)).toMatchObject({ state: 'failed', lastError: 'HTTP 301 (redirects are not followed)' });
    expect(afterAttempt(delivery, { ok: false, error: 'refused', refused: true, permanent: true, latencyMs: 0 }, 5, defaultRetryDelaysMs)).toMatchObject({ state: 'failed' });
  });

  it('fails at once when the request cannot be built (the same bytes would fail again)', () => {
    const invalidHeader: OutboundResult = { ok: false, error: 'Invalid character in header content ["x-kw"]', refused: false, permanent: true, latencyMs: 0 };
    expect(afterAttempt(delivery, invalidHeader, 5, defaultRetryDelaysMs)).toMatchObject({ state: 'failed', attempts: 1, lastError: invalidHeader.error });
  });

  it('writes each new state one version above the state it was made from, whatever the clock', () => {
    const retrying = afterAttempt(delivery, answer(503), 5, defaultRetryDelaysMs);
    expect(retrying.version).toBe('8');
    expect(afterAttempt(retrying, answer(200), 1, defaultRetryDelaysMs).version).toBe('9');
  });
});

describe('rule resolution', () => {
  const rule = (id: string, r: Partial<Rule>): Rule => ({ id, scope: 'global', url: 'https://x.example/', method: 'GET', bodyType: 'json', headers: {}, statuses: ['sale'], payoutPercent: 100, enabled: true, createdAt: '', updatedAt: '', ...r });
  const rules = [rule('g', {}), rule('s', { scope: 'source', source: 'S' }), rule('c', { scope: 'campaign', campaignId: 'C', statuses: ['lead'] }), rule('off', { scope: 'campaign', campaignId: 'D', enabled: false })];
  const ids = (campaign_id: string, traffic_source: string, status = 'sale') => firingRules(rules, { campaign_id, traffic_source, status }).map((r) => r.id);

  it('takes the campaign level if it has rules, else the source level, else global; then the statuses', () => {
    expect(ids('C', 'S', 'lead')).toEqual(['c']);
    // C has a rule (for leads only): its sale fires nothing, not the source or global rule.
    expect(ids('C', 'S', 'sale')).toEqual([]);
    expect(ids('X', 'S')).toEqual(['s']);
    expect(ids('X', 'other')).toEqual(['g']);
    // A disabled campaign rule does not count: D falls back to the global rule.
    expect(ids('D', 'other')).toEqual(['g']);
  });
});

describe('macros and masking', () => {
  const values = Object.fromEntries(macroNames.map((n) => [n, ''])) as MacroValues;

  it('maps a status inline (commas or spaces) and falls back to the status itself', () => {
    expect(fillMacros('s={status:sale=1,lead=0}', { ...values, status: 'sale' }, 'url')).toBe('s=1');
    expect(fillMacros('s={status:lead=0%20sale=1}', { ...values, status: 'sale' }, 'url')).toBe('s=1');
    expect(fillMacros('s={status:sale=1}', { ...values, status: 'rejected' }, 'url')).toBe('s=rejected');
    expect(macroProblem('{status:sale}')).toMatch(/not a status map/);
    expect(macroProblem('{keyword:x=1}')).toMatch(/not a status map/);
    expect(macroProblem('{clickid}&{Payout}')).toBeUndefined();
  });

  it('keeps line breaks and characters beyond printable ASCII out of headers: percent-encoded', () => {
    expect(fillMacros('v {keyword}', { ...values, keyword: 'a\r\nx-evil: 1' }, 'header')).toBe('v a%0D%0Ax-evil: 1');
    expect(fillMacros('{keyword}', { ...values, keyword: '日本 shoes é' }, 'header')).toBe('%E6%97%A5%E6%9C%AC shoes %C3%A9');
  });

  it('refuses a JSON body that is not JSON for some status, and encodes mapped words for their place', () => {
    // Valid for sale and lead, yet `rejected` (the fallback) would stand bare.
    expect(jsonTemplateProblem('{"s": {status:sale=1,lead=0}}')).toMatch(/for status rejected/);
    expect(jsonTemplateProblem('{"s": {status:sale=1,lead=0,rejected=0,rebill=1,chargeback=0}}')).toBeUndefined();
    expect(jsonTemplateProblem('{"s": "{status:sale=a"b}"}')).toBeUndefined();
    expect(fillMacros('{"s":"{status:sale=a"b}"}', { ...values, status: 'sale' }, 'json')).toBe('{"s":"a\\"b"}');
    expect(fillMacros('s={status:sale=a&b}', { ...values, status: 'sale' }, 'url')).toBe('s=a%26b');
    // A URL template is stored percent-encoded: its words are encoded once, not twice.
    expect(fillMacros('s={status:sale=%C3%A9}', { ...values, status: 'sale' }, 'url')).toBe('s=%C3%A9');
    expect(fillMacros('s={status:sale=a+b}', { ...values, status: 'sale' }, 'form')).toBe('s=a%2Bb');
  });
});
