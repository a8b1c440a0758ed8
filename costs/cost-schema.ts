import { z } from 'zod';
import { timeRangeFields } from '../analytics/index.js';
import { currencyCode, objectId } from '../core/schemas.js';

export const costUploadQuery = z.strictObject({
  campaign: objectId.describe("the campaign the spend belongs to (the report's rows are matched to its clicks)"),
  tz: timeRangeFields.tz.describe("the time zone of the report's days (the ad account's zone); default UTC"),
  currency: currencyCode.optional().describe('the currency of rows without a currency column; default the account currency (KEYREV_CURRENCY)'),
});

const lineReason = z.object({ line: z.number(), reason: z.string() });

export const costUploadResult = z.object({
  uploadId: z.string().nullable().describe('null when no line was kept (nothing changed)'),
  rows: z.number().describe('lines kept'),
  matched: z.number().describe('kept lines that match clicks of the campaign'),
  unmatched: z.array(lineReason).describe('kept lines without a matching click (their spend is kept and shown as unmatched), at most 1000'),
  rejected: z.array(lineReason).describe('lines refused, with the reason, at most 1000'),
  rejectedRows: z.number(),
  days: z.array(z.string()).describe("the days (in tz) the upload replaces"),
  spend: z.number().describe('spend of the kept lines, in the account currency'),
  currency: z.string(),
});

export const costUploadView = z.object({
  id: z.string(),
  campaign: z.string(),
  tz: z.string(),
  days: z.array(z.string()),
  rows: z.number(),
  matched: z.number(),
  spend: z.number(),
  currency: z.string(),
  createdAt: z.string(),
});

export const costUploadParams = z.object({ id: objectId });
