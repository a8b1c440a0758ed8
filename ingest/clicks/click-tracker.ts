import type { Campaign } from '../../admin/index.js';
import type { ClickIdGenerator } from '../../core/click-id.js';
import { platformIdOfQuery, type PlatformClicks } from '../../core/platform-clicks.js';
import { isUnfilledMacro } from '../../core/query-string.js';
import { hostUnder, normalizeHttpUrl } from '../../core/schemas.js';
import { clickParamAliases, maxFieldLength, parseDecimal, type ClickField } from './click-params.js';
import { clickCost, defaultMaxLinkCost, recordLimits, type ClickRecord } from './click-record.js';
import { clickQueryLimits } from './click-rows.js';
import { fillMacros } from './macros.js';
import { findParam } from '../../core/query-string.js';
import type { Spool } from '../spool/index.js';

export interface ClickRequest {
  campaignId: string;
  /** The query string as sent, without '?', parsed here (not by the router) to control + and limits. */
  rawQuery: string;
  ip: string;
  userAgent: string;
  referrer: string;
  /** The trusted country header's value, when KEYREV_COUNTRY_HEADER is set. */
  countryHint: string | undefined;
}

export interface ClickOutcome {
  /** Where to send the visitor; undefined when there is neither an offer nor a fallback URL. */
  location: string | undefined;
  clickId: string;
  /** The campaign was unknown or paused, or its offer URL could not be sent: the visitor went to a fallback. */
  missed: boolean;
  /** The click is on disk (false: the spool refused it, the loss is counted). */
  durable: boolean;
  /** Nothing was recorded: the ad click's platform id was recorded lately (clickId is that click's). */
  repeat: boolean;
}

export interface ClickTrackerDeps {
  findCampaign(id: string): Campaign | undefined;
  ids: ClickIdGenerator;
  spool: Spool;
  /** The visitor's country, for offer URLs that use {country}; only asked when they do. */
  countryOf(ip: string, countryHint: string | undefined): string;
  fallbackUrl: string | undefined;
  platformClicks: Pick<PlatformClicks, 'recent' | 'remember'>;
}

/** Macro name -> the parameter names of its column (`{matchtype}` is the match_type column). */
const columnMacros = new Map<string, ReadonlySet<string>>(
  Object.entries(clickParamAliases).map(([column, names]) => [macroOf(column as ClickField), new Set(names)]),
);

function macroOf(column: ClickField): string {
  return column === 'match_type' ? 'matchtype' : column === 'device_hint' ? 'device' : column;
}

/** Macros every offer URL may use; the click's other parameters are usable by their own names. */
export const offerMacros = new Set(['clickid', 'campaign', 'traffic_source', 'country', 'cost', ...columnMacros.keys()]);

const costNames = new Set(['cost']);
const isData = (value: string) => value !== '' && !isUnfilledMacro(value);

/**
 * The request path of a click: it records the request durably and decides where the visitor
 * goes: the campaign's offer with its macros filled, or a fallback when the campaign is unknown
 * or paused or its offer URL cannot be sent (never an error page, never a 500). Parsing into
 * columns and enrichment happen off this path, when the spool is written to ClickHouse
 * (ingest/clicks/click-rows.ts).
 */
export class ClickTracker {
  constructor(private readonly deps: ClickTrackerDeps) {}

  /**
   * Records a click and decides where the visitor goes. `landing: 'lpurl'` (the tracking link):
   * an `lpurl` parameter to one of the campaign's landing domains is where the visitor goes (a
   * search ad's tracking template). `landing: 'page'` (the landing-page script): the visitor is on
   * the page already; nothing is sent anywhere. Either way an ad click whose platform click id
   * this process recorded lately is that click again, not a new one.
   */
  async track(req: ClickRequest, landing: 'lpurl' | 'page' = 'lpurl'): Promise<ClickOutcome> {
    const d = this.deps;
    const found = d.findCampaign(req.campaignId);
    const campaign = found?.status === 'active' ? found : undefined;
    const platformId = campaign ? platformIdOfQuery(req.rawQuery, clickQueryLimits) : undefined;
    const lpurl = landing === 'lpurl' && campaign && campaign.landingDomains.length > 0 ? landingUrl(req.rawQuery, campaign.landingDomains) : undefined;
    if (platformId !== undefined && (lpurl !== undefined || landing === 'page')) {
      const known = d.platformClicks.recent(platformId);
      if (known !== undefined) return { location: lpurl, clickId: known.toString(), missed: false, durable: true, repeat: true };
    }
    const { id, ms } = d.ids.next();
    const clickId = id.toString();
    const modelCost = costFromModel(campaign);
    const maxLinkCost = campaign?.maxLinkCost ?? defaultMaxLinkCost;
    // Where the visitor goes is decided before the record is written: an offer URL that cannot be
    // sent makes the click a miss (the visitor goes to a fallback), like a paused campaign.
    const values = this.macroValues(clickId, modelCost, maxLinkCost, found, req);
    const offer = landing === 'page' ? undefined : (lpurl ?? (campaign && sendable(fillMacros(campaign.offerUrl, values, offerMacros))));
    const location = landing === 'page' ? undefined : (offer ?? fill(found?.fallbackUrl, values) ?? fill(d.fallbackUrl, values));
    const missed = landing === 'page' ? !campaign : offer === undefined;
    const record: ClickRecord = {
      id: clickId,
      ts: ms,
      campaign: req.campaignId,
      source: campaign?.trafficSource ?? '',
      missed: missed ? 1 : 0,
      modelCost,
      // The cap travels with the record: the row encoder, which reads cost=, knows no campaigns.
      maxLinkCost,
      query: req.rawQuery.length > recordLimits.query ? req.rawQuery.slice(0, recordLimits.query) : req.rawQuery,
      ip: req.ip,
      userAgent: req.userAgent.length > recordLimits.userAgent ? req.userAgent.slice(0, recordLimits.userAgent) : req.userAgent,
      referrer: req.referrer.length > recordLimits.referrer ? req.referrer.slice(0, recordLimits.referrer) : req.referrer,
      ...(req.countryHint === undefined ? {} : { countryHint: req.countryHint }),
    };
    const durable = await d.spool.append(`${JSON.stringify(record)}\n`);
    if (durable && platformId !== undefined) d.platformClicks.remember(platformId, id);
    return { location, clickId, missed, durable, repeat: false };
  }

  /**
   * Values for the offer URL's macros, looked up in the raw query only when the URL asks for
   * them, with the same rules as the stored row (ingest/clicks/click-rows.ts): aliases, first value
   * that is not an unfilled macro, the same cleaning and bounds.
   */
  private macroValues(clickId: string, modelCost: string, maxLinkCost: number, campaign: Campaign | undefined, req: ClickRequest): (name: string) => string | undefined {
    return (name) => {
      switch (name) {
        case 'clickid':
          return clickId;
        case 'campaign':
          return campaign?.id;
        case 'traffic_source':
          return campaign?.trafficSource;
        case 'country':
          return this.deps.countryOf(req.ip, req.countryHint);
        case 'cost': {
          const passed = findParam(req.rawQuery, costNames, clickQueryLimits, true, (v) => parseDecimal(v) !== undefined);
          // The cost the click is recorded with (ingest/clicks/click-rows.ts): the link's within the cap.
          return clickCost(passed === undefined ? undefined : parseDecimal(passed), modelCost, maxLinkCost);
        }
        default: {
          const aliases = columnMacros.get(name);
          if (!aliases) return findParam(req.rawQuery, new Set([name]), clickQueryLimits, false);
          return findParam(req.rawQuery, aliases, clickQueryLimits, true, isData)?.slice(0, maxFieldLength);
        }
      }
    };
  }
}

function fill(template: string | undefined, values: (name: string) => string | undefined): string | undefined {
  return template === undefined ? undefined : sendable(fillMacros(template, values, offerMacros));
}

/** Printable ASCII without spaces: what a URL is in a Location header. */
const headerReady = /^[\x21-\x7e]+$/;

/**
 * The filled URL when it can go in a Location header (Node refuses other characters with
 * ERR_INVALID_CHAR: a 500 for every click), else its normalised form (a URL saved before URLs
 * were normalised, a non-ASCII KEYREV_FALLBACK_URL), else undefined: the next fallback is tried.
 * Campaign URLs are normalised when saved, so the regex test is all most clicks cost.
 */
function sendable(url: string): string | undefined {
  if (headerReady.test(url)) return url;
  const normalized = normalizeHttpUrl(url);
  return 'url' in normalized ? normalized.url : undefined;
}

const lpurlNames: ReadonlySet<string> = new Set(['lpurl']);
/** `{lpurl}` escaped twice (a tracking template that escapes the value again, `{escapedlpurl}`). */
const escapedTwice = /^https?%3a/i;

/**
 * The tracking template's landing page (`lpurl`, the final URL the platform passes), when it is
 * an http(s) URL on one of the campaign's landing domains; anything else is never a place keyrev
 * sends a visitor to (no open redirect), and the click goes to the offer as without it.
 */
export function landingUrl(rawQuery: string, landingDomains: readonly string[]): string | undefined {
  if (!rawQuery.includes('lpurl=')) return undefined;
  let value = findParam(rawQuery, lpurlNames, clickQueryLimits, true);
  if (value === undefined || value === '') return undefined;
  if (escapedTwice.test(value)) {
    try {
      value = decodeURIComponent(value);
    } catch {
      return undefined;
    }
  }
  const checked = normalizeHttpUrl(value);
  if (!('url' in checked) || !URL.canParse(checked.url)) return undefined;
  // normalizeHttpUrl keeps {macros}: an lpurl is the platform's, no macro of keyrev is filled in it.
  return hostUnder(new URL(checked.url).hostname, landingDomains) ? sendable(checked.url) : undefined;
}

function costFromModel(campaign: Campaign | undefined): string {
  if (!campaign) return '0';
  if (campaign.costModel === 'cpc') return campaign.costValue.toFixed(6);
  if (campaign.costModel === 'cpm') return (campaign.costValue / 1000).toFixed(6);
  return '0';
}
