import type { ConversionState, ConversionStatus, StoredConversion } from '../core/conversion.js';
import { parseAmount } from '../core/money.js';
import type { Warehouse } from './warehouse.js';

interface StateRow {
  click_id_text: string;
  conversion_type: string;
  txid: string;
  last_network: string;
  last_status: ConversionStatus;
  last_amount: string;
  last_currency: string;
  last_revenue: string;
  converted_ms: string;
  last_version: string;
}

/**
 * A conversion's latest state over its rows in `conversions` (or `attributed_conversions`): the
 * newest version wins. A cancel row carries the version of the state it cancels, so the newest
 * row is always the current state. Every query that shows conversions as they stand uses these.
 */
export const latestConversionSql = {
  network: 'argMax(network, version)',
  status: 'argMax(status, version)',
  amount: 'argMax(amount, version)',
  currency: 'argMax(currency, version)',
  revenue: 'argMax(revenue, version)',
  convertedAt: 'argMax(converted_at, version)',
  version: 'max(version)',
} as const;

const l = latestConversionSql;
// Aliases differ from column names: ClickHouse would otherwise read `click_id` in WHERE as the alias.
const stateSelect = `SELECT toString(click_id) AS click_id_text, conversion_type, txid,
            ${l.network} AS last_network, ${l.status} AS last_status,
            toString(${l.amount}) AS last_amount, ${l.currency} AS last_currency,
            toString(${l.revenue}) AS last_revenue,
            toString(toUnixTimestamp64Milli(${l.convertedAt})) AS converted_ms,
            toString(${l.version}) AS last_version
     FROM conversions`;

function toState(r: StateRow): ConversionState {
  return {
    status: r.last_status,
    amountMicros: parseAmount(r.last_amount) ?? 0n,
    currency: r.last_currency,
    revenueMicros: parseAmount(r.last_revenue) ?? 0n,
    network: r.last_network,
    convertedAtMs: Number(r.converted_ms),
    version: BigInt(r.last_version),
  };
}

/**
 * The current state of the conversions of the most recent clicks, at most `limit` of them: the
 * newest +1 row of each key (every change wrote a cancel row for the state before it). Returns
 * whether older ones were left out.
 */
export async function loadConversionStates(
  wh: Warehouse,
  limit: number,
  each: (clickId: bigint, type: string, txid: string, state: ConversionState) => void,
): Promise<{ truncated: boolean; oldestClickId: bigint | undefined }> {
  const rows = await wh.query<StateRow>(
    `${stateSelect} WHERE sign = 1 GROUP BY click_id, conversion_type, txid ORDER BY click_id DESC LIMIT {limit:UInt64}`,
    { limit: Number.isFinite(limit) ? limit : Number.MAX_SAFE_INTEGER },
  );
  for (const r of rows) each(BigInt(r.click_id_text), r.conversion_type, r.txid, toState(r));
  const last = rows.at(-1);
  return { truncated: rows.length >= limit, oldestClickId: last ? BigInt(last.click_id_text) : undefined };
}

/**
 * The current state of every conversion of these clicks, for postbacks the ledger cannot decide
 * alone: one query for a whole batch (click_id leads the sorting key, so only their granules are read).
 */
export async function findConversionStates(wh: Warehouse, clickIds: readonly bigint[]): Promise<StoredConversion[]> {
  if (clickIds.length === 0) return [];
  const rows = await wh.query<StateRow>(`${stateSelect} WHERE sign = 1 AND click_id IN {ids:Array(UInt64)} GROUP BY click_id, conversion_type, txid`, {
    ids: clickIds,
  });
  return rows.map((r) => ({ clickId: BigInt(r.click_id_text), type: r.conversion_type, txid: r.txid, state: toState(r) }));
}
