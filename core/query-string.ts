/**
 * A forgiving query-string parser for links that come from ad platforms and visitors' browsers:
 * `+` is a space (form encoding, as ad platforms write it); a literal plus arrives as %2B. Broken
 * percent-encoding is kept as written instead of failing, control characters are dropped,
 * lone surrogates are repaired, and sizes are bounded so no link can make a huge row.
 */
export interface QueryLimits {
  maxParams: number;
  maxKeyLength: number;
  maxValueLength: number;
}

export interface ParsedQuery {
  /** First value of each name, in order of appearance. */
  params: Map<string, string>;
  /** Parameters past maxParams that were not kept. */
  droppedParams: number;
  /** Values cut to maxValueLength. */
  truncated: number;
}

/**
 * The query string of a request URL as sent, without '?'. Routes read it themselves rather than
 * take the router's parsed query, to control `+`, broken escapes and limits as above.
 */
export function rawQueryOf(url: string | undefined): string {
  const q = url?.indexOf('?') ?? -1;
  return q === -1 ? '' : url!.slice(q + 1);
}

/** Only the first maxParams pairs of a query count, repeated names included. */
export function parseQuery(rawQuery: string, limits: QueryLimits): ParsedQuery {
  const params = new Map<string, string>();
  let droppedParams = 0;
  let truncated = 0;
  let seen = 0;
  if (rawQuery.length === 0) return { params, droppedParams, truncated };
  for (const pair of rawQuery.split('&')) {
    if (pair.length === 0) continue;
    if (seen++ >= limits.maxParams) {
      droppedParams++;
      continue;
    }
    const eq = pair.indexOf('=');
    const key = clean(decode(eq === -1 ? pair : pair.slice(0, eq)), limits.maxKeyLength);
    if (key.length === 0 || params.has(key)) continue;
    const raw = eq === -1 ? '' : clean(decode(pair.slice(eq + 1)), Infinity);
    if (raw.length > limits.maxValueLength) truncated++;
    params.set(key, cut(raw, limits.maxValueLength));
  }
  return { params, droppedParams, truncated };
}

/**
 * The first value, among the query's first maxParams pairs, of a parameter whose name is in
 * `names` (compared in lower case when `anyCase`) and that `accept`s; decoded, cleaned and cut as
 * parseQuery does. For the redirect path, which needs a value or two, not the whole query.
 */
export function findParam(
  rawQuery: string,
  names: ReadonlySet<string>,
  limits: QueryLimits,
  anyCase: boolean,
  accept: (value: string) => boolean = () => true,
): string | undefined {
  let start = 0;
  let seen = 0;
  // A repeated name counts once, its first value, as in parseQuery.
  const matched: string[] = [];
  while (start < rawQuery.length && seen < limits.maxParams) {
    let end = rawQuery.indexOf('&', start);
    if (end === -1) end = rawQuery.length;
    if (end > start) {
      seen++;
      const eq = rawQuery.indexOf('=', start);
      const keyEnd = eq === -1 || eq > end ? end : eq;
      const key = clean(decode(rawQuery.slice(start, keyEnd)), limits.maxKeyLength);
      if (names.has(anyCase ? key.toLowerCase() : key) && !matched.includes(key)) {
        matched.push(key);
        const value = keyEnd === end ? '' : cut(clean(decode(rawQuery.slice(keyEnd + 1, end)), Infinity), limits.maxValueLength);
        if (accept(value)) return value;
      }
    }
    start = end + 1;
  }
  return undefined;
}

function decode(text: string): string {
  const spaced = text.includes('+') ? text.replaceAll('+', ' ') : text;
  if (!spaced.includes('%')) return spaced;
  try {
    return decodeURIComponent(spaced);
  } catch {
    // Decode the well-formed escapes one by one and keep the broken ones as they were.
    return spaced.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => {
      try {
        return decodeURIComponent(run);
      } catch {
        return run;
      }
    });
  }
}

// eslint-disable-next-line no-control-regex
const controlChars = /[\u0000-\u001f\u007f-\u009f]/g;
/** The same class without the g flag, whose test() would otherwise carry lastIndex between calls. */
const hasControlChars = new RegExp(controlChars.source);

/** Drops control characters and repairs lone surrogates, so every stored value is clean UTF-8 text. */
export function clean(text: string, maxLength: number): string {
  if (text.length <= maxLength && !hasControlChars.test(text) && text.isWellFormed()) return text; // most values: nothing to do
  const stripped = text.replace(controlChars, '');
  return cut(stripped.isWellFormed() ? stripped : stripped.toWellFormed(), maxLength);
}

/** Cuts to a length without splitting a surrogate pair. */
function cut(text: string, maxLength: number): string {
  if (text.length <= maxLength) return text;
  const code = text.charCodeAt(maxLength - 1);
  return text.slice(0, code >= 0xd800 && code <= 0xdbff ? maxLength - 1 : maxLength);
}

// A hot-path pattern lives outside the function: a literal in a body is a new RegExp object per call.
const unfilledMacro = /^(?:\{+[A-Za-z0-9_:.-]+\}+|\[[A-Za-z0-9_:.-]+\]|#[A-Za-z0-9_:.-]+#|REPLACE|OPTIONAL)$/;

/**
 * A macro the ad platform did not fill (`{keyword}`, `[keyword]`, `#keyword#`, `{{x}}`) is not
 * data: Microsoft Ads leaves `{keyword}` as is on some placements, and a network's postback
 * template may leave `{payout}` unfilled.
 */
export function isUnfilledMacro(value: string): boolean {
  return unfilledMacro.test(value);
}
