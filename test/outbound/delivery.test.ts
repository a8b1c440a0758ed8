import { describe, expect, it } from 'vitest';
import type { OutboundResult } from '../../core/outbound-http.js';
import { afterAttempt, defaultRetryDelaysMs, firingRules } from '../../outbound/delivery.js';
import { fillMacros, macroNames, macroProblem, type MacroValues } from '../../outbound/macros.js';
import { isSecretName, maskUrl } from '../../outbound/masking.js';
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
};
const answer = (status: number): OutboundResult => ({ ok: true, status, bodyStart: '', latencyMs: 1 });
const networkError: OutboundResult = { ok: false, error: 'connect ECONNREFUSED', refused: false, latencyMs: 1 };

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
    expect(afterAttempt(delivery, { ok: false, error: 'refused', refused: true, latencyMs: 0 }, 5, defaultRetryDelaysMs)).toMatchObject({ state: 'failed' });
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

  it('keeps line breaks out of headers', () => {
    expect(fillMacros('v {keyword}', { ...values, keyword: 'a\r\nx-evil: 1' }, 'header')).toBe('v ax-evil: 1');
  });

  it('masks credential-like names only', () => {
    for (const name of ['token', 'api_key', 'apiKey', 'X-Api-Key', 'secret', 'client_secret', 'password', 'sig', 'Authorization', 'access_token']) expect(isSecretName(name), name).toBe(true);
    for (const name of ['keyword', 'kw', 'click', 'sub1', 'monkey']) expect(isSecretName(name), name).toBe(false);
    expect(maskUrl('https://u:pw@x.example/p?a=1&token=t&kw=k#f')).toBe('https://u:********@x.example/p?a=1&token=********&kw=k#f');
  });
});
