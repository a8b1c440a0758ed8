/** Dimensions a report may group or filter by: API name -> column of clicks (and attributed_conversions). */
export const dimensions = {
  campaign: 'campaign_id',
  source: 'traffic_source',
  keyword: 'keyword',
  matchType: 'match_type',
  ad: 'ad',
  adgroup: 'adgroup',
  placement: 'placement',
  country: 'country',
  device: 'device_type',
  utmSource: 'utm_source',
  utmMedium: 'utm_medium',
  utmCampaign: 'utm_campaign',
  utmTerm: 'utm_term',
  utmContent: 'utm_content',
  sub1: 'sub1',
  sub2: 'sub2',
  sub3: 'sub3',
  sub4: 'sub4',
  sub5: 'sub5',
  sub6: 'sub6',
  sub7: 'sub7',
  sub8: 'sub8',
  sub9: 'sub9',
  sub10: 'sub10',
} as const;

export type Dimension = keyof typeof dimensions;
export const dimensionNames = Object.keys(dimensions) as Dimension[];

/**
 * The rollups of schema/006_rollups.sql, smallest first: the dimensions each keeps and its time
 * grain (UTC days, or 15 minutes, which fits every time zone).
 */
export const rollups: { name: 'search_daily' | 'search' | 'utm'; grain: 'utcDay' | 'quarterHour'; dimensions: readonly Dimension[] }[] = [
  { name: 'search_daily', grain: 'utcDay', dimensions: ['campaign', 'source', 'keyword', 'matchType', 'adgroup'] },
  { name: 'search', grain: 'quarterHour', dimensions: ['campaign', 'source', 'keyword', 'matchType', 'ad', 'adgroup', 'country', 'device'] },
  { name: 'utm', grain: 'quarterHour', dimensions: ['campaign', 'source', 'utmSource', 'utmMedium', 'utmCampaign', 'utmTerm', 'utmContent'] },
];

/** Dimensions whose API name does not read well to people. */
const spokenNames: Partial<Record<Dimension, string>> = { source: 'traffic source', matchType: 'match type', adgroup: 'ad group' };

/** How a dimension is named to people (GET /api/report/meta, the dashboard): UTM fields by their parameter names. */
export function dimensionLabel(d: Dimension): string {
  return spokenNames[d] ?? (d.startsWith('utm') ? dimensions[d] : d);
}
