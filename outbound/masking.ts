/**
 * Secrets shown by the API only as a mask: query values, header values and URL passwords whose
 * names say they are credentials (api_key, token, secret, password, sig, Authorization, ...).
 * `keyword` or `kw` are not: a name is split into its words, and a word must be one of these.
 */
export const mask = '********';

const secretWords = new Set(['secret', 'token', 'key', 'apikey', 'password', 'passwd', 'pwd', 'pass', 'sig', 'signature', 'auth', 'authorization', 'cookie', 'credential', 'credentials', 'session']);
const secretEndings = ['token', 'secret', 'password', 'apikey'];

export function isSecretName(name: string): boolean {
  return name
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .some((word) => secretWords.has(word) || secretEndings.some((end) => word.endsWith(end)));
}

/** The URL with secret query values and the user-info password replaced by the mask. */
export function maskUrl(url: string): string {
  const withoutPassword = url.replace(/^(https?:\/\/[^/?#:@]*):[^/?#@]*@/i, `$1:${mask}@`);
  const q = withoutPassword.indexOf('?');
  if (q === -1) return withoutPassword;
  const hash = withoutPassword.indexOf('#', q);
  const end = hash === -1 ? withoutPassword.length : hash;
  const query = withoutPassword
    .slice(q + 1, end)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      if (eq === -1) return pair;
      let name = pair.slice(0, eq);
      try {
        name = decodeURIComponent(name.replace(/\+/g, ' '));
      } catch {
        // a broken escape: judged as written
      }
      return isSecretName(name) ? `${pair.slice(0, eq)}=${mask}` : pair;
    })
    .join('&');
  return `${withoutPassword.slice(0, q + 1)}${query}${withoutPassword.slice(end)}`;
}

export function maskHeaders(headers: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, isSecretName(name) ? mask : value]));
}
