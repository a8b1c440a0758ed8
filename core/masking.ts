/**
 * What the API never shows of the requests keyrev sends for its users (outgoing postback rules
 * and deliveries, alert channels): one policy for both.
 * - Header values are masked, except those of headers known to carry no secret (Content-Type,
 *   Accept, User-Agent, X-Keyrev-Delivery, ...): a custom header is as often a key as not.
 * - In a URL, the user-info password and the values of query parameters whose names say they are
 *   credentials (api_key, token, secret, password, sig, ...; not keyword or kw). A secret in the
 *   path is shown (a postback URL's path is rarely one), except where a whole URL is a secret
 *   (a Slack or other chat webhook): maskUrlPath shows only its origin.
 * A value sent back masked (a PATCH with what GET showed) keeps the stored value.
 */
export const mask = '********';

const secretWords = new Set(['secret', 'token', 'key', 'apikey', 'password', 'passwd', 'pwd', 'pass', 'sig', 'signature', 'auth', 'authorization', 'cookie', 'credential', 'credentials', 'session']);
const secretEndings = ['token', 'secret', 'password', 'apikey'];
/** Headers whose values are shown: none of them carries a credential. */
const publicHeaders = new Set(['accept', 'accept-language', 'accept-encoding', 'content-type', 'content-language', 'user-agent', 'x-keyrev-delivery']);

/** Whether a name says it holds a credential: one of its words is (`X-Api-Key`, `client_secret`), not a word containing one (`monkey`). */
export function isSecretName(name: string): boolean {
  return name
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .some((word) => secretWords.has(word) || secretEndings.some((end) => word.endsWith(end)));
}

export function maskHeaders(headers: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, publicHeaders.has(name.toLowerCase()) ? value : mask]));
}

/** Headers as sent back: a masked value keeps what is stored under that name. */
export function unmaskHeaders(sent: Readonly<Record<string, string>>, stored: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(sent).map(([name, value]) => [name, value === mask ? (stored[name] ?? value) : value]));
}

const passwordPattern = /^(https?:\/\/[^/?#:@]*):([^/?#@]*)@/i;

interface UrlParts {
  head: string;
  pairs: string[];
  tail: string;
}

/** A URL's query split into its pairs (as written), with what stands before and after it. */
function splitQuery(url: string): UrlParts {
  const q = url.indexOf('?');
  if (q === -1) return { head: url, pairs: [], tail: '' };
  const hash = url.indexOf('#', q);
  const end = hash === -1 ? url.length : hash;
  return { head: url.slice(0, q + 1), pairs: url.slice(q + 1, end).split('&'), tail: url.slice(end) };
}

function pairName(pair: string): string | undefined {
  const eq = pair.indexOf('=');
  if (eq === -1) return undefined;
  const name = pair.slice(0, eq);
  try {
    return decodeURIComponent(name.replace(/\+/g, ' '));
  } catch {
    return name; // a broken escape: judged as written
  }
}

/** The URL with secret query values and the user-info password replaced by the mask. */
export function maskUrl(url: string): string {
  const { head, pairs, tail } = splitQuery(url.replace(passwordPattern, `$1:${mask}@`));
  if (pairs.length === 0) return head + tail;
  const masked = pairs.map((pair) => {
    const name = pairName(pair);
    return name !== undefined && isSecretName(name) ? `${pair.slice(0, pair.indexOf('='))}=${mask}` : pair;
  });
  return `${head}${masked.join('&')}${tail}`;
}

/** A URL as sent back: each masked query value (and password) takes the stored value of the same name, in order. */
export function unmaskUrl(sent: string, stored: string): string {
  const storedPassword = passwordPattern.exec(stored)?.[2];
  const withPassword = storedPassword === undefined ? sent : sent.replace(passwordPattern, (whole, user: string, pw: string) => (pw === mask ? `${user}:${storedPassword}@` : whole));
  const s = splitQuery(withPassword);
  if (!s.pairs.some((p) => p.endsWith(`=${mask}`))) return withPassword;
  const storedValues = new Map<string, string[]>();
  for (const pair of splitQuery(stored).pairs) {
    const name = pairName(pair);
    if (name !== undefined) storedValues.set(name, [...(storedValues.get(name) ?? []), pair.slice(pair.indexOf('=') + 1)]);
  }
  const pairs = s.pairs.map((pair) => {
    const name = pairName(pair);
    if (name === undefined || pair.slice(pair.indexOf('=') + 1) !== mask) return pair;
    const value = storedValues.get(name)?.shift();
    return value === undefined ? pair : `${pair.slice(0, pair.indexOf('='))}=${value}`;
  });
  return `${s.head}${pairs.join('&')}${s.tail}`;
}

/** A URL that is a secret as a whole (a chat webhook): its origin, with its path and query masked. */
export function maskUrlPath(url: string): string {
  if (!URL.canParse(url)) return mask;
  const u = new URL(url);
  return u.pathname === '/' && u.search === '' ? u.origin : `${u.origin}/${mask}`;
}
