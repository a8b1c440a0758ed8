import type { Campaign } from '../admin/campaign-schema.js';
import type { ClickIdGenerator } from './click-id.js';
import { clickParamAliases, mapClickParams, type MappedClick } from './click-params.js';
import { recordLimits, type ClickRecord } from './click-record.js';
import { clickQueryLimits } from './click-rows.js';
import { fillMacros } from './macros.js';
import { parseQuery } from './query-string.js';
import type { Spool } from './spool.js';

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
  /** The campaign was unknown or paused. */
  missed: boolean;
  /** The click is on disk (false: the spool refused it, the loss is counted). */
  durable: boolean;
}

export interface ClickTrackerDeps {
  findCampaign(id: string): Campaign | undefined;
  ids: ClickIdGenerator;
  spool: Spool;
  /** The visitor's country, for offer URLs that use {country}; only asked when they do. */
  countryOf(ip: string, countryHint: string | undefined): string;
  fallbackUrl: string | undefined;
}

/** Macros every offer URL may use; the click's other parameters are usable by their own names. */
export const offerMacros = new Set([
  'clickid',
  'campaign',
  'traffic_source',
  'country',
  'cost',
  ...Object.keys(clickParamAliases).map((k) => (k === 'match_type' ? 'matchtype' : k === 'device_hint' ? 'device' : k)),
]);

/**
 * The request path of a click: it records the request durably and decides where the visitor
 * goes: the campaign's offer with its macros filled, or a fallback when the campaign is unknown
 * or paused (never an error page). Parsing into columns and enrichment happen off this path,
 * when the spool is written to ClickHouse (ingest/click-rows.ts).
 */
export class ClickTracker {
  constructor(private readonly deps: ClickTrackerDeps) {}

  async track(req: ClickRequest): Promise<ClickOutcome> {
    const d = this.deps;
    const found = d.findCampaign(req.campaignId);
    const campaign = found?.status === 'active' ? found : undefined;
    const { id, ms } = d.ids.next();
    const clickId = id.toString();
    const record: ClickRecord = {
      id: clickId,
      ts: ms,
      c: req.campaignId,
      src: campaign?.trafficSource ?? '',
      missed: campaign ? 0 : 1,
      mc: costFromModel(campaign),
      q: req.rawQuery.length > recordLimits.query ? req.rawQuery.slice(0, recordLimits.query) : req.rawQuery,
      ip: req.ip,
      ua: req.userAgent.length > recordLimits.userAgent ? req.userAgent.slice(0, recordLimits.userAgent) : req.userAgent,
      ref: req.referrer.length > recordLimits.referrer ? req.referrer.slice(0, recordLimits.referrer) : req.referrer,
      ...(req.countryHint === undefined ? {} : { cc: req.countryHint }),
    };
    const durable = await d.spool.append(Buffer.from(`${JSON.stringify(record)}\n`));
    const template = campaign?.offerUrl ?? found?.fallbackUrl ?? d.fallbackUrl;
    const location = template && fillMacros(template, this.macroValues(record, found, req), offerMacros);
    return { location, clickId, missed: !campaign, durable };
  }

  /** Values for the offer URL's macros, parsed only when the URL asks for them. */
  private macroValues(record: ClickRecord, campaign: Campaign | undefined, req: ClickRequest): (name: string) => string | undefined {
    let mapped: (MappedClick & { params: ReadonlyMap<string, string> }) | undefined;
    const click = () => {
      if (!mapped) {
        const { params } = parseQuery(req.rawQuery, clickQueryLimits);
        mapped = { ...mapClickParams(params), params };
      }
      return mapped;
    };
    return (name) => {
      switch (name) {
        case 'clickid':
          return record.id;
        case 'campaign':
          return campaign?.id;
        case 'traffic_source':
          return campaign?.trafficSource;
        case 'country':
          return this.deps.countryOf(req.ip, req.countryHint);
        case 'cost':
          return click().cost ?? record.mc;
        case 'matchtype':
          return click().fields.match_type || undefined;
        case 'device':
          return click().fields.device_hint || undefined;
        default: {
          const { fields, params } = click();
          if (name in fields) return fields[name as keyof typeof fields] || undefined;
          return params.get(name);
        }
      }
    };
  }
}

function costFromModel(campaign: Campaign | undefined): string {
  if (!campaign) return '0';
  if (campaign.costModel === 'cpc') return campaign.costValue.toFixed(6);
  if (campaign.costModel === 'cpm') return (campaign.costValue / 1000).toFixed(6);
  return '0';
}
