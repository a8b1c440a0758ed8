import { isUnfilledMacro } from '../../core/query-string.js';

/**
 * Maps a tracking link's query parameters onto click columns. Ad platforms name things
 * differently (ValueTrack `{creative}`, `{adgroupid}`, Microsoft `{AdId}`), so each column
 * accepts a few names; the first one present wins. Everything else is kept in `extra`.
 */
export const clickParamAliases = {
  keyword: ['kw', 'keyword', 'keyword_text'],
  ad: ['ad', 'creative', 'adid', 'ad_id'],
  adgroup: ['adgroup', 'adgroupid', 'adgroup_id', 'ad_group'],
  match_type: ['matchtype', 'match_type'],
  placement: ['placement'],
  network: ['network'],
  device_hint: ['device'],
  utm_source: ['utm_source'],
  utm_medium: ['utm_medium'],
  utm_campaign: ['utm_campaign'],
  utm_term: ['utm_term'],
  utm_content: ['utm_content'],
  sub1: ['sub1'],
  sub2: ['sub2'],
  sub3: ['sub3'],
  sub4: ['sub4'],
  sub5: ['sub5'],
  sub6: ['sub6'],
  sub7: ['sub7'],
  sub8: ['sub8'],
  sub9: ['sub9'],
  sub10: ['sub10'],
  gclid: ['gclid'],
  msclkid: ['msclkid'],
  fbclid: ['fbclid'],
} as const;

export type ClickField = keyof typeof clickParamAliases;
export type ClickFields = Record<ClickField, string>;

const columnOf = new Map<string, ClickField>(
  Object.entries(clickParamAliases).flatMap(([column, names]) => names.map((n) => [n, column as ClickField])),
);

/** Shorter than the query limit: these columns are grouped by, and a 10 kB "keyword" is noise. */
export const maxFieldLength = 512;

export interface MappedClick {
  fields: ClickFields;
  extra: Record<string, string>;
  /** The first cost the link passed that is a number (`cost=0.35` or `0,35`), as a decimal string. */
  cost: string | undefined;
}

const emptyFields = Object.fromEntries(Object.keys(clickParamAliases).map((k) => [k, ''])) as ClickFields;

export function mapClickParams(params: ReadonlyMap<string, string>): MappedClick {
  const fields = { ...emptyFields };
  const extra: Record<string, string> = {};
  let cost: string | undefined;
  for (const [name, value] of params) {
    const column = columnOf.get(name) ?? columnOf.get(name.toLowerCase());
    if (column) {
      if (fields[column] === '' && !isUnfilledMacro(value)) fields[column] = value.length > maxFieldLength ? value.slice(0, maxFieldLength) : value;
    } else if (name === 'cost' || name.toLowerCase() === 'cost') {
      cost ??= parseDecimal(value);
    } else {
      extra[name] = value;
    }
  }
  return { fields, extra, cost };
}

// Patterns of hot paths live outside the functions: a literal in a body is a new RegExp object per call.
const decimal = /^(\d{1,12})(?:[.,](\d{1,6}))?$/;

/** "12,34" and "12.34" both mean twelve and 34 hundredths; at most 6 decimals, as the column. */
export function parseDecimal(value: string): string | undefined {
  const m = decimal.exec(value.trim());
  if (!m) return undefined;
  return m[2] ? `${m[1]}.${m[2]}` : m[1];
}
