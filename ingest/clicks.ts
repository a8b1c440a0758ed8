import type { Campaign } from '../admin/campaign-schema.js';
import type { ClickIdGenerator } from './click-id.js';
import { clickParamAliases, mapClickParams, type ClickFields } from './click-params.js';
import type { ClickEnrichment } from './enrich.js';
import { parseVisitorIp, storedIp, type VisitorIp } from './ip.js';
import { fillMacros } from './macros.js';
import { clean, parseQuery, type QueryLimits } from './query-string.js';
import type { Spool } from './spool.js';
import type { UniqueClicks } from './unique-clicks.js';

export interface ClickRequest {
  campaignId: string;
  /** The query string as sent, without '?', parsed here (not by the router) to control + and limits. */
  rawQuery: string;
  ip: string;
  userAgent: string;
  referrer: string;
  headers: Record<string, string | string[] | undefined>;
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
  enrich(input: { userAgent: string; ip: VisitorIp; headers: Record<string, string | string[] | undefined> }): ClickEnrichment;
  unique: UniqueClicks;
  ipStorage: 'full' | 'truncated';
  fallbackUrl: string | undefined;
}

export const clickQueryLimits: QueryLimits = { maxParams: 100, maxKeyLength: 64, maxValueLength: 2048 };

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
 * Records a click and decides where the visitor goes: the campaign's offer with its macros
 * filled, or a fallback when the campaign is unknown or paused (never an error page).
 */
export class ClickTracker {
  constructor(private readonly deps: ClickTrackerDeps) {}

  async track(req: ClickRequest): Promise<ClickOutcome> {
    const d = this.deps;
    const found = d.findCampaign(req.campaignId);
    const campaign = found?.status === 'active' ? found : undefined;
    const { params } = parseQuery(req.rawQuery, clickQueryLimits);
    const { fields, extra, cost: passedCost } = mapClickParams(params);
    const { id, ms } = d.ids.next();
    const userAgent = clean(req.userAgent, 1024);
    const ip = parseVisitorIp(req.ip);
    const e = d.enrich({ userAgent, ip, headers: req.headers });
    const cost = passedCost ?? costFromModel(campaign);
    const row = {
      click_id: id.toString(),
      ts: ms,
      campaign_id: clean(req.campaignId, 64),
      traffic_source: campaign?.trafficSource ?? '',
      ...fields,
      cost,
      referrer: clean(req.referrer, 1024),
      ip: storedIp(ip, d.ipStorage),
      user_agent: userAgent,
      device_type: e.deviceType,
      os: e.os,
      browser: e.browser,
      country: e.country,
      is_bot: e.isBot ? 1 : 0,
      is_unique: d.unique.isUnique(req.campaignId, ip.text, userAgent, ms) ? 1 : 0,
      missed: campaign ? 0 : 1,
      extra,
    };
    const durable = await d.spool.append(Buffer.from(`${JSON.stringify(row)}\n`));
    const template = campaign?.offerUrl ?? found?.fallbackUrl ?? d.fallbackUrl;
    const clickId = row.click_id;
    const location = template && fillMacros(template, macroValues(clickId, campaign ?? found, fields, e, cost, params), offerMacros);
    return { location, clickId, missed: !campaign, durable };
  }
}

function costFromModel(campaign: Campaign | undefined): string {
  if (!campaign) return '0';
  if (campaign.costModel === 'cpc') return campaign.costValue.toFixed(6);
  if (campaign.costModel === 'cpm') return (campaign.costValue / 1000).toFixed(6);
  return '0';
}

function macroValues(
  clickId: string,
  campaign: Campaign | undefined,
  fields: ClickFields,
  e: ClickEnrichment,
  cost: string,
  params: ReadonlyMap<string, string>,
): (name: string) => string | undefined {
  return (name) => {
    switch (name) {
      case 'clickid':
        return clickId;
      case 'campaign':
        return campaign?.id;
      case 'traffic_source':
        return campaign?.trafficSource;
      case 'country':
        return e.country;
      case 'cost':
        return cost;
      case 'matchtype':
        return fields.match_type || undefined;
      case 'device':
        return fields.device_hint || undefined;
      default:
        if (name in fields) return fields[name as keyof ClickFields] || undefined;
        return params.get(name);
    }
  };
}
