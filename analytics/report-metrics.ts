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
  clicks: { sql: 'b_clicks', help: 'clicks on tracking links' },
  uniqueClicks: { sql: 'b_uniqueClicks', help: 'first click of a visitor (campaign, IP, user agent) within the unique window' },
  botClicks: { sql: 'b_botClicks', help: 'clicks flagged as bots, crawlers or link previews' },
  leads: { sql: 'b_leads', help: 'conversions whose latest status is lead (pending, hold)' },
  sales: { sql: 'b_sales', help: 'conversions whose latest status is sale (approved)' },
  rebills: { sql: 'b_rebills', help: 'rebill conversions' },
  rejected: { sql: 'b_rejected', help: 'conversions rejected by the network' },
  chargebacks: { sql: 'b_chargebacks', help: 'sales charged back' },
  conversions: { sql: conversions, help: 'leads + sales + rebills (rejected and charged back ones excluded)' },
  revenue: { sql: 'b_revenue', help: 'payouts of sales and rebills, in the account currency' },
  pendingRevenue: { sql: 'b_pendingRevenue', help: 'payouts of leads not yet approved' },
  cost: { sql: 'b_cost', help: 'cost of the clicks' },
  profit: { sql: '(b_revenue - b_cost)', help: 'revenue - cost' },
  roi: { sql: ratio('b_revenue - b_cost', 'b_cost'), help: '(revenue - cost) / cost' },
  epc: { sql: ratio('b_revenue', 'b_clicks'), help: 'revenue per click' },
  cr: { sql: ratio(conversions, 'b_clicks'), help: 'conversions per click' },
  cpa: { sql: ratio('b_cost', conversions), help: 'cost per conversion' },
  aov: { sql: ratio('b_revenue', paid), help: 'average order value: revenue per sale or rebill' },
} as const satisfies Record<string, { sql: string; help: string }>;

export type Metric = keyof typeof metrics;
export const metricNames = Object.keys(metrics) as Metric[];
