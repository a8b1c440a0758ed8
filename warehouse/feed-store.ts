import { Readable } from 'node:stream';
import { createInterface } from 'node:readline';
import { latestConversionSql as l } from './conversion-store.js';
import type { Warehouse } from './warehouse.js';

/** One line of an ad platform's conversion file: a click, a time, a value. */
export interface FeedRow {
  /** The platform's click id (gclid or msclkid), made inert for spreadsheets by the caller's guard. */
  clickId: string;
  /** Unix seconds, UTC; always after the click's own second. */
  time: number;
  /** A decimal number as text, exact. */
  value: string;
  currency: string;
}

export interface FeedQuery {
  /** Which click id the platform knows its clicks by. */
  clickIdColumn: 'gclid' | 'msclkid';
  statuses: readonly string[];
  /** Clicks from this time on. */
  since: Date;
  /** Used when conversions merged into one line came in different currencies. */
  accountCurrency: string;
  /** SQL that makes a text cell inert for spreadsheets (the exports' CSV-injection guard). */
  textCell: (sqlExpression: string) => string;
}

const clickIdColumns = { gclid: 'gclid', msclkid: 'msclkid' } as const;

/**
 * The conversions of clicks that carried the platform's click id, each at its latest state, then
 * merged as the platforms deduplicate: one line per click id and second (the conversion name is
 * the feed's). Two conversions of one click in the same second would otherwise be one kept and one
 * dropped by the platform; merged, their values add up (in their currency when they share one,
 * else in the account currency). A conversion in the click's own second is written one second
 * after it: both platforms refuse a conversion that is not later than its click.
 */
function feedSql(q: FeedQuery): string {
  const column = clickIdColumns[q.clickIdColumn];
  return `SELECT ${q.textCell('platform_click_id')} AS clickId, conv_time AS time,
          toString(if(uniqExact(last_currency) = 1, sum(last_amount), sum(last_revenue))) AS value,
          if(uniqExact(last_currency) = 1, any(last_currency), {accountCurrency:String}) AS currency
     FROM (
       SELECT any(${column}) AS platform_click_id,
              toUInt32(greatest(toUnixTimestamp(${l.convertedAt}), toUnixTimestamp(any(clicked_at)) + 1)) AS conv_time,
              ${l.status} AS last_status, ${l.amount} AS last_amount, ${l.currency} AS last_currency, ${l.revenue} AS last_revenue
         FROM attributed_conversions
        WHERE sign = 1 AND ${column} != '' AND clicked_at >= {since:DateTime64(3)}
        GROUP BY click_id, conversion_type, txid
     )
    WHERE last_status IN {statuses:Array(String)}
    GROUP BY platform_click_id, conv_time
    ORDER BY conv_time, platform_click_id`;
}

/** The feed's lines, streamed from the warehouse and read one at a time (memory stays flat). */
export async function* streamFeedRows(wh: Warehouse, q: FeedQuery, signal?: AbortSignal): AsyncIterable<FeedRow> {
  const chunks = wh.stream(feedSql(q), { since: q.since, statuses: [...q.statuses], accountCurrency: q.accountCurrency }, 'JSONEachRow', signal);
  const lines = createInterface({ input: Readable.from(chunks), crlfDelay: Infinity });
  for await (const line of lines) {
    if (line !== '') yield JSON.parse(line) as FeedRow;
  }
}
