/**
 * The macros of outgoing postbacks: `{name}` placeholders in a rule's URL, body and headers, each
 * filled with a conversion's value encoded once for where it stands, and the inline status map
 * `{status:sale=1,lead=0}` (the status's word in the map, else the status itself).
 */
export const macroNames = [
  'clickid',
  'external_id',
  'payout',
  'revenue',
  'currency',
  'status',
  'txid',
  'conversion_type',
  'conversion_time',
  'keyword',
  'ad',
  'adgroup',
  'matchtype',
  'campaign',
  'source',
  'gclid',
  'msclkid',
  'fbclid',
  ...(['sub1', 'sub2', 'sub3', 'sub4', 'sub5', 'sub6', 'sub7', 'sub8', 'sub9', 'sub10'] as const),
  ...(['utm_source', 'utm_medium', 'utm_campaign', 'utm_term', 'utm_content'] as const),
] as const;
export type MacroName = (typeof macroNames)[number];
export type MacroValues = Record<MacroName, string>;

/** Where a template is filled, and so how each value is encoded. */
export type MacroContext = 'url' | 'json' | 'form' | 'header';

const known: ReadonlySet<string> = new Set(macroNames);
/** Macros whose values are numbers, so a JSON body may hold them outside quotes. */
const numeric: ReadonlySet<string> = new Set(['payout', 'revenue']);
// eslint-disable-next-line no-control-regex
const controlChars = /[\u0000-\u001f\u007f]/g;
const macroPattern = /\{([a-z0-9_]+)(?::([^{}]*))?\}/gi;
/** Entries of a status map: `sale=1,lead=0`, also separated by spaces (in a URL, by %20). */
const mapSeparators = /,|%20|\s+/;

const encoders: Record<MacroContext, (value: string) => string> = {
  url: encodeURIComponent,
  // The text between a JSON string's quotes; JSON.stringify escapes quotes, backslashes, controls and lone surrogates.
  json: (value) => JSON.stringify(value).slice(1, -1),
  form: (value) => encodeURIComponent(value).replace(/%20/g, '+'),
  // Node refuses a header value with a line break: a value never gets to add a header.
  header: (value) => value.replace(controlChars, ''),
};

function parseStatusMap(spec: string): Map<string, string> | undefined {
  const map = new Map<string, string>();
  for (const entry of spec.split(mapSeparators)) {
    if (entry === '') continue;
    const eq = entry.indexOf('=');
    if (eq <= 0) return undefined;
    map.set(entry.slice(0, eq).toLowerCase(), entry.slice(eq + 1));
  }
  return map.size > 0 ? map : undefined;
}

/** The first problem of a template's placeholders (an unknown macro, a bad status map), or undefined. */
export function macroProblem(template: string): string | undefined {
  for (const m of template.matchAll(macroPattern)) {
    const name = m[1]!.toLowerCase();
    if (!known.has(name)) return `unknown macro {${m[1]}}`;
    if (m[2] !== undefined && (name !== 'status' || !parseStatusMap(m[2]))) return `${m[0]} is not a status map such as {status:sale=1,lead=0}`;
  }
  return undefined;
}

/** Fills a template: each value encoded for the context; a status map's words are the template's own text, kept as written. */
export function fillMacros(template: string, values: MacroValues, context: MacroContext): string {
  const encode = encoders[context];
  return template.replace(macroPattern, (whole, rawName: string, spec: string | undefined) => {
    const name = rawName.toLowerCase() as MacroName;
    if (!known.has(name)) return whole;
    if (spec !== undefined) {
      const mapped = parseStatusMap(spec)?.get(values.status);
      if (mapped !== undefined) return mapped;
    }
    return encode(values[name]);
  });
}

/**
 * Whether a JSON body template gives JSON whatever the values: filled with a number for the
 * numeric macros and a word for the others, it must parse (so a text macro must stand in quotes).
 */
export function jsonTemplateProblem(template: string): string | undefined {
  const sample = Object.fromEntries(macroNames.map((n) => [n, numeric.has(n) ? '1' : 'sale'])) as MacroValues;
  try {
    JSON.parse(fillMacros(template, sample, 'json'));
    return undefined;
  } catch {
    return 'must be JSON once filled: put text macros inside quotes ("{clickid}"); {payout} and {revenue} may stand bare';
  }
}
