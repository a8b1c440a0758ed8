import { clean, parseQuery } from '../../core/query-string.js';

/** Bounds on a postback's parameters, wherever they come from (query, form, JSON body, NDJSON line). */
export const postbackQueryLimits = { maxParams: 100, maxKeyLength: 64, maxValueLength: 2048 } as const;

// A pattern of a hot path lives outside its function: a literal in a body is a new RegExp object per call.
const signatureParam = /^(?:signature|sig)(?:=|$)/i;

/** Parameters of a form body or query string, and the query string without its signature (what GET signs). */
export function queryParams(raw: string): Map<string, string> {
  return parseQuery(raw, postbackQueryLimits).params;
}

export function withoutSignature(rawQuery: string): string {
  return rawQuery
    .split('&')
    .filter((pair) => !signatureParam.test(pair))
    .join('&');
}

/**
 * A JSON body's top-level values as parameters (numbers and booleans as text); nested objects are
 * not postback fields and are left out. undefined when the text is not a JSON object.
 */
export function jsonParams(text: string): Map<string, string> | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const params = new Map<string, string>();
  const fields = value as Record<string, unknown>;
  for (const k in fields) {
    if (params.size >= postbackQueryLimits.maxParams) break;
    const v = fields[k];
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') {
      params.set(clean(k, postbackQueryLimits.maxKeyLength), clean(String(v), postbackQueryLimits.maxValueLength));
    }
  }
  return params;
}
