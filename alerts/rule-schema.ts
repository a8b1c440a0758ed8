import { z } from 'zod';
import { isoTimestamp, objectId, plainText } from '../core/schemas.js';

export const conditions = ['no_sales', 'no_conversions', 'clicks_without_conversions', 'revenue_below', 'postback_failures'] as const;
export type Condition = (typeof conditions)[number];

const clock = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be a time of day such as 09:00');
const timeZone = z
  .string()
  .max(64)
  .refine((tz) => {
    try {
      new Intl.DateTimeFormat('en', { timeZone: tz });
      return true;
    } catch {
      return false;
    }
  }, 'must be an IANA time zone such as Europe/Berlin');

/** Alerts start only between `from` and `to` local time (to < from: across midnight). */
export const activeHours = z.strictObject({ from: clock, to: clock, tz: timeZone.default('UTC') });

const fields = {
  name: plainText(200).min(1),
  condition: z.enum(conditions),
  campaignId: objectId.optional(),
  source: plainText(100).min(1).optional(),
  keyword: plainText(512).min(1).optional(),
  /** The window the condition looks back over, ending at each check. */
  windowMinutes: z.number().int().min(1).max(30 * 24 * 60),
  /** revenue_below: the revenue (account currency); postback_failures: the failed share, 0-1. */
  threshold: z.number().min(0).max(1e12).optional(),
  /** The clicks the scope must have in the window before a missing sale or conversion counts (default 1). */
  minClicks: z.number().int().min(1).max(1e9).optional(),
  activeHours: activeHours.optional(),
  channels: z.array(objectId).min(1).max(20),
  enabled: z.boolean().default(true),
};

export const ruleInput = z.strictObject(fields).superRefine((r, ctx) => {
  const need = (ok: boolean, path: string, message: string) => ok || ctx.addIssue({ code: 'custom', path: [path], message });
  if (r.condition === 'revenue_below') need(r.threshold !== undefined, 'threshold', 'revenue_below needs a threshold');
  if (r.condition === 'postback_failures') {
    need(r.threshold !== undefined && r.threshold > 0 && r.threshold <= 1, 'threshold', 'postback_failures needs a threshold: the failed share, above 0 and at most 1');
    // Refused postbacks belong to no campaign (many are refused for naming none).
    need(r.campaignId === undefined && r.source === undefined && r.keyword === undefined, 'condition', 'postback_failures counts all postbacks: it takes no campaignId, source or keyword');
  }
  if (r.condition === 'clicks_without_conversions') need(r.minClicks !== undefined, 'minClicks', 'clicks_without_conversions needs minClicks');
  need(new Set(r.channels).size === r.channels.length, 'channels', 'a channel is named twice');
});
export type RuleInput = z.output<typeof ruleInput>;

export const rule = z.object({
  ...fields,
  name: z.string(),
  source: z.string().optional(),
  keyword: z.string().optional(),
  id: objectId,
  createdAt: isoTimestamp,
});
export type Rule = z.infer<typeof rule>;

export const ruleParams = z.object({ id: objectId });
