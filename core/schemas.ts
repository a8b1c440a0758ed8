import { z } from 'zod';

// eslint-disable-next-line no-control-regex
const controlChars = /[\u0000-\u001f\u007f-\u009f]/;
/** What must be percent-encoded to travel in a Location header: anything not printable ASCII, and spaces. */
const unsendable = /[^\x21-\x7e]+/g;
const macroPlaceholder = /\{[a-z0-9_]+\}/gi;
const urlMaxLength = 2048;
const notHttpUrl = 'must be an http(s) URL, with macros only after the host';

/**
 * An offer or fallback URL, with its {macro} placeholders, made fit for a Location header: the
 * host in punycode (IDN), and non-ASCII characters and spaces percent-encoded (UTF-8), as a
 * browser would send them; everything else is kept as written, macros included (new URL() would
 * percent-encode the braces). Returns the reason instead when it cannot be: line breaks and
 * other control characters (header injection; WHATWG URL would silently drop tabs and newlines),
 * a scheme other than http(s), or a macro in the scheme or host (a click's values must never
 * choose where the visitor is sent: open redirect). Idempotent, so a stored value passes again.
 */
export function normalizeHttpUrl(value: string): { url: string } | { error: string } {
  if (controlChars.test(value)) return { error: 'must not contain line breaks or other control characters' };
  if (!value.isWellFormed()) return { error: 'must be well-formed Unicode text' };
  const authority = /^(https?:)\/\/([^/?#{}\\]+)(?=[/?#]|$)/i.exec(value);
  if (!authority) return { error: notHttpUrl };
  const probe = value.replace(macroPlaceholder, 'x');
  if (!URL.canParse(probe)) return { error: notHttpUrl };
  const u = new URL(probe);
  if ((u.protocol !== 'http:' && u.protocol !== 'https:') || u.hostname.length === 0) return { error: notHttpUrl };
  // The authority holds no macro, so the parser's form of it (punycode host, lower case, encoded
  // user info) replaces it as is; the rest keeps its macros and only gets what a header cannot carry.
  const scheme = authority[1]!.toLowerCase();
  const base = new URL(`${scheme}//${authority[2]}/`).href.slice(0, -1);
  const rest = value.slice(authority[0].length).replace(unsendable, (run) => encodeURIComponent(run));
  const url = base + rest;
  if (url.length > urlMaxLength) return { error: `must be at most ${urlMaxLength} characters once percent-encoded` };
  return { url };
}

/**
 * An http(s) URL that may hold {macro} placeholders, normalised by normalizeHttpUrl when it is
 * saved (the stored value is what every click sends) or refused with its one-line reason.
 */
export const httpUrlWithMacros = z
  .string()
  .trim()
  .max(urlMaxLength)
  .superRefine((value, ctx) => {
    const checked = normalizeHttpUrl(value);
    if ('error' in checked) ctx.addIssue({ code: 'custom', message: checked.error });
  })
  .overwrite((value) => {
    const checked = normalizeHttpUrl(value);
    return 'url' in checked ? checked.url : value;
  });

/**
 * Free text a user names things with (a campaign, its traffic source, a network, a key): trimmed,
 * bounded, and well-formed Unicode without control characters. A lone surrogate would make
 * ClickHouse refuse the whole batch of rows it was copied into (a traffic source goes into every
 * click row of its campaign), so it is refused here, at the door.
 */
export const plainText = (maxLength: number) =>
  z
    .string()
    .trim()
    .max(maxLength)
    .refine((value) => value.isWellFormed() && !controlChars.test(value), 'must be text without control characters or lone surrogates');

export const objectId = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'must be 1-64 lowercase letters, digits, - or _');

export const isoTimestamp = z.iso.datetime();

/** An ISO 4217 currency code as networks and operators write it; kept in upper case. */
export const currencyPattern = /^[A-Za-z]{3}$/;
export const currencyCode = z.string().regex(currencyPattern, 'must be an ISO 4217 code such as USD').toUpperCase();

const hostLabel = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/**
 * A host name as a browser sends it in an Origin or URL (lower case, punycode for IDN), or
 * undefined when the text is not a plain host name: no scheme, port, path, wildcard or address.
 */
export function normalizeHostName(text: string): string | undefined {
  const trimmed = text.trim().replace(/\.$/, '');
  // Anything that would make the parser read a scheme, user, port, path or address out of it.
  if (trimmed === '' || /[\s/\\:?#@[\]*%]/.test(trimmed) || !URL.canParse(`http://${trimmed}/`)) return undefined;
  const host = new URL(`http://${trimmed}/`).hostname;
  const labels = host.split('.');
  // A registrable name (example.com) or localhost (a page tried out locally), not an IPv4 address.
  return (labels.length >= 2 || host === 'localhost') && labels.every((l) => hostLabel.test(l)) && !/^\d+$/.test(labels.at(-1)!) ? host : undefined;
}

/** A host name (see normalizeHostName), stored normalised. */
export const hostName = z
  .string()
  .max(253)
  .superRefine((value, ctx) => {
    if (normalizeHostName(value) === undefined) ctx.addIssue({ code: 'custom', message: 'must be a host name such as www.example.com (no scheme, port or path)' });
  })
  .overwrite((value) => normalizeHostName(value) ?? value);

/** Whether a host is one of the domains or a subdomain of one (`shop.example.com` is under `example.com`). */
export function hostUnder(host: string, domains: readonly string[]): boolean {
  const h = host.toLowerCase();
  return domains.some((d) => h === d || (h.length > d.length && h.endsWith(d) && h[h.length - d.length - 1] === '.'));
}

/**
 * Headers a user's outgoing requests may not set (outgoing postbacks, alert webhooks): the ones
 * that say how a request travels (RFC 9110 hop-by-hop and framing headers, Host, Expect).
 * core/outbound-http.ts drops them from any request too; `X-Keyrev-*` are keyrev's own.
 */
export const transportHeaderNames: ReadonlySet<string> = new Set(['host', 'content-length', 'transfer-encoding', 'connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'upgrade', 'te', 'trailer', 'expect']);
const headerNamePattern = /^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$/;

/** A header value as sent: printable ASCII (a header cannot carry other characters as text). */
export const headerValue = plainText(2_000).regex(/^[\x20-\x7e]*$/, 'must be printable ASCII (percent-encode other characters)');

/** The headers of an outgoing request, at most 20: valid names, none twice, none of the transport's or keyrev's own. */
export const httpHeaders = (value: z.ZodType<string> = headerValue) =>
  z.record(z.string(), value).superRefine((h, ctx) => {
    const names = Object.keys(h);
    const bad = names.find((n) => !headerNamePattern.test(n));
    if (bad !== undefined) ctx.addIssue({ code: 'custom', message: `${JSON.stringify(bad.slice(0, 70))} is not an HTTP header name` });
    const reserved = names.find((n) => transportHeaderNames.has(n.toLowerCase()) || n.toLowerCase().startsWith('x-keyrev-'));
    if (reserved !== undefined) ctx.addIssue({ code: 'custom', message: `${reserved} is set by keyrev` });
    if (names.length > 20) ctx.addIssue({ code: 'custom', message: 'at most 20 headers' });
    if (new Set(names.map((n) => n.toLowerCase())).size !== names.length) ctx.addIssue({ code: 'custom', message: 'a header is named twice' });
  });

/** The years a time parameter may name: those ClickHouse's DateTime holds (1970 to 2106), whole. */
const instantYears = { min: 1971, max: 2105 } as const;

/** A time in a query string: an ISO 8601 instant with its offset, or a date (UTC midnight); read as a Date. */
export const isoInstant = z
  .union([z.iso.datetime({ offset: true }), z.iso.date()])
  .transform((v) => new Date(v))
  .refine((d) => d.getUTCFullYear() >= instantYears.min && d.getUTCFullYear() <= instantYears.max, `must be in the years ${instantYears.min} to ${instantYears.max}`);
