import { z } from 'zod';
import { conversionStatuses } from '../core/conversion.js';
import { headerValue, httpHeaders, httpUrlWithMacros, isoTimestamp, objectId, plainText } from '../core/schemas.js';
import { jsonTemplateProblem, macroProblem } from './macros.js';

const withMacros = <T extends z.ZodType<string>>(schema: T) =>
  schema.superRefine((value, ctx) => {
    const problem = macroProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

const fields = {
  name: plainText(200),
  scope: z.enum(['global', 'source', 'campaign']),
  /** The traffic source (as the campaign's `trafficSource`) of scope `source`. */
  source: plainText(100).min(1),
  /** The campaign of scope `campaign`. */
  campaignId: objectId,
  url: withMacros(httpUrlWithMacros),
  method: z.enum(['GET', 'POST']),
  /** How a POST body template is read and filled: JSON (values JSON-escaped) or a form (values form-encoded). */
  bodyType: z.enum(['json', 'form']),
  body: withMacros(z.string().max(16_384)),
  headers: httpHeaders(withMacros(headerValue)),
  /** The statuses that fire this rule. */
  statuses: z
    .array(z.enum(conversionStatuses))
    .min(1)
    .max(conversionStatuses.length)
    .refine((s) => new Set(s).size === s.length, 'a status is named twice'),
  /** The share of the payout sent as {payout}, in percent. */
  payoutPercent: z.number().min(0).max(1000),
  /** HMAC-SHA256 key: the body (POST) or the URL (GET) is signed in X-Keyrev-Signature. Write-only. */
  signingKey: z.string().min(16).max(200),
  enabled: z.boolean(),
};

type RuleShape = {
  scope: 'global' | 'source' | 'campaign';
  source?: string | undefined;
  campaignId?: string | undefined;
  method: 'GET' | 'POST';
  bodyType: 'json' | 'form';
  body?: string | undefined;
};

/** What no single field can say: the scope's own field, a body only on POST and, for JSON, JSON. */
export function ruleProblem(r: RuleShape): { path: string; message: string } | undefined {
  if (r.scope === 'source' && r.source === undefined) return { path: 'source', message: 'is required for scope source' };
  if (r.scope === 'campaign' && r.campaignId === undefined) return { path: 'campaignId', message: 'is required for scope campaign' };
  if (r.scope !== 'source' && r.source !== undefined) return { path: 'source', message: `is only for scope source` };
  if (r.scope !== 'campaign' && r.campaignId !== undefined) return { path: 'campaignId', message: `is only for scope campaign` };
  if (r.body !== undefined && r.body !== '' && r.method === 'GET') return { path: 'body', message: 'a GET has no body: set method POST' };
  if (r.body !== undefined && r.bodyType === 'json') {
    const problem = jsonTemplateProblem(r.body);
    if (problem) return { path: 'body', message: problem };
  }
  return undefined;
}

const checked = <T extends z.ZodType<RuleShape>>(schema: T) =>
  schema.superRefine((r, ctx) => {
    const problem = ruleProblem(r);
    if (problem) ctx.addIssue({ code: 'custom', path: [problem.path], message: problem.message });
  });

const inputObject = z.strictObject({
  name: fields.name.optional(),
  scope: fields.scope,
  source: fields.source.optional(),
  campaignId: fields.campaignId.optional(),
  url: fields.url,
  method: fields.method.default('GET'),
  bodyType: fields.bodyType.default('json'),
  body: fields.body.optional(),
  headers: fields.headers.default({}),
  statuses: fields.statuses.default(['sale']),
  payoutPercent: fields.payoutPercent.default(100),
  signingKey: fields.signingKey.optional(),
  enabled: fields.enabled.default(true),
});

export const ruleInput = checked(inputObject);

/**
 * A PATCH names what changes; the result is checked as a whole again. `signingKey: null` removes
 * the key; a header sent back with the masked value keeps its stored value.
 */
export const rulePatch = z
  .strictObject({ ...inputObject.shape, signingKey: fields.signingKey.nullable() })
  .omit({ scope: true })
  .partial()
  .extend({
    scope: fields.scope.optional(),
    source: fields.source.nullable().optional(),
    campaignId: fields.campaignId.nullable().optional(),
    headers: fields.headers.optional(),
  })
  .refine((p) => Object.keys(p).length > 0, 'nothing to change');

// Stored rules are read as saved, so a rule saved by another version still loads.
export const rule = inputObject.extend({ id: objectId, createdAt: isoTimestamp, updatedAt: isoTimestamp });

export const ruleView = rule.omit({ signingKey: true }).extend({ hasSigningKey: z.boolean() });

export const ruleParams = z.object({ id: objectId });

export const ruleReplayInput = z.strictObject({
  from: isoTimestamp,
  to: isoTimestamp,
  /** Send again the conversions this rule delivered already, too (by default only the ones it has not delivered). */
  resend: z.boolean().default(false),
});

export type Rule = z.infer<typeof rule>;
export type RuleView = z.infer<typeof ruleView>;
export type RuleInput = z.output<typeof ruleInput>;
export type RulePatch = z.output<typeof rulePatch>;
