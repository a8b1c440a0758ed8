import { clickParamAliases, mapClickParams, type ClickField } from './click-params.js';
import { clickCost, readClickRecord, type ClickRecord } from './click-record.js';
import { compactLine } from '../../warehouse/compact-row.js';
import { createEnricher } from './enrich.js';
import { parseVisitorIp, storedIp } from '../../core/ip.js';
import { clean, parseQuery } from '../../core/query-string.js';
import { UniqueClicks } from './unique-clicks.js';

export interface ClickRowOptions {
  ipStorage: 'full' | 'truncated';
  uniqueWindowMs: number;
  /** A MaxMind-format country database (KEYREV_GEOIP_MMDB) instead of the bundled one. */
  geoDatabase?: string;
}

export const clickQueryLimits = { maxParams: 100, maxKeyLength: 64, maxValueLength: 2048 } as const;

/** The clicks table's columns that the encoder fills, in the order of each insert line. */
export const clickColumns = [
  'click_id',
  'ts',
  'campaign_id',
  'traffic_source',
  ...(Object.keys(clickParamAliases) as ClickField[]),
  'cost',
  'referrer',
  'ip',
  'user_agent',
  'device_type',
  'os',
  'browser',
  'country',
  'is_bot',
  'is_unique',
  'missed',
  'extra',
] as const;

type ClickRow = Record<(typeof clickColumns)[number], unknown>;

/**
 * Turns a spool segment of click records into the ClickHouse insert payload (JSONCompactEachRow
 * lines in `clickColumns` order): query parameters mapped to columns, user agent, bot flag,
 * country and unique flag added. Records are handled in order, so the unique flag follows
 * arrival order. A line that is not a record (it cannot happen short of disk damage) is skipped and counted.
 */
export function createClickRowEncoder(opts: ClickRowOptions) {
  const enrich = createEnricher(opts.geoDatabase ? { geoDatabase: opts.geoDatabase } : {});
  const unique = new UniqueClicks({ windowMs: opts.uniqueWindowMs, maxEntries: 1_000_000 });

  function row(r: ClickRecord): ClickRow {
    const { fields, extra, cost } = mapClickParams(parseQuery(r.query, clickQueryLimits).params);
    const ip = parseVisitorIp(r.ip);
    const userAgent = clean(r.userAgent, 1024);
    const e = enrich({ userAgent, ip, ...(r.countryHint === undefined ? {} : { countryHint: r.countryHint }) });
    return {
      click_id: r.id,
      ts: r.ts,
      campaign_id: clean(r.campaign, 64),
      // Cleaned like every stored text: one lone surrogate would make ClickHouse refuse the whole segment.
      traffic_source: clean(r.source, 100),
      ...fields,
      cost: clickCost(cost, r.modelCost, r.maxLinkCost),
      referrer: clean(r.referrer, 1024),
      ip: storedIp(ip, opts.ipStorage),
      user_agent: userAgent,
      device_type: e.deviceType,
      os: e.os,
      browser: e.browser,
      country: e.country,
      is_bot: e.isBot ? 1 : 0,
      is_unique: unique.isUnique(r.campaign, ip.text, userAgent, r.ts) ? 1 : 0,
      missed: r.missed,
      extra,
    };
  }

  return function encode(segment: Buffer): { data: Buffer; rows: number; skipped: number } {
    const out: string[] = [];
    let skipped = 0;
    for (const line of segment.toString('utf8').split('\n')) {
      if (line.length === 0) continue;
      try {
        out.push(compactLine(clickColumns, row(readClickRecord(line))));
      } catch {
        skipped++;
      }
    }
    return { data: Buffer.from(out.join('')), rows: out.length, skipped };
  };
}
