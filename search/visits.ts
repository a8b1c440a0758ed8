import type { Campaign } from '../admin/index.js';
import { KeyrevError, fail } from '../core/errors.js';
import { platformIdOfQuery, type PlatformClicks } from '../core/platform-clicks.js';
import { hostUnder } from '../core/schemas.js';
import { withTimeout } from '../core/timeout.js';
import { clickQueryLimits, type ClickTracker } from '../ingest/clicks/index.js';

/** What the landing-page script sends: the page's address (its query holds gclid, kw, utm_*, ...) and its referrer. */
export interface VisitRequest {
  campaignId: string;
  /** The Origin header: the landing page's site, as the browser names it. */
  origin: string | undefined;
  url: string;
  referrer: string;
  ip: string;
  userAgent: string;
  countryHint: string | undefined;
}

export interface Visit {
  clickId: string;
  /** How long the page keeps the click id: the campaign's attribution window. */
  attributionDays: number;
  /** The ad click was recorded already (by the tracking template, or an earlier visit). */
  repeat: boolean;
}

export interface VisitDeps {
  findCampaign(id: string): Campaign | undefined;
  tracker: Pick<ClickTracker, 'track'>;
  platformClicks: Pick<PlatformClicks, 'find'>;
  /** How long a ClickHouse lookup of a platform click id may hold the visit before a new click is made. */
  lookupTimeoutMs: number;
}

/** Bounds of what the script sends: a landing page's address and referrer (the click path bounds them again). */
export const visitLimits = { url: 8_192, referrer: 1_024 } as const;

/**
 * Resolves a landing-page visit to a keyrev click: the click of its ad platform click id when
 * keyrev has one (the tracking template's background hit came first: one ad click, one click),
 * else a new click from the page's own parameters, as the tracking link would record it. Only
 * pages on the campaign's landing domains are answered.
 */
export class Visits {
  constructor(private readonly deps: VisitDeps) {}

  /** The campaign's landing domains when the request's Origin is on one of them, for the CORS answer. */
  allowedOrigin(campaignId: string, origin: string | undefined): string | undefined {
    const campaign = this.deps.findCampaign(campaignId);
    return campaign && origin !== undefined && onLandingDomain(origin, campaign) ? origin : undefined;
  }

  async visit(req: VisitRequest): Promise<Visit> {
    const d = this.deps;
    const campaign = d.findCampaign(req.campaignId);
    if (campaign?.status !== 'active') fail('KR_NOT_FOUND', `no active campaign ${req.campaignId}`);
    if (req.origin === undefined) fail('KR_FORBIDDEN', 'no Origin header: the landing-page script calls from the landing page');
    if (!onLandingDomain(req.origin, campaign)) fail('KR_FORBIDDEN', `origin ${req.origin.slice(0, 200)} is not on one of the campaign's landingDomains`);
    if (!URL.canParse(req.url)) fail('KR_BAD_REQUEST', 'url must be the landing page address');
    const page = new URL(req.url);
    if ((page.protocol !== 'https:' && page.protocol !== 'http:') || !hostUnder(page.hostname, campaign.landingDomains)) {
      fail('KR_FORBIDDEN', "url is not a page on one of the campaign's landingDomains");
    }
    const rawQuery = page.search.slice(1);
    const platformId = platformIdOfQuery(rawQuery, clickQueryLimits);
    if (platformId !== undefined) {
      const known = await this.recorded(platformId);
      if (known !== undefined) return { clickId: known.toString(), attributionDays: campaign.attributionDays, repeat: true };
    }
    const outcome = await d.tracker.track(
      { campaignId: campaign.id, rawQuery, ip: req.ip, userAgent: req.userAgent, referrer: req.referrer, countryHint: req.countryHint },
      'page',
    );
    if (!outcome.durable) throw new KeyrevError('KR_SPOOL_FULL', 'the visit could not be recorded; retry later');
    return { clickId: outcome.clickId, attributionDays: campaign.attributionDays, repeat: outcome.repeat };
  }

  /**
   * The click recorded for a platform click id, from memory or ClickHouse. ClickHouse down or
   * slow: none, and a new click is made. Two clicks for one ad click then, rather than a visit
   * without a click id (the offer link would carry none, and its sale would be lost).
   */
  private async recorded(platformId: string): Promise<bigint | undefined> {
    const lookup = this.deps.platformClicks.find([platformId]);
    const found = await withTimeout(lookup, this.deps.lookupTimeoutMs, () => new Error('platform click lookup timed out')).catch(() => undefined);
    return found?.get(platformId);
  }
}

function onLandingDomain(origin: string, campaign: Campaign): boolean {
  return URL.canParse(origin) && hostUnder(new URL(origin).hostname, campaign.landingDomains);
}
