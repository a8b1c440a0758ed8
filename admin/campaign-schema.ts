import { z } from 'zod';
import { httpUrlWithMacros, isoTimestamp, objectId } from '../server/schemas.js';

export const costModels = ['none', 'cpc', 'cpm', 'cpa', 'revshare'] as const;

export const campaignInput = z.strictObject({
  name: z.string().trim().min(1).max(200),
  offerUrl: httpUrlWithMacros,
  trafficSource: z.string().trim().max(100).default(''),
  /** How cost is counted when a click does not pass `cost=`: per click (cpc), per 1,000 clicks (cpm). */
  costModel: z.enum(costModels).default('none'),
  costValue: z.number().min(0).max(1_000_000).default(0),
  fallbackUrl: httpUrlWithMacros.optional(),
  status: z.enum(['active', 'paused']).default('active'),
});

export const campaignPatch = campaignInput.partial().refine((p) => Object.keys(p).length > 0, 'nothing to change');

export const campaign = campaignInput.extend({
  id: objectId,
  createdAt: isoTimestamp,
  updatedAt: isoTimestamp,
});

export const campaignParams = z.object({ id: objectId });

export type CampaignInput = z.input<typeof campaignInput>;
export type Campaign = z.infer<typeof campaign>;
