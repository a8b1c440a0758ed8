/**
 * The columns of the postbacks table that keyrev writes, in the order of each spool line
 * (JSONCompactEachRow, see compact-row.ts: less to parse, and to write and fsync).
 */
export const postbackColumns = [
  'postback_id',
  'received_at',
  'click_id',
  'network',
  'txid',
  'conversion_type',
  'status',
  'amount',
  'currency',
  'params',
  'outcome',
  'ip',
  'revenue',
  'conv_network',
  'conv_status',
  'conv_amount',
  'conv_currency',
  'conv_revenue',
  'converted_at',
  'prev_version',
  'prev_status',
  'prev_amount',
  'prev_currency',
  'prev_revenue',
] as const;

/** 64-bit ids and decimals travel as strings (exact), times as epoch milliseconds. */
export type PostbackRow = Record<(typeof postbackColumns)[number], string | number | Readonly<Record<string, string>>>;

/**
 * One spool line (JSONCompactEachRow, in `postbackColumns` order). The values are listed by hand
 * rather than through compactLine: this runs for every postback, and reading the row's fields by
 * name from a list took twice as long (a test holds the two to the same output).
 */
export function postbackLine(r: PostbackRow): string {
  return `${JSON.stringify([
    r.postback_id,
    r.received_at,
    r.click_id,
    r.network,
    r.txid,
    r.conversion_type,
    r.status,
    r.amount,
    r.currency,
    r.params,
    r.outcome,
    r.ip,
    r.revenue,
    r.conv_network,
    r.conv_status,
    r.conv_amount,
    r.conv_currency,
    r.conv_revenue,
    r.converted_at,
    r.prev_version,
    r.prev_status,
    r.prev_amount,
    r.prev_currency,
    r.prev_revenue,
  ])}\n`;
}
