import { describe, expect, it } from 'vitest';
import { isSecretName, mask, maskHeaders, maskUrl, maskUrlPath, unmaskHeaders, unmaskUrl } from '../../core/masking.js';

describe('masking', () => {
  it('takes credential-like names for secrets, and only those', () => {
    for (const name of ['token', 'api_key', 'apiKey', 'X-Api-Key', 'secret', 'client_secret', 'password', 'sig', 'Authorization', 'access_token']) expect(isSecretName(name), name).toBe(true);
    for (const name of ['keyword', 'kw', 'click', 'sub1', 'monkey']) expect(isSecretName(name), name).toBe(false);
  });

  it('masks secret query values and the password of a URL, and restores them when sent back masked', () => {
    const url = 'https://u:pw@x.example/p?a=1&token=t1&kw=k&api_key=k2#f';
    const shown = maskUrl(url);
    expect(shown).toBe(`https://u:${mask}@x.example/p?a=1&token=${mask}&kw=k&api_key=${mask}#f`);
    expect(unmaskUrl(shown, url)).toBe(url);
    // A changed value is taken as sent; the masked one still comes from what is stored.
    expect(unmaskUrl(`https://x.example/q?token=${mask}&kw=new`, url)).toBe('https://x.example/q?token=t1&kw=new');
    expect(unmaskUrl('https://x.example/q?token=fresh', url)).toBe('https://x.example/q?token=fresh');
  });

  it('masks every header value but the harmless ones, one policy for postbacks and alerts', () => {
    const headers = { Authorization: 'Bearer s', 'X-Partner': 'p', 'Content-Type': 'application/json', 'x-keyrev-delivery': 'abc' };
    expect(maskHeaders(headers)).toEqual({ Authorization: mask, 'X-Partner': mask, 'Content-Type': 'application/json', 'x-keyrev-delivery': 'abc' });
    expect(unmaskHeaders({ Authorization: mask, 'X-Partner': 'q' }, headers)).toEqual({ Authorization: 'Bearer s', 'X-Partner': 'q' });
  });

  it('shows only the origin of a URL that is a secret as a whole', () => {
    expect(maskUrlPath('https://hooks.slack.com/services/T/B/x')).toBe(`https://hooks.slack.com/${mask}`);
    expect(maskUrlPath('https://example.com/')).toBe('https://example.com');
  });
});
