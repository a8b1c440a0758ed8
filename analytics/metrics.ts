/**
 * Every number a report shows, defined once, as SQL over the base sums of a report query
 * (analytics/report-query.ts). Reports, totals, time series, exports and the dashboard all read
 * these definitions. Ratios are null where they are undefined (no clicks, no cost).
 */

/** Sums every report starts from; each source (rollup or raw table) says how to compute them. */
export const baseSums = ['clicks', 'uniqueClicks', 'botClicks', 'cost', 'leads', 'sales', 'rebills', 'rejected', 'chargebacks', 'revenue', 'pendingRevenue'] as const;
export type BaseSum = (typeof baseSums)[number];

const conversions = '(b_leads + b_sales + b_rebills)';
const paid = '(b_sales + b_rebills)';
const ratio = (num: string, den: string) => `if(${den} = 0, NULL, toFloat64(${num}) / toFloat64(${den}))`;

export const metrics = {
  clicks: { sql: 'b_clicks', kind: 'count', help: 'clicks on tracking links' },
  uniqueClicks: { sql: 'b_uniqueClicks', kind: 'count', help: 'first click of a visitor (campaign, IP, user agent) within the unique window' },
  botClicks: { sql: 'b_botClicks', kind: 'count', help: 'clicks flagged as bots, crawlers or link previews' },
  leads: { sql: 'b_leads', kind: 'count', help: 'conversions whose latest status is lead (pending, hold)' },
  sales: { sql: 'b_sales', kind: 'count', help: 'conversions whose latest status is sale (approved)' },
  rebills: { sql: 'b_rebills', kind: 'count', help: 'rebill conversions' },
  rejected: { sql: 'b_rejected', kind: 'count', help: 'conversions rejected by the network' },
  chargebacks: { sql: 'b_chargebacks', kind: 'count', help: 'sales charged back' },
  conversions: { sql: conversions, kind: 'count', help: 'leads + sales + rebills (rejected and charged back ones excluded)' },
  revenue: { sql: 'b_revenue', kind: 'money', help: 'payouts of sales and rebills, in the account currency' },
  pendingRevenue: { sql: 'b_pendingRevenue', kind: 'money', help: 'payouts of leads not yet approved' },
  cost: { sql: 'b_cost', kind: 'money', help: 'cost of the clicks' },
  profit: { sql: '(b_revenue - b_cost)', kind: 'money', help: 'revenue - cost' },
  roi: { sql: ratio('b_revenue - b_cost', 'b_cost'), kind: 'ratio', help: '(revenue - cost) / cost' },
  epc: { sql: ratio('b_revenue', 'b_clicks'), kind: 'ratio', help: 'revenue per click' },
  cr: { sql: ratio(conversions, 'b_clicks'), kind: 'ratio', help: 'conversions per click' },
  cpa: { sql: ratio('b_cost', conversions), kind: 'ratio', help: 'cost per conversion' },
  aov: { sql: ratio('b_revenue', paid), kind: 'ratio', help: 'average order value: revenue per sale or rebill' },
} as const satisfies Record<string, { sql: string; kind: 'count' | 'money' | 'ratio'; help: string }>;

export type Metric = keyof typeof metrics;
export const metricNames = Object.keys(metrics) as Metric[];
