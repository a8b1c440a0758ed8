import fs from 'node:fs';
import { createRequire } from 'node:module';
import { isbot } from 'isbot';
import { Reader, type CountryResponse } from 'mmdb-lib';
import UAParser from 'ua-parser-js';
import type { VisitorIp } from '../../core/ip.js';

export interface ClickEnrichment {
  deviceType: 'desktop' | 'mobile' | 'tablet' | 'tv' | 'console' | 'wearable' | 'bot' | 'unknown';
  os: string;
  browser: string;
  isBot: boolean;
  /** ISO 3166-1 alpha-2, upper case; '' when unknown. */
  country: string;
}

export interface EnricherOptions {
  /** A MaxMind-format country database to use instead of the bundled one. */
  geoDatabase?: string;
}

export interface EnrichInput {
  userAgent: string;
  ip: VisitorIp;
  /** The country a trusted proxy or CDN named (KEYREV_COUNTRY_HEADER); it wins over the IP lookup. */
  countryHint?: string;
}

/**
 * The bundled IP-to-country data: RIR whois, geofeed and ASN data (CC BY 4.0, NRO), in the
 * MaxMind format, read with mmdb-lib (a few microseconds a lookup).
 */
const countryCode = /^[A-Z]{2}$/;
const bundledGeoDatabase = createRequire(import.meta.url).resolve('@ip-location-db/geo-whois-asn-country-mmdb/geo-whois-asn-country.mmdb');

type UaFacts = Omit<ClickEnrichment, 'country'>;

/**
 * Builds the click enricher: user agent parsing (cached, since a few thousand user agents make
 * up most traffic), bot and link-preview detection, and the visitor's country.
 */
export function createEnricher(opts: EnricherOptions = {}): (input: EnrichInput) => ClickEnrichment {
  // Both the bundled data's `country_code` and MaxMind's own `country.iso_code` are understood.
  const geo = new Reader<CountryResponse & { country_code?: string }>(fs.readFileSync(opts.geoDatabase ?? bundledGeoDatabase));
  const uaCache = new Map<string, UaFacts>();

  function uaFacts(userAgent: string): UaFacts {
    let facts = uaCache.get(userAgent);
    if (facts) return facts;
    facts = parseUserAgent(userAgent);
    if (uaCache.size >= 10_000) uaCache.delete(uaCache.keys().next().value!);
    uaCache.set(userAgent, facts);
    return facts;
  }

  function country(ip: VisitorIp, hint: string | undefined): string {
    const code = hint?.trim().toUpperCase();
    // XX and T1 are Cloudflare's "unknown" and "Tor": no country.
    if (code && countryCode.test(code) && code !== 'XX' && code !== 'T1') return code;
    // Private, loopback and documentation ranges have no country (the data maps some of them anyway).
    if (!ip.isPublic) return '';
    const rec = geo.get(ip.text);
    return (rec?.country_code ?? rec?.country?.iso_code ?? '').toUpperCase();
  }

  return ({ userAgent, ip, countryHint }) => ({ ...uaFacts(userAgent), country: country(ip, countryHint) });
}

function parseUserAgent(userAgent: string): UaFacts {
  const bot = userAgent.trim() === '' || isbot(userAgent);
  const r = new UAParser(userAgent).getResult();
  return {
    deviceType: bot ? 'bot' : deviceTypeOf(r.device.type, r.os.name),
    os: r.os.name ?? '',
    browser: r.browser.name ?? '',
    isBot: bot,
  };
}

const desktopOs = new Set(['Windows', 'Mac OS', 'macOS', 'Linux', 'Ubuntu', 'Chromium OS', 'Fedora', 'Debian', 'FreeBSD', 'OpenBSD']);

function deviceTypeOf(type: string | undefined, os: string | undefined): ClickEnrichment['deviceType'] {
  switch (type) {
    case 'mobile':
      return 'mobile';
    case 'tablet':
      return 'tablet';
    case 'smarttv':
      return 'tv';
    case 'console':
      return 'console';
    case 'wearable':
      return 'wearable';
    case undefined:
      return os && desktopOs.has(os) ? 'desktop' : 'unknown';
    default:
      return 'unknown';
  }
}
