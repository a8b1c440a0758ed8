import type { Readable } from 'node:stream';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Auth, CurrencyRates } from '../admin/index.js';
import type { ClickIdGenerator } from '../core/click-id.js';
import { fail } from '../core/errors.js';
import { listCostUploads } from '../warehouse/cost-store.js';
import type { Warehouse } from '../warehouse/warehouse.js';
import { deleteCostUpload, importCosts } from './cost-import.js';
import { costUploadLimits, csvLines, ndjsonLines } from './cost-parse.js';
import { costUploadParams, costUploadQuery, costUploadResult, costUploadView } from './cost-schema.js';

export interface CostRouteOptions {
  auth: Auth;
  warehouse: Warehouse;
  rates: CurrencyRates;
  seq: ClickIdGenerator;
  campaignExists: (id: string) => boolean;
}

const csvTypes = ['text/csv', 'application/csv', 'text/comma-separated-values', 'text/tab-separated-values'];
const ndjsonTypes = ['application/x-ndjson', 'application/jsonl'];

const uploadHelp = [
  "A keyword report of Google Ads or Microsoft Advertising as CSV (Content-Type text/csv), or NDJSON (application/x-ndjson) lines {date, keyword, matchType?, adgroup?, ad?, spend, currency?}.",
  'CSV columns are found by name (case and spacing ignored): Day/Date/TimePeriod, Keyword, Match type/BidMatchType, Ad group/AdGroupName/Ad group ID/AdGroupId, Ad ID, Cost/Spend, Currency code/CurrencyCode; ' +
    'title lines before the header, totals rows and footers are skipped; 1,234.56 and 1.234,56 are read; comma, semicolon or tab separated.',
  `Streamed: at most ${costUploadLimits.maxBytes / 1024 / 1024} MB, ${costUploadLimits.maxRows} rows and ${costUploadLimits.maxLineBytes / 1024} KB per line (past one: 413 and nothing changes). ` +
    'Bad lines are answered with their line number and reason; good lines are kept. ' +
    "Replace, never add: the upload replaces the campaign's spend of every day it has rows for (earlier uploads of those days stop counting; deleting this upload brings them back).",
].join('\n\n');

/** /api/costs: ad spend uploads, their list and undo (admin key). */
export const costRoute: FastifyPluginAsyncZod<CostRouteOptions> = async (app, { auth, warehouse, rates, seq, campaignExists }) => {
  app.addHook('onRequest', auth.admin);
  app.removeAllContentTypeParsers();
  app.addContentTypeParser([...csvTypes, ...ndjsonTypes], (_req, payload, done) => done(null, payload));
  const tags = ['costs'];

  app.post(
    '/api/costs',
    { schema: { tags, summary: 'Import ad spend from a keyword report (CSV or NDJSON)', description: uploadHelp, querystring: costUploadQuery, response: { 200: costUploadResult } } },
    async (req) => {
      if (!campaignExists(req.query.campaign)) fail('KR_NOT_FOUND', `no campaign ${req.query.campaign}`);
      if (req.body === undefined) fail('KR_UNSUPPORTED_MEDIA_TYPE', 'send the report as Content-Type: text/csv or application/x-ndjson');
      const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
      const body = req.body as Readable;
      const lines = ndjsonTypes.includes(type) ? ndjsonLines(body) : csvLines(body);
      return importCosts({ warehouse, rates, seq }, { campaignId: req.query.campaign, tz: req.query.tz, currency: req.query.currency }, lines);
    },
  );

  app.get('/api/costs/uploads', { schema: { tags, summary: 'The cost uploads in force or replaced, newest first (deleted ones are left out)', response: { 200: z.object({ uploads: z.array(costUploadView) }) } } }, async () => ({
    uploads: (await listCostUploads(warehouse)).map((u) => ({
      id: u.upload_id,
      campaign: u.campaign_id,
      tz: u.tz,
      days: u.days,
      rows: Number(u.rows),
      matched: Number(u.matched),
      spend: Number(u.spend),
      currency: u.currency,
      createdAt: u.created_at,
    })),
  }));

  app.delete(
    '/api/costs/uploads/:id',
    { schema: { tags, summary: 'Undo a cost upload: its days fall back to the uploads before it, or to the click costs', params: costUploadParams } },
    async (req, reply) => {
      await deleteCostUpload({ warehouse, seq }, req.params.id);
      return reply.status(204).send();
    },
  );
};
