import { clean, parseQuery } from '../../core/query-string.js';

/** Bounds on a postback's parameters, wherever they come from (query, form, JSON body, NDJSON line). */
export const postbackQueryLimits = { maxParams: 100, maxKeyLength: 64, maxValueLength: 2048 } as const;

// A pattern of a hot path lives outside its function: a literal in a body is a new RegExp object per call.
const signatureParam = /^(?:signature|sig)(?:=|$)/i;

/** Parameters of a form body or query string, and the query string without its signature (what GET signs). */
export function queryParams(raw: string): Map<string, string> {
  return parseQuery(raw, postbackQueryLimits).params;
}

/**
 * A signed postback's `ts` or `timestamp` (seconds, or milliseconds from 13 digits on) is honoured
 * within this many seconds of now, either way: a captured postback cannot be replayed for longer,
 * and clocks may differ a little. A value that is not digits is not read as a timestamp.
 */
export const signedTimestamp = { names: ['ts', 'timestamp'], maxSkewSeconds: 600 } as const;
const digits = /^\d{1,16}$/;

/** Why a signed postback's timestamp is refused (a one-line reason), or undefined when it is fine or absent. */
export function staleTimestamp(params: ReadonlyMap<string, string>, nowMs: number): string | undefined {
  for (const name of signedTimestamp.names) {
    const raw = params.get(name)?.trim();
    if (raw === undefined || !digits.test(raw)) continue;
    const ms = raw.length >= 13 ? Number(raw) : Number(raw) * 1000;
    if (Math.abs(nowMs - ms) <= signedTimestamp.maxSkewSeconds * 1000) return undefined;
    return `bad signature: ${name} ${raw} is more than ${signedTimestamp.maxSkewSeconds / 60} minutes from now (sign each postback when it is sent)`;
  }
  return undefined;
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
