/**
 * The columns of the ad platforms' keyword reports keyrev reads, by the names their exports use:
 * Google Ads (UI export and keyword view), Microsoft Advertising's KeywordPerformanceReport, and
 * the German names of a Google Ads export. Names are compared lower-cased with everything but
 * letters and digits left out, so `Ad group ID`, `AdGroupId` and `ad_group_id` are one name.
 */
export const costFields = ['date', 'keyword', 'matchType', 'adgroupName', 'adgroupId', 'ad', 'spend', 'currency'] as const;
export type CostField = (typeof costFields)[number];

const names: Record<CostField, string[]> = {
  date: ['Day', 'Date', 'TimePeriod', 'GregorianDate', 'Tag', 'Datum'],
  keyword: ['Keyword', 'Search keyword', 'Keyword text', 'Criteria', 'Suchbegriff'],
  matchType: ['Match type', 'Keyword match type', 'Search keyword match type', 'BidMatchType', 'DeliveredMatchType', 'Übereinstimmungstyp', 'Keyword-Option'],
  adgroupName: ['Ad group', 'AdGroupName', 'Ad group name', 'Anzeigengruppe'],
  adgroupId: ['Ad group ID', 'AdGroupId', 'Anzeigengruppen-ID'],
  ad: ['Ad ID', 'AdId', 'Ad', 'Anzeigen-ID'],
  spend: ['Cost', 'Spend', 'Kosten'],
  currency: ['Currency code', 'CurrencyCode', 'Currency', 'Währungscode', 'Währung'],
};

export const headerKey = (name: string) => name.normalize('NFC').toLowerCase().replace(/[^\p{L}\p{N}]/gu, '');

const byKey = new Map<string, CostField>(costFields.flatMap((f) => names[f].map((n) => [headerKey(n), f] as const)));

/** The columns of a header row by field, or undefined when the row is not the header (it lacks a date, keyword or spend column). */
export function headerColumns(cells: readonly string[]): Partial<Record<CostField, number>> | undefined {
  const columns: Partial<Record<CostField, number>> = {};
  cells.forEach((cell, i) => {
    const field = byKey.get(headerKey(cell));
    if (field && columns[field] === undefined) columns[field] = i;
  });
  return columns.date !== undefined && columns.keyword !== undefined && columns.spend !== undefined ? columns : undefined;
}

/** The recognised names, for error messages and docs. */
export const columnNames = names;
