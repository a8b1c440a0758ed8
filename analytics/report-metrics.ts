/**
 * Every number a report shows, defined once, as SQL over the base sums of a report query
 * (analytics/report-query.ts). Reports, totals, time series, exports and the dashboard all read
 * these definitions. Ratios are null where they are undefined (no clicks, no cost).
 */

/** Sums every report starts from; each source (rollup or raw table) says how to compute them. */
export const baseSums = ['clicks', 'uniqueClicks', 'botClicks', 'cost', 'leads', 'sales', 'rebills', 'rejected', 'chargebacks', 'revenue', 'pendingRevenue'] as const;
export type BaseSum = (typeof baseSums)[number];

/**
 * The base sums of conversion rows, each a ClickHouse function of schema/007_status_sums.sql: the
 * one definition of which status counts where, shared by the rollup views and the raw-table reports.
 */
export const conversionSumFunctions = {
  leads: 'kr_leads',
  sales: 'kr_sales',
  rebills: 'kr_rebills',
  rejected: 'kr_rejected',
  chargebacks: 'kr_chargebacks',
  revenue: 'kr_revenue',
  pendingRevenue: 'kr_pending_revenue',
} as const satisfies Partial<Record<BaseSum, string>>;
export type ConversionSum = keyof typeof conversionSumFunctions;

/**
 * SQL of one conversion sum for one row: `conversionSumSql('revenue')` is
 * `kr_revenue(status, revenue, sign)`, the row's signed payout when its status counts as revenue,
 * else 0 (money as Decimal(18, 6), counts as integers); wrap it in sum() for a total. The
 * arguments are SQL for the row's status, revenue (account currency) and sign when its columns
 * are called otherwise; a row already at its latest status passes sign '1'.
 */
export function conversionSumSql(sum: ConversionSum, row: { status?: string; revenue?: string; sign?: string } = {}): string {
  const { status = 'status', revenue = 'revenue', sign = 'sign' } = row;
  const money = sum === 'revenue' || sum === 'pendingRevenue';
  return `${conversionSumFunctions[sum]}(${money ? `${status}, ${revenue}, ${sign}` : `${status}, ${sign}`})`;
}

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

/**
 * How each metric is shown (GET /api/report/meta, the dashboard's columns): a label, and its kind,
 * which picks the format: a count, money in the account currency, or a ratio (shown as a percentage).
 * Typed by Metric, so a metric added above without these fails the typecheck.
 */
export const metricKinds = ['count', 'money', 'ratio'] as const;
export const metricDisplay: Record<Metric, { label: string; kind: (typeof metricKinds)[number] }> = {
  clicks: { label: 'Clicks', kind: 'count' },
  uniqueClicks: { label: 'Unique clicks', kind: 'count' },
  botClicks: { label: 'Bot clicks', kind: 'count' },
  leads: { label: 'Leads', kind: 'count' },
  sales: { label: 'Sales', kind: 'count' },
  rebills: { label: 'Rebills', kind: 'count' },
  rejected: { label: 'Rejected', kind: 'count' },
  chargebacks: { label: 'Chargebacks', kind: 'count' },
  conversions: { label: 'Conversions', kind: 'count' },
  revenue: { label: 'Revenue', kind: 'money' },
  pendingRevenue: { label: 'Pending revenue', kind: 'money' },
  cost: { label: 'Cost', kind: 'money' },
  profit: { label: 'Profit', kind: 'money' },
  roi: { label: 'ROI', kind: 'ratio' },
  epc: { label: 'EPC', kind: 'money' },
  cr: { label: 'CR', kind: 'ratio' },
  cpa: { label: 'CPA', kind: 'money' },
  aov: { label: 'AOV', kind: 'money' },
};
