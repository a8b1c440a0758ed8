/**
 * Which conversions count as revenue, for the row-level views of conversions (the conversion log
 * and the attribution export): those whose latest status is sale or rebill. A lead is not yet
 * money, a rejected or charged back sale no longer is. The grouped reports sum by the same rule
 * (report-query.ts and the rollup views); when ClickHouse has it as a function of its own, this is
 * the one place in the row-level queries to point at it.
 */

/**
 * SQL for the revenue a conversion counts for: `payout` (its payout in the account currency,
 * Decimal(18, 6)) when `status` is sale or rebill, else 0 of the same type, so Arrow and Parquet
 * keep an exact Decimal(18, 6) column. Both arguments are SQL expressions.
 */
export function countedRevenueSql(status: string, payout: string): string {
  return `if(${status} IN ('sale', 'rebill'), ${payout}, toDecimal64(0, 6))`;
}
