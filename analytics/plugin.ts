import fp from 'fastify-plugin';
import type { Config } from '../core/config.js';
import { clickLookupRoute } from './click-lookup-route.js';
import { conversionLogRoute } from './conversion-log-route.js';
import { reportMetaRoute } from './report-meta-route.js';
import { reportRoute } from './report-route.js';
import { loadTimeZones } from './time-zones.js';

/** Reports, time series, exports, the report metadata (dimensions, metrics), the conversion log and click lookups (report or admin key). */
export const analyticsPlugin = fp<Pick<Config, 'dataDir' | 'maxConcurrentExports' | 'exportMinFreeBytes'>>(
  async (app, config) => {
    const { warehouse, auth } = app;
    await loadTimeZones(warehouse);
    await app.register(clickLookupRoute, { warehouse, auth });
    await app.register(conversionLogRoute, { warehouse, auth });
    // The embedded engine writes each export into the data directory first; a ClickHouse server writes nothing here.
    const spillDir = warehouse.kind === 'embedded' ? config.dataDir : undefined;
    await app.register(reportRoute, { warehouse, auth, exports: { maxConcurrent: config.maxConcurrentExports, minFreeBytes: config.exportMinFreeBytes, spillDir } });
    await app.register(reportMetaRoute, { auth });
  },
  { name: 'keyrev-analytics', dependencies: ['keyrev-platform', 'keyrev-admin'] },
);
