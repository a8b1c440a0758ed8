import { z } from 'zod';

/**
 * An http(s) URL that may hold {macro} placeholders, kept exactly as written so the macros
 * survive (new URL() would percent-encode the braces). Macros may not stand in the scheme or
 * host: a click's values must never choose where the visitor is sent (open redirect).
 */
export const httpUrlWithMacros = z
  .string()
  .trim()
  .max(2048)
  .refine((value) => {
    if (!/^https?:\/\/[^/?#{}\\]+(?:[/?#]|$)/i.test(value)) return false;
    const probe = value.replace(/\{[a-z0-9_]+\}/gi, 'x');
    if (!URL.canParse(probe)) return false;
    const u = new URL(probe);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname.length > 0;
  }, 'must be an http(s) URL, with macros only after the host');

export const objectId = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'must be 1-64 lowercase letters, digits, - or _');

export const isoTimestamp = z.iso.datetime();

/** An ISO 4217 currency code as networks and operators write it; kept in upper case. */
export const currencyPattern = /^[A-Za-z]{3}$/;
export const currencyCode = z.string().regex(currencyPattern, 'must be an ISO 4217 code such as USD').toUpperCase();
