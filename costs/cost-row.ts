import { z } from 'zod';
import { parseAmount } from '../core/money.js';
import { currencyPattern } from '../core/schemas.js';

/** A line of an upload as read, before its checks (every field text, as the file had it). */
export interface RawCostRow {
  date: string;
  keyword: string;
  matchType?: string | undefined;
  adgroup?: string[] | undefined;
  ad?: string | undefined;
  spend: string;
  currency?: string | undefined;
}

/** A line that passed: a real day, a keyword, a known match type, spend in micros and a currency. */
export interface CostLine {
  day: string;
  keyword: string;
  matchType: string;
  adgroup: string[];
  ad: string;
  amountMicros: bigint;
  currency: string;
}

/** A line of an NDJSON upload. */
export const ndjsonCostRow = z.strictObject({
  date: z.string().max(40),
  keyword: z.string().max(1000),
  matchType: z.string().max(100).optional(),
  adgroup: z.string().max(1000).optional(),
  ad: z.string().max(1000).optional(),
  spend: z.union([z.number(), z.string().max(40)]),
  currency: z.string().max(10).optional(),
});

const iso = /^(\d{4})-(\d{1,2})-(\d{1,2})$/;
const slashedYearFirst = /^(\d{4})\/(\d{1,2})\/(\d{1,2})$/;
const american = /^(\d{1,2})\/(\d{1,2})\/(\d{4})$/;
const german = /^(\d{1,2})\.(\d{1,2})\.(\d{4})$/;

/** 2026-12-01, 2026/12/01, 12/1/2026 (Microsoft Advertising, month first), 01.12.2026 (German). */
export function parseDay(text: string): string | undefined {
  const t = text.trim().replace(/[T ]00:00(:00)?$/, '');
  let m: RegExpExecArray | null;
  let y: string, mo: string, d: string;
  if ((m = iso.exec(t) ?? slashedYearFirst.exec(t))) [, y, mo, d] = m as unknown as [string, string, string, string];
  else if ((m = american.exec(t))) [, mo, d, y] = m as unknown as [string, string, string, string];
  else if ((m = german.exec(t))) [, d, mo, y] = m as unknown as [string, string, string, string];
  else return undefined;
  const day = `${y}-${mo.padStart(2, '0')}-${d.padStart(2, '0')}`;
  const date = new Date(`${day}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().startsWith(day) && Number(y) >= 1971 && Number(y) <= 2105 ? day : undefined;
}

/**
 * The match types of both platforms' reports (and of Google's German UI), stored as exact, phrase
 * or broad; a click's is compared by its first letter (warehouse/cost-store.ts), as ValueTrack's e/p/b.
 */
const matchTypeWords: [RegExp, string][] = [
  [/^(e|exact|genau passend)$/, 'exact'],
  [/^(p|phrase|passende wortgruppe)$/, 'phrase'],
  [/^(b|broad|weitgehend passend)$/, 'broad'],
];

function canonicalMatchType(text: string): string | undefined {
  const t = text.trim().toLowerCase().replace(/\s+match$/, '').replace(/\s*\(close variants?\)$/, '');
  return matchTypeWords.find(([pattern]) => pattern.test(t))?.[1];
}

const controlChars = /\p{Cc}/u;

/**
 * A keyword as the reports may write it: `[shoes]` is exact and `"shoes"` phrase in Google's
 * notation, used as the match type when the row has none.
 */
function unwrapKeyword(keyword: string): { text: string; implied?: string } {
  const k = keyword.trim();
  if (k.length > 1 && k.startsWith('[') && k.endsWith(']')) return { text: k.slice(1, -1), implied: 'exact' };
  if (k.length > 1 && k.startsWith('"') && k.endsWith('"')) return { text: k.slice(1, -1), implied: 'phrase' };
  return { text: k };
}

/** Checks a line; a string is the reason it was refused. */
export function checkCostRow(raw: RawCostRow, uploadCurrency: string, knownCurrency: (code: string) => boolean): CostLine | string {
  const day = parseDay(raw.date);
  if (!day) return `bad date ${JSON.stringify(raw.date.slice(0, 40))} (use YYYY-MM-DD)`;
  const { text: keyword, implied } = unwrapKeyword(raw.keyword);
  if (keyword === '') return 'no keyword';
  if (keyword.length > 1000 || !keyword.isWellFormed() || controlChars.test(keyword)) return 'bad keyword';
  const matchTypeText = (raw.matchType ?? '').trim() || implied || '';
  const matchType = matchTypeText === '' ? '' : canonicalMatchType(matchTypeText);
  if (matchType === undefined) return `unknown match type ${JSON.stringify(matchTypeText.slice(0, 40))}`;
  const amountMicros = parseAmount(raw.spend.replace(/^[^\d+-]*|[^\d]*$/gu, ''));
  if (amountMicros === undefined) return `bad spend ${JSON.stringify(raw.spend.slice(0, 40))}`;
  if (amountMicros < 0n) return 'negative spend';
  const currency = (raw.currency ?? '').trim().toUpperCase() || uploadCurrency;
  if (!currencyPattern.test(currency)) return `bad currency ${JSON.stringify(currency.slice(0, 10))}`;
  if (!knownCurrency(currency)) return `no exchange rate for ${currency} (PUT /api/currency-rates)`;
  const adgroup = [...new Set((raw.adgroup ?? []).map((a) => a.trim()).filter((a) => a !== '' && a !== '--'))];
  const ad = (raw.ad ?? '').trim();
  if ([...adgroup, ad].some((v) => v.length > 1000 || !v.isWellFormed() || controlChars.test(v))) return 'bad ad group or ad';
  return { day, keyword, matchType, adgroup, ad, amountMicros, currency };
}
