/**
 * Fills `{macro}` placeholders of an offer URL with a click's values, each URL-encoded exactly
 * once, so a value can never bring a CR/LF or a space into the Location header. Campaign
 * validation keeps macros out of the scheme and host, so a value can never change where the
 * visitor goes (no open redirect).
 */
type Part = string | { macro: string; raw: string };

const compiled = new Map<string, Part[]>();

function compile(template: string): Part[] {
  let parts = compiled.get(template);
  if (!parts) {
    parts = [];
    let last = 0;
    for (const m of template.matchAll(/\{([A-Za-z0-9_]+)\}/g)) {
      if (m.index > last) parts.push(template.slice(last, m.index));
      parts.push({ macro: m[1]!.toLowerCase(), raw: m[0] });
      last = m.index + m[0].length;
    }
    if (last < template.length) parts.push(template.slice(last));
    // Templates come from a handful of campaigns; the bound only guards against misuse.
    if (compiled.size > 10_000) compiled.clear();
    compiled.set(template, parts);
  }
  return parts;
}

/**
 * `known` macros are always replaced (by '' when the click has no value); any other `{name}`
 * is replaced when the link carried a parameter of that name, and otherwise left as written.
 */
export function fillMacros(template: string, values: (name: string) => string | undefined, known: ReadonlySet<string>): string {
  let out = '';
  for (const part of compile(template)) {
    if (typeof part === 'string') {
      out += part;
      continue;
    }
    const value = values(part.macro);
    // encodeURIComponent throws on a lone surrogate (a campaign's trafficSource is any JSON
    // string): repaired to U+FFFD, as the click parser repairs the link's values.
    if (value !== undefined) out += encodeURIComponent(value.isWellFormed() ? value : value.toWellFormed());
    else if (!known.has(part.macro)) out += part.raw;
  }
  return out;
}
