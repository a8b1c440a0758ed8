/**
 * Money as exact decimals: amounts travel as integer micro-units (6 decimals, as the
 * Decimal(18, 6) columns), never as floating point, so 0.1 + 0.2 is 0.3 in every report.
 */
const microsPerUnit = 1_000_000n;
/** Payouts above a trillion are typos or attacks, and Decimal(18, 6) holds at most 10^12. */
const maxMicros = 10n ** 18n - 1n;

// Patterns of hot paths live outside the functions: a literal in a body is a new RegExp object per call.
const amountPattern = /^([+-]?)(\d{1,3}(?:([.,  '])\d{3})*|\d+)(?:([.,])(\d+))?$/;
const twoSeparators = /[.,].*[.,]/;
const groupSeparators = /[.,  ']/g;
const ratePattern = /^(\d{1,9})(?:\.(\d{1,12}))?$/;

/**
 * Parses a payout as networks send it: "12.34", "12,34" (decimal comma), "1,234.56" or
 * "1.234,56" (the last separator is the decimal one when both appear), "-5". More than six
 * decimals is refused rather than rounded: a tracker must not change the money it is given.
 */
export function parseAmount(text: string): bigint | undefined {
  const m = amountPattern.exec(text.trim());
  if (!m) return undefined;
  const [, sign, whole, group, point, fraction] = m;
  if (group !== undefined && point === group) return undefined;
  let intPart = whole!;
  let frac = fraction ?? '';
  // "1,234" alone: with a decimal comma accepted, a single comma is the decimal point.
  if (group !== undefined && point === undefined && (group === ',' || group === '.') && !twoSeparators.test(whole!)) {
    const [a, b] = whole!.split(group);
    intPart = a!;
    frac = b!;
  }
  return toMicros(sign === '-', intPart.replace(groupSeparators, ''), frac);
}

function toMicros(negative: boolean, intPart: string, frac: string): bigint | undefined {
  if (frac.length > 6 || intPart.length > 13) return undefined;
  const micros = BigInt(intPart) * microsPerUnit + BigInt(frac.padEnd(6, '0') || '0');
  if (micros > maxMicros) return undefined;
  return negative ? -micros : micros;
}

/**
 * The last amount formatted: a postback's row repeats its payout up to seven times (amount,
 * revenue, the conversion's and the replaced one's), and each BigInt division allocates.
 */
let lastMicros = 0n;
let lastText = '0.000000';

/** "12.340000" -> as ClickHouse Decimal(18, 6) text; always six decimals. */
export function formatMicros(micros: bigint): string {
  if (micros === lastMicros) return lastText;
  lastMicros = micros;
  lastText = decimalText(micros);
  return lastText;
}

function decimalText(micros: bigint): string {
  const negative = micros < 0n;
  const abs = negative ? -micros : micros;
  const text = `${abs / microsPerUnit}.${(abs % microsPerUnit).toString().padStart(6, '0')}`;
  return negative ? `-${text}` : text;
}

/** A positive exchange rate with up to 12 decimals, as a scaled integer (rate * 10^12). */
export const rateScale = 10n ** 12n;

export function parseRate(text: string): bigint | undefined {
  const m = ratePattern.exec(text.trim());
  if (!m) return undefined;
  const scaled = BigInt(m[1]!) * rateScale + BigInt((m[2] ?? '').padEnd(12, '0') || '0');
  return scaled > 0n ? scaled : undefined;
}

/** amount * rate, rounded half away from zero to the micro-unit (held within Decimal(18, 6)). */
export function convertMicros(micros: bigint, scaledRate: bigint): bigint {
  const product = micros * scaledRate;
  const half = rateScale / 2n;
  return clampMicros(product >= 0n ? (product + half) / rateScale : -((-product + half) / rateScale));
}

/**
 * Sums and conversions can pass what one payout may be; ClickHouse would refuse the whole
 * batch holding such a row, so they stop at Decimal(18, 6)'s bounds.
 */
export function clampMicros(micros: bigint): bigint {
  return micros > maxMicros ? maxMicros : micros < -maxMicros ? -maxMicros : micros;
}
