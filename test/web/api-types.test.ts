import fs from 'node:fs';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { apiTypesFile, generateApiTypes } from '../../scripts/gen-api-types.js';
import type { ErrorBody } from '../../server/error-handler.js';
import type { ApiErrorBody } from '../../web/src/api.js';
import type { ReportMeta } from '../../web/src/report-types.js';
import type { Dimension } from '../../analytics/dimensions.js';
import type { Metric } from '../../analytics/report-metrics.js';

// Type-level checks, failed by `tsc -p .` (which `npm test` runs first) rather than by vitest: the
// dashboard's types, taken from the generated file, say what the server's code says.
// The error body generated from the meta route's 401 is the one the error handler sends.
expectTypeOf<ApiErrorBody>().toEqualTypeOf<ErrorBody>();
// Dimension and metric names come out as the unions of analytics, not as plain strings.
expectTypeOf<ReportMeta['dimensions'][number]['name']>().toEqualTypeOf<Dimension>();
expectTypeOf<ReportMeta['metrics'][number]['name']>().toEqualTypeOf<Metric>();
expectTypeOf<ReportMeta['metrics'][number]['kind']>().toEqualTypeOf<'count' | 'money' | 'ratio'>();

describe('web/src/api-types.ts', () => {
  it('is what openapi-typescript makes of the current OpenAPI document', async () => {
    const fresh = await generateApiTypes();
    // The paths the dashboard reads must be there, or the comparison below could pass on a broken generator.
    for (const route of ['"/api/report"', '"/api/report/meta"', '"/api/campaigns"']) expect(fresh).toContain(`${route}: {`);
    const committed = fs.readFileSync(apiTypesFile, 'utf8');
    // Not toEqual on the texts: a 1,500-line diff would bury the one thing to do.
    if (committed !== fresh) {
      const line = committed.split('\n').findIndex((l, i) => l !== fresh.split('\n')[i]) + 1;
      expect.fail(`web/src/api-types.ts is stale (first difference at line ${line}): run \`npm run gen:api-types\` and commit the result`);
    }
  }, 120_000);

});
