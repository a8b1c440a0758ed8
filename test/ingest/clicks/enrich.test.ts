import { describe, expect, it } from 'vitest';
import { createEnricher } from '../../../ingest/clicks/enrich.js';
import { parseVisitorIp } from '../../../core/ip.js';
import { UniqueClicks } from '../../../ingest/clicks/unique-clicks.js';

const enrich = createEnricher();
const ua = (userAgent: string) => enrich({ userAgent, ip: parseVisitorIp('') });

describe('user agent enrichment', () => {
  it.each([
    ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36', 'desktop', 'Windows', 'Chrome'],
    ['Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15', 'desktop', 'Mac OS', 'Safari'],
    ['Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1', 'mobile', 'iOS', 'Mobile Safari'],
    ['Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36', 'mobile', 'Android', 'Chrome'],
    ['Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1', 'tablet', 'iOS', 'Mobile Safari'],
    ['Mozilla/5.0 (SMART-TV; Linux; Tizen 6.0) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/4.0 Chrome/76.0.3809.146 TV Safari/537.36', 'tv', 'Tizen', 'Samsung Internet'],
    ['Mozilla/5.0 (PlayStation; PlayStation 5/2.26) AppleWebKit/605.1.15 (KHTML, like Gecko)', 'console', 'PlayStation', 'WebKit'],
  ])('%s', (userAgent, deviceType, os, browser) => {
    expect(ua(userAgent)).toMatchObject({ deviceType, os, browser, isBot: false });
  });

  it.each([
    'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
    'Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)',
    'AdsBot-Google (+http://www.google.com/adsbot.html)',
    'Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)',
    'facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)',
    'WhatsApp/2.23.20.0',
    'TelegramBot (like TwitterBot)',
    'Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)',
    'curl/8.5.0',
    '',
  ])('flags %j as a bot', (userAgent) => {
    expect(ua(userAgent)).toMatchObject({ isBot: true, deviceType: 'bot' });
  });
});

describe('country', () => {
  it.each([
    ['8.8.8.8', 'US'],
    ['::ffff:8.8.8.8', 'US'],
    ['81.2.69.142', 'GB'],
    ['77.88.8.8', 'RU'],
    ['192.168.1.1', ''],
    ['10.0.0.1', ''],
    ['127.0.0.1', ''],
    ['203.0.113.7', ''],
    ['::1', ''],
    ['not an ip', ''],
  ])('%s -> %j', (ip, country) => {
    expect(enrich({ userAgent: 'x', ip: parseVisitorIp(ip) }).country).toBe(country);
  });

  it('finds IPv6 addresses', () => {
    expect(enrich({ userAgent: 'x', ip: parseVisitorIp('2a00:1450:4001:80b::200e') }).country).toMatch(/^[A-Z]{2}$/);
  });

  it('prefers the country a trusted proxy named, when it is a real country code', () => {
    expect(enrich({ userAgent: 'x', ip: parseVisitorIp('8.8.8.8'), countryHint: 'de' }).country).toBe('DE');
    expect(enrich({ userAgent: 'x', ip: parseVisitorIp('8.8.8.8'), countryHint: 'XX' }).country).toBe('US');
    expect(enrich({ userAgent: 'x', ip: parseVisitorIp('8.8.8.8'), countryHint: 'nonsense' }).country).toBe('US');
  });
});

describe('unique clicks', () => {
  const hour = 3_600_000;

  it('counts a visitor once per campaign within the window', () => {
    const u = new UniqueClicks({ windowMs: 24 * hour, maxEntries: 1000 });
    expect(u.isUnique('c1', '1.2.3.4', 'ua', 0)).toBe(true);
    expect(u.isUnique('c1', '1.2.3.4', 'ua', hour)).toBe(false);
    expect(u.isUnique('c2', '1.2.3.4', 'ua', hour)).toBe(true);
    expect(u.isUnique('c1', '1.2.3.4', 'other ua', hour)).toBe(true);
    expect(u.isUnique('c1', '1.2.3.5', 'ua', hour)).toBe(true);
    expect(u.isUnique('c1', '1.2.3.4', 'ua', 24 * hour)).toBe(true);
    expect(u.isUnique('c1', '1.2.3.4', 'ua', 25 * hour)).toBe(false);
  });

  it('stays within its memory bound, forgetting the oldest first', () => {
    const u = new UniqueClicks({ windowMs: hour, maxEntries: 100 });
    for (let i = 0; i < 150; i++) u.isUnique('c', `10.0.0.${i}`, 'ua', i);
    expect(u.isUnique('c', '10.0.0.149', 'ua', 200)).toBe(false);
    expect(u.isUnique('c', '10.0.0.0', 'ua', 200)).toBe(true);
  });
});
