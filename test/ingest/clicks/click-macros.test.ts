import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Campaign } from '../../../admin/campaign-schema.js';
import { ClickIdGenerator } from '../../../core/click-id.js';
import { mapClickParams } from '../../../ingest/clicks/click-params.js';
import { clickQueryLimits } from '../../../ingest/clicks/click-rows.js';
import { ClickTracker, offerMacros } from '../../../ingest/clicks/click-tracker.js';
import { fillMacros } from '../../../ingest/clicks/macros.js';
import { parseQuery } from '../../../core/query-string.js';
import type { Spool } from '../../../ingest/spool/spool.js';

const template = 'https://o.example/?k={keyword}&a={ad}&m={matchtype}&c={cost}&x={custom}&s={sub1}';
const campaign: Campaign = {
  id: 'camp1',
  name: 'c',
  offerUrl: template,
  trafficSource: '',
  costModel: 'cpc',
  costValue: 0.5,
  status: 'active',
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
};
const noSpool = { append: async () => true } as unknown as Spool;

describe('offer macros on the redirect path', () => {
  it('give the values the stored row will have, for any query', async () => {
    const tracker = new ClickTracker({ findCampaign: () => campaign, ids: new ClickIdGenerator(0), spool: noSpool, countryOf: () => '', fallbackUrl: undefined });
    const key = fc.constantFrom('kw', 'keyword', 'KW', 'keyword_text', 'ad', 'creative', 'matchtype', 'cost', 'COST', 'custom', 'sub1', 'x', 'k%77');
    const value = fc.constantFrom('', 'shoes', '{keyword}', 'c%2B%2B', 'a+b', '%E0%A4%A', '1,5', 'abc', '[sub1]', 'x'.repeat(600));
    const query = fc.array(fc.tuple(key, value), { maxLength: 12 }).map((pairs) => pairs.map(([k, v]) => `${k}=${v}`).join('&'));
    await fc.assert(
      fc.asyncProperty(query, async (rawQuery) => {
        const { location } = await tracker.track({ campaignId: 'camp1', rawQuery, ip: '', userAgent: '', referrer: '', countryHint: undefined });
        const { fields, extra, cost } = mapClickParams(parseQuery(rawQuery, clickQueryLimits).params);
        const stored: Record<string, string | undefined> = {
          keyword: fields.keyword || undefined,
          ad: fields.ad || undefined,
          matchtype: fields.match_type || undefined,
          sub1: fields.sub1 || undefined,
          cost: cost ?? '0.500000',
          custom: extra.custom,
        };
        expect(location).toBe(fillMacros(template, (n) => stored[n], offerMacros));
      }),
      { numRuns: 500 },
    );
  });
});
