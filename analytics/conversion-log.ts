import { z } from 'zod';
import { conversionStatuses } from '../core/conversion.js';
import { objectId } from '../core/schemas.js';
import { latestConversionSql as latest } from '../warehouse/conversion-store.js';
import type { Warehouse } from '../warehouse/warehouse.js';
import { conversionSumSql } from './report-metrics.js';
import { rangeBoundsSql, rangeParams, timeRangeFields } from './time-range.js';

export const conversionLogQuery = z.strictObject({
  ...timeRangeFields,
  status: z.enum(conversionStatuses).optional(),
  network: objectId.optional(),
  campaign: objectId.optional(),
  /** only: conversions whose click is not (yet) in ClickHouse; exclude: attributed ones only. */
  orphans: z.enum(['include', 'only', 'exclude']).default('include'),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
});

const clickOf = z
  .object({
    clickedAt: z.string(),
    campaign: z.string(),
    trafficSource: z.string(),
    keyword: z.string(),
    matchType: z.string(),
    ad: z.string(),
    adgroup: z.string(),
    country: z.string(),
    device: z.string(),
    utmSource: z.string(),
    utmCampaign: z.string(),
  })
  .nullable();

export const conversionLogEntry = z.object({
  clickId: z.string(),
  type: z.string(),
  txid: z.string(),
  network: z.string(),
  // Any text, not the enum: the answer shows what a row holds, so one row written outside keyrev's
  // checks (another writer, an older version) cannot turn the whole conversion log into a 500.
  status: z.string().describe(`the latest status the network sent: ${conversionStatuses.join(', ')}`),
  // Three money fields, so that the network's figure is never mistaken for money earned: summing
  // `revenue` over any rows gives what /api/report calls revenue.
  amount: z.number().describe('the payout the network sent, in its currency (`currency`), whatever the status'),
  currency: z.string().describe('the currency of `amount`'),
  payout: z.number().describe('`amount` converted into the account currency (KEYREV_CURRENCY), whatever the status; 0 when no rate for `currency` was loaded'),
  revenue: z
    .number()
    .describe('the revenue this conversion counts for, in the account currency: `payout` when the status is sale or rebill, else 0 (a lead is not yet revenue, a rejected or charged back sale no longer is). Summing it gives the revenue of /api/report'),
  convertedAt: z.string(),
  /** No click with this id is in ClickHouse: not arrived yet (late) or never (orphan). */
  orphan: z.boolean(),
  click: clickOf,
});

export type ConversionLogEntry = z.infer<typeof conversionLogEntry>;

interface Row {
  click_id: string;
  conversion_type: string;
  txid: string;
  c_network: string;
  c_status: ConversionLogEntry['status'];
  c_amount: string;
  c_currency: string;
  c_payout: string;
  c_revenue: string;
  c_at: string;
  found: number;
  k_at: string;
  campaign_id: string;
  traffic_source: string;
  keyword: string;
  match_type: string;
  ad: string;
  adgroup: string;
  country: string;
  device_type: string;
  utm_source: string;
  utm_campaign: string;
}

/**
 * The conversion log: each conversion once, at its latest status, newest first, with the click it
 * is credited to. Clicks are looked up by the ids of the conversions in range (the clicks table
 * is ordered by click id), at query time, so a click that arrived after its postback is found.
 */
export async function conversionLog(wh: Warehouse, q: z.output<typeof conversionLogQuery>): Promise<ConversionLogEntry[]> {
  const where = [
    q.status ? 'c_status = {status:String}' : '',
    q.network ? 'c_network = {network:String}' : '',
    q.campaign ? 'campaign_id = {campaign:String}' : '',
    q.orphans === 'only' ? 'found = 0' : q.orphans === 'exclude' ? 'found = 1' : '',
  ].filter(Boolean);
  const inRange = `converted_at >= ${rangeBoundsSql.from} AND converted_at < ${rangeBoundsSql.to}`;
  const rows = await wh.query<Row>(
    `SELECT toString(conv.click_id) AS click_id, conversion_type, txid, c_network, c_status, c_amount, c_currency, c_payout, c_revenue,
            toString(toUnixTimestamp64Milli(c_at)) AS c_at, cl.click_id != 0 AS found, toString(toUnixTimestamp64Milli(cl.ts)) AS k_at,
            campaign_id, traffic_source, keyword, match_type, ad, adgroup, country, device_type, utm_source, utm_campaign
     FROM
     (
         SELECT click_id, conversion_type, txid,
                ${latest.network} AS c_network, ${latest.status} AS c_status,
                toString(${latest.amount}) AS c_amount, ${latest.currency} AS c_currency,
                toString(${latest.revenue}) AS c_payout,
                toString(${conversionSumSql('revenue', { status: latest.status, revenue: latest.revenue, sign: '1' })}) AS c_revenue,
                min(converted_at) AS c_at
         FROM conversions
         WHERE ${inRange}
         GROUP BY click_id, conversion_type, txid
         HAVING sum(sign) > 0
     ) AS conv
     LEFT JOIN
     (
         SELECT click_id, ts, campaign_id, traffic_source, keyword, match_type, ad, adgroup, country, device_type, utm_source, utm_campaign
         FROM clicks
         WHERE click_id IN (SELECT click_id FROM conversions WHERE ${inRange})
     ) AS cl ON cl.click_id = conv.click_id
     ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
     ORDER BY c_at DESC, conv.click_id DESC, txid
     LIMIT {limit:UInt32} OFFSET {offset:UInt32}
     SETTINGS join_use_nulls = 0`,
    { ...rangeParams(q), status: q.status ?? '', network: q.network ?? '', campaign: q.campaign ?? '', limit: q.limit, offset: q.offset },
  );
  return rows.map((r) => ({
    clickId: r.click_id,
    type: r.conversion_type,
    txid: r.txid,
    network: r.c_network,
    status: r.c_status,
    amount: Number(r.c_amount),
    currency: r.c_currency,
    payout: Number(r.c_payout),
    revenue: Number(r.c_revenue),
    convertedAt: new Date(Number(r.c_at)).toISOString(),
    orphan: !Number(r.found),
    click: Number(r.found)
      ? {
          clickedAt: new Date(Number(r.k_at)).toISOString(),
          campaign: r.campaign_id,
          trafficSource: r.traffic_source,
          keyword: r.keyword,
          matchType: r.match_type,
          ad: r.ad,
          adgroup: r.adgroup,
          country: r.country,
          device: r.device_type,
          utmSource: r.utm_source,
          utmCampaign: r.utm_campaign,
        }
      : null,
  }));
}
