/**
 * Templates with `{name}` placeholders, filled with values encoded once for where they stand (a
 * URL, a JSON, form or plain-text body, a header), so that no value can break out of its place:
 * a keyword with `&` adds no query parameter, a campaign name with a quote does not end a JSON
 * string, a non-Latin-1 character or a line break never reaches a header as is. A placeholder
 * may carry a value map, `{status:sale=1,lead=0}`: the value's word in the map (else the value
 * itself), encoded the same way. Used by outgoing postbacks and alert webhooks alike.
 */
export type TemplateContext = 'url' | 'json' | 'form' | 'text' | 'header';

/** What a kind of template may hold: its placeholder names (lower case), and the one that takes a value map, if any. */
export interface TemplateSpec {
  names: ReadonlySet<string>;
  /** How the placeholders are called in a refusal: `macro`, `placeholder`. */
  noun: string;
  map?: { name: string; example: string };
}

const placeholderPattern = /\{([a-z0-9_]+)(?::([^{}]*))?\}/gi;
/** Entries of a value map: `sale=1,lead=0`, also separated by spaces (in a URL, by %20). */
const mapSeparators = /,|%20|\s+/;
/** What a header value may carry as is: printable ASCII. Node refuses a line break, and throws on a character beyond Latin-1. */
const notHeaderSafe = /[^\x20-\x7e]+/g;

const encodeComponent = (value: string) => encodeURIComponent(value);

/** Each value (made well-formed first: a lone surrogate would make encodeURIComponent throw) encoded for its context. */
export const encoders: Record<TemplateContext, (value: string) => string> = {
  url: encodeComponent,
  // The text between a JSON string's quotes; JSON.stringify escapes quotes, backslashes and controls.
  json: (value) => JSON.stringify(value).slice(1, -1),
  form: (value) => encodeURIComponent(value).replace(/%20/g, '+'),
  text: (value) => value,
  // Percent-encoded (UTF-8) outside printable ASCII: `日本` is `%E6%97%A5%E6%9C%AC`, a line break `%0D%0A`.
  header: (value) => value.replace(notHeaderSafe, encodeComponent),
};

/**
 * A map's words as the template holds them: a URL template is stored percent-encoded
 * (normalizeHttpUrl), so its words are decoded before they are encoded once, like any value.
 */
const literal: Record<TemplateContext, (word: string) => string> = {
  url: (word) => {
    try {
      return decodeURIComponent(word);
    } catch {
      return word;
    }
  },
  json: (word) => word,
  form: (word) => word,
  text: (word) => word,
  header: (word) => word,
};

function parseValueMap(spec: string): Map<string, string> | undefined {
  const map = new Map<string, string>();
  for (const entry of spec.split(mapSeparators)) {
    if (entry === '') continue;
    const eq = entry.indexOf('=');
    if (eq <= 0) return undefined;
    map.set(entry.slice(0, eq).toLowerCase(), entry.slice(eq + 1));
  }
  return map.size > 0 ? map : undefined;
}

/** The first problem of a template's placeholders (an unknown name, a bad value map), or undefined. */
export function templateProblem(template: string, spec: TemplateSpec): string | undefined {
  for (const m of template.matchAll(placeholderPattern)) {
    const name = m[1]!.toLowerCase();
    if (!spec.names.has(name)) return `unknown ${spec.noun} {${m[1]}}`;
    if (m[2] !== undefined && (spec.map?.name !== name || !parseValueMap(m[2]))) {
      return spec.map ? `${m[0]} is not a ${spec.map.name} map such as ${spec.map.example}` : `${m[0]}: a ${spec.noun} takes no value map`;
    }
  }
  return undefined;
}

/** Fills a template: each placeholder's value (or its mapped word) encoded for the context; unknown placeholders are left as written. */
export function fillTemplate(template: string, values: Readonly<Record<string, string>>, context: TemplateContext, spec: TemplateSpec): string {
  const encode = encoders[context];
  return template.replace(placeholderPattern, (whole, rawName: string, mapSpec: string | undefined) => {
    const name = rawName.toLowerCase();
    const value = values[name];
    if (!spec.names.has(name) || value === undefined) return whole;
    const mapped = mapSpec !== undefined && spec.map?.name === name ? parseValueMap(mapSpec)?.get(value.toLowerCase()) : undefined;
    return encode((mapped === undefined ? value : literal[context](mapped)).toWellFormed());
  });
}
