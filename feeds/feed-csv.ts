import type { FeedRow } from '../warehouse/feed-store.js';
import type { FeedPlatform } from './feed-schema.js';

/** A CSV field (RFC 4180): quoted when it holds a comma, a quote or a line break. */
function field(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

const line = (fields: readonly string[]) => `${fields.map(field).join(',')}\r\n`;

const pad = (n: number) => String(n).padStart(2, '0');

/** 'yyyy-mm-dd hh:mm:ss' in UTC. */
function utc(seconds: number): string {
  const d = new Date(seconds * 1000);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}

interface Layout {
  /** The rows before the first conversion. */
  head: string;
  row(r: FeedRow, conversionName: string): string;
}

/**
 * The two platforms' files.
 *
 * Google Ads (offline conversion import from clicks): the template's five columns; each time with
 * its UTC offset (`2026-12-01 17:04:05+00:00`, the form the Google Ads API uses too), so the file
 * needs no `Parameters:TimeZone=` first row and reads the same whatever the account's time zone.
 *
 * Microsoft Advertising (bulk file, Offline Conversion records): the header row (`Type` first, then
 * the record's columns), the `Format Version` row with 6.0 in the `Name` column, then one
 * `Offline Conversion` record per conversion; the bulk format takes times in UTC only, written as
 * an XML dateTime (`2026-12-01T17:04:05Z`).
 */
export const feedLayouts: Record<FeedPlatform, Layout> = {
  'google-ads': {
    head: line(['Google Click ID', 'Conversion Name', 'Conversion Time', 'Conversion Value', 'Conversion Currency']),
    row: (r, name) => line([r.clickId, name, `${utc(r.time)}+00:00`, r.value, r.currency]),
  },
  'microsoft-ads': {
    head:
      line(['Type', 'Status', 'Id', 'Parent Id', 'Client Id', 'Name', 'Conversion Currency Code', 'Conversion Name', 'Conversion Time', 'Conversion Value', 'Microsoft Click Id']) +
      line(['Format Version', '', '', '', '', '6.0', '', '', '', '', '']),
    row: (r, name) => line(['Offline Conversion', '', '', '', '', '', r.currency, name, `${utc(r.time).replace(' ', 'T')}Z`, r.value, r.clickId]),
  },
};

/** The whole file, as text chunks: the head, then a chunk per batch of rows (few writes, flat memory). */
export async function* feedFile(platform: FeedPlatform, conversionName: string, rows: AsyncIterable<FeedRow>): AsyncIterable<string> {
  const layout = feedLayouts[platform];
  let chunk = layout.head;
  for await (const r of rows) {
    chunk += layout.row(r, conversionName);
    if (chunk.length >= 64 * 1024) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk !== '') yield chunk;
}
