import type { ConversionStatus } from '../admin/network-schema.js';
import type { ConversionState } from '../ingest/conversion-ledger.js';
import { parseAmount } from '../ingest/money.js';
import type { Warehouse } from './warehouse.js';

interface StateRow {
  click_id: string;
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
 * The current state of every conversion: the newest +1 row of each key. Every change wrote a
 * cancel row for the state before it, so the newest +1 row is the state that counts.
 */
export async function loadConversionStates(wh: Warehouse, each: (clickId: bigint, type: string, txid: string, state: ConversionState) => void): Promise<number> {
  const rows = await wh.query<StateRow>(
    `SELECT toString(click_id) AS click_id, conversion_type, txid,
            argMax(network, version) AS last_network, argMax(status, version) AS last_status,
            toString(argMax(amount, version)) AS last_amount, argMax(currency, version) AS last_currency,
            toString(argMax(revenue, version)) AS last_revenue,
            toString(toUnixTimestamp64Milli(argMax(converted_at, version))) AS converted_ms,
            toString(max(version)) AS last_version
     FROM conversions WHERE sign = 1
     GROUP BY click_id, conversion_type, txid`,
  );
  for (const r of rows) {
    each(BigInt(r.click_id), r.conversion_type, r.txid, {
      status: r.last_status,
      amountMicros: parseAmount(r.last_amount) ?? 0n,
      currency: r.last_currency,
      revenueMicros: parseAmount(r.last_revenue) ?? 0n,
      network: r.last_network,
      convertedAtMs: Number(r.converted_ms),
      version: BigInt(r.last_version),
    });
  }
  return rows.length;
}
