import { compactLine } from './compact-row.js';

/**
 * The columns of the postbacks table that keyrev writes, in the order of each spool line
 * (JSONCompactEachRow, see compactLine: less to parse, and to write and fsync).
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

/** One spool line (JSONCompactEachRow, in `postbackColumns` order). */
export function postbackLine(row: PostbackRow): string {
  return compactLine(postbackColumns, row);
}
