import { createHash, createHmac } from 'node:crypto';
import type { ConversionStatus } from '../core/conversion.js';
import { formatMicros, parseAmount } from '../core/money.js';
import type { OutboundResult } from '../core/outbound-http.js';
import type { DeliveryRow, QueueRow } from '../warehouse/outbox-store.js';
import { successorVersion } from '../warehouse/version.js';
import { fillMacros, type MacroValues } from './macros.js';
import type { Rule } from './rule-schema.js';

/** Retries after a network error, a timeout, 408, 429 or 5xx: 30 s, 2 min, 10 min, 1 h, 6 h; then failed. */
export const defaultRetryDelaysMs: readonly number[] = [30_000, 120_000, 600_000, 3_600_000, 21_600_000];

/**
 * One delivery per (conversion, status, rule): its id is a digest of them, so a conversion read
 * again (the queue's overlap, a restart, a second look) finds its delivery and creates none.
 */
export function deliveryId(row: Pick<QueueRow, 'click_id' | 'conversion_type' | 'txid' | 'status'>, ruleId: string): string {
  return createHash('sha256').update([row.click_id, row.conversion_type, row.txid, row.status, ruleId].join('\n')).digest('hex').slice(0, 32);
}

/**
 * The rules a conversion fires: the enabled rules of its campaign if it has any, else those of its
 * traffic source, else the global ones (local beats global); of these, the ones for its status.
 */
export function firingRules(rules: readonly Rule[], row: Pick<QueueRow, 'campaign_id' | 'traffic_source' | 'status'>): Rule[] {
  const enabled = rules.filter((r) => r.enabled);
  const campaign = enabled.filter((r) => r.scope === 'campaign' && r.campaignId === row.campaign_id);
  const source = enabled.filter((r) => r.scope === 'source' && r.source === row.traffic_source);
  const level = campaign.length > 0 ? campaign : source.length > 0 ? source : enabled.filter((r) => r.scope === 'global');
  return level.filter((r) => r.statuses.includes(row.status as ConversionStatus));
}

/** Decimal text without trailing zeros: "12.5", "0", "-3". */
function plainDecimal(micros: bigint): string {
  return formatMicros(micros).replace(/\.?0+$/, '');
}

/** The share of an amount, rounded half away from zero to the micro-unit. */
function share(micros: bigint, percent: number): bigint {
  const basisPoints = BigInt(Math.round(percent * 100));
  const product = micros * basisPoints;
  return product >= 0n ? (product + 5_000n) / 10_000n : -((-product + 5_000n) / 10_000n);
}

export function macroValues(row: QueueRow, rule: Rule, click: { fbclid: string; externalId: string } | undefined): MacroValues {
  return {
    clickid: row.click_id,
    external_id: click?.externalId ?? '',
    payout: plainDecimal(share(parseAmount(row.amount_text) ?? 0n, rule.payoutPercent)),
    revenue: plainDecimal(parseAmount(row.revenue_text) ?? 0n),
    currency: row.currency,
    status: row.status,
    txid: row.txid,
    conversion_type: row.conversion_type,
    conversion_time: new Date(Number(row.converted_ms)).toISOString(),
    keyword: row.keyword,
    ad: row.ad,
    adgroup: row.adgroup,
    matchtype: row.match_type,
    campaign: row.campaign_id,
    source: row.traffic_source,
    gclid: row.gclid,
    msclkid: row.msclkid,
    fbclid: click?.fbclid ?? '',
    sub1: row.sub1,
    sub2: row.sub2,
    sub3: row.sub3,
    sub4: row.sub4,
    sub5: row.sub5,
    sub6: row.sub6,
    sub7: row.sub7,
    sub8: row.sub8,
    sub9: row.sub9,
    sub10: row.sub10,
    utm_source: row.utm_source,
    utm_medium: row.utm_medium,
    utm_campaign: row.utm_campaign,
    utm_term: row.utm_term,
    utm_content: row.utm_content,
  };
}

const contentTypes = { json: 'application/json', form: 'application/x-www-form-urlencoded' } as const;

/**
 * The request of a delivery, rendered once when it is created and sent as kept (a retry or a
 * replay sends the same bytes). Signed with the rule's key: HMAC-SHA256 of the body, or of the
 * URL for a GET, hex, in `X-Keyrev-Signature: sha256=<hex>`; `X-Keyrev-Delivery` carries the
 * delivery id, the same on every attempt, for the receiver to recognise a repeat.
 */
export function newDelivery(id: string, row: QueueRow, rule: Rule, values: MacroValues, nowMs: number): DeliveryRow {
  const url = fillMacros(rule.url, values, 'url');
  const body = rule.method === 'POST' ? fillMacros(rule.body ?? '', values, rule.bodyType) : '';
  const headers: Record<string, string> = {};
  for (const [name, template] of Object.entries(rule.headers)) headers[name] = fillMacros(template, values, 'header');
  if (rule.method === 'POST' && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['content-type'] = contentTypes[rule.bodyType];
  headers['x-keyrev-delivery'] = id;
  if (rule.signingKey) headers['x-keyrev-signature'] = `sha256=${createHmac('sha256', rule.signingKey).update(rule.method === 'POST' ? body : url).digest('hex')}`;
  return {
    id,
    ruleId: rule.id,
    clickId: row.click_id,
    type: row.conversion_type,
    txid: row.txid,
    status: row.status,
    method: rule.method,
    url,
    headers,
    body,
    state: 'pending',
    attempts: 0,
    step: 0,
    nextMs: nowMs,
    createdMs: nowMs,
    deliveredMs: undefined,
    lastStatus: 0,
    lastError: '',
    version: '1',
  };
}

/**
 * A delivery after an attempt: delivered on 2xx; tried again later on a network error, a
 * timeout, 408, 429 or 5xx while the schedule lasts; failed at once on a redirect (never
 * followed), another 4xx, a destination the SSRF guard refuses, or a request that cannot be
 * built (a header Node refuses): the same bytes would fail the same way.
 */
export function afterAttempt(d: DeliveryRow, result: OutboundResult, nowMs: number, retryDelaysMs: readonly number[]): DeliveryRow {
  const attempts = d.attempts + 1;
  const version = successorVersion(d.version);
  const status = result.ok ? result.status : 0;
  if (result.ok && status >= 200 && status < 300) return { ...d, attempts, version, state: 'delivered', deliveredMs: nowMs, lastStatus: status, lastError: '' };
  const retryable = result.ok ? status === 408 || status === 429 || status >= 500 : !result.permanent;
  const lastError = result.ok ? (status >= 300 && status < 400 ? `HTTP ${status} (redirects are not followed)` : `HTTP ${status}`) : result.error;
  const delay = retryable ? retryDelaysMs[d.step] : undefined;
  if (delay === undefined) return { ...d, attempts, version, state: 'failed', lastStatus: status, lastError };
  return { ...d, attempts, version, step: d.step + 1, state: 'retrying', nextMs: nowMs + delay, lastStatus: status, lastError };
}
