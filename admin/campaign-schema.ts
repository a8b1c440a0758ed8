import { z } from 'zod';
import { hostName, httpUrlWithMacros, isoTimestamp, objectId, plainText } from '../core/schemas.js';

export const costModels = ['none', 'cpc', 'cpm', 'cpa', 'revshare'] as const;

const fields = {
  name: plainText(200).min(1),
  offerUrl: httpUrlWithMacros,
  trafficSource: plainText(100),
  /** How cost is counted when a click does not pass `cost=`: per click (cpc), per 1,000 clicks (cpm). */
  costModel: z.enum(costModels),
  costValue: z.number().min(0).max(1_000_000),
  /**
   * The highest `cost=` a click's link may set, in the account currency: the link is in the
   * visitor's hands, so a larger one is ignored and the cost model applies.
   */
  maxLinkCost: z.number().min(0).max(1_000_000),
  fallbackUrl: httpUrlWithMacros.optional(),
  status: z.enum(['active', 'paused']),
  /**
   * The advertiser's landing-page domains (host names; subdomains included): where a tracking
   * template's `lpurl` may send the visitor, and the pages whose landing-page script keyrev answers.
   */
  landingDomains: z.array(hostName).max(50),
  /** How long a click may earn its conversions; the landing-page script keeps its click id that long. */
  attributionDays: z.number().int().min(1).max(365),
};

export const campaignInput = z.strictObject({
  ...fields,
  trafficSource: fields.trafficSource.default(''),
  costModel: fields.costModel.default('none'),
  costValue: fields.costValue.default(0),
  // The same default as a click record written before the cap existed (ingest/clicks/click-record.ts).
  maxLinkCost: fields.maxLinkCost.default(100),
  status: fields.status.default('active'),
  landingDomains: fields.landingDomains.default([]),
  attributionDays: fields.attributionDays.default(30),
});

/** No defaults here: a PATCH changes only what it names. */
export const campaignPatch = z
  .strictObject(fields)
  .partial()
  .refine((p) => Object.keys(p).length > 0, 'nothing to change');

export const campaign = campaignInput.extend({
  // A stored campaign is read (and shown) as it was saved: one saved before URLs were normalised,
  // or text was checked, must still load and be listed, so that it can be fixed; the click path
  // copes with its URL and the row encoder cleans its text.
  name: z.string(),
  trafficSource: z.string(),
  offerUrl: z.string(),
  fallbackUrl: z.string().optional(),
  id: objectId,
  createdAt: isoTimestamp,
  updatedAt: isoTimestamp,
});

export const campaignParams = z.object({ id: objectId });

export type CampaignInput = z.input<typeof campaignInput>;
export type Campaign = z.infer<typeof campaign>;
