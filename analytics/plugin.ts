import fp from 'fastify-plugin';
import { clickLookupRoute } from './click-lookup-route.js';
import { conversionLogRoute } from './conversion-log-route.js';
import { reportMetaRoute } from './report-meta-route.js';
import { reportRoute } from './report-route.js';
import { loadTimeZones } from './time-zones.js';

/** Reports, time series, exports, the report metadata (dimensions, metrics), the conversion log and click lookups (report or admin key). */
export const analyticsPlugin = fp(
  async (app) => {
    const { warehouse, auth } = app;
    await loadTimeZones(warehouse);
    await app.register(clickLookupRoute, { warehouse, auth });
    await app.register(conversionLogRoute, { warehouse, auth });
    await app.register(reportRoute, { warehouse, auth });
    await app.register(reportMetaRoute, { auth });
  },
  { name: 'keyrev-analytics', dependencies: ['keyrev-platform', 'keyrev-admin'] },
);
