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

/** The rollups of schema/006_rollups.sql and the dimensions each one keeps. */
export const rollups: { name: 'search' | 'utm'; dimensions: readonly Dimension[] }[] = [
  { name: 'search', dimensions: ['campaign', 'source', 'keyword', 'matchType', 'ad', 'adgroup', 'country', 'device'] },
  { name: 'utm', dimensions: ['campaign', 'source', 'utmSource', 'utmMedium', 'utmCampaign', 'utmTerm', 'utmContent'] },
];
