import fp from 'fastify-plugin';
import { ClickIdGenerator } from '../../core/click-id.js';
import type { Config } from '../../core/config.js';
import { parseVisitorIp } from '../../core/ip.js';
import { RecentPlatformClicks } from '../../core/platform-clicks.js';
import { findPlatformClicks } from '../../warehouse/platform-click-store.js';
import { WorkerClickEncoder } from './click-encoder.js';
import { clickRoute } from './click-route.js';
import { clickColumns } from './click-rows.js';
import { ClickTracker } from './click-tracker.js';
import { createEnricher } from './enrich.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Records clicks: the tracking link's, and the landing-page script's visits (search/). */
    clickTracker: ClickTracker;
  }
}

export type ClicksOptions = Pick<Config, 'nodeId' | 'fallbackUrl' | 'countryHeader' | 'geoDatabase' | 'ipStorage' | 'uniqueWindowMs'>;

/**
 * The click path: GET /c/:campaignId records each click in the spool and redirects; a worker
 * thread turns spooled clicks into ClickHouse rows (parsing, user agent, country, unique flag).
 */
export const clicksPlugin = fp<ClicksOptions>(
  async (app, config) => {
    const geo = config.geoDatabase ? { geoDatabase: config.geoDatabase } : {};
    const encoder = new WorkerClickEncoder({ ipStorage: config.ipStorage, uniqueWindowMs: config.uniqueWindowMs, ...geo });
    const clicks = app.pipelines.open({
      table: 'clicks',
      columns: clickColumns,
      encode: async (segment) => {
        const { data, skipped } = await encoder.encode(segment);
        // Counted once per segment: the pipeline encodes a segment once however often it is retried.
        if (skipped > 0) app.metrics.damagedLines.inc({ table: 'clicks' }, skipped);
        return data;
      },
    });
    // The pipeline ships what it can while the encoder still runs; then the encoder stops.
    app.addHook('onClose', async () => {
      await clicks.close();
      await encoder.close();
    });
    // An hour covers a background hit and its landing page, and a click's way into ClickHouse; the
    // bound keeps memory flat (~250 bytes an entry) under any traffic, ClickHouse answering the rest.
    const platformClicks = new RecentPlatformClicks({ maxAgeMs: 3_600_000, maxEntries: 200_000, lookUp: (ids) => findPlatformClicks(app.warehouse, ids) });
    app.decorate('platformClicks', platformClicks);
    let enrichForMacros: ReturnType<typeof createEnricher> | undefined;
    const tracker = new ClickTracker({
      findCampaign: (id) => app.campaigns.find(id),
      ids: new ClickIdGenerator(config.nodeId),
      spool: clicks.spool,
      countryOf: (ip, countryHint) => {
        enrichForMacros ??= createEnricher(geo);
        return enrichForMacros({ userAgent: '', ip: parseVisitorIp(ip), ...(countryHint === undefined ? {} : { countryHint }) }).country;
      },
      fallbackUrl: config.fallbackUrl,
      platformClicks,
    });
    app.decorate('clickTracker', tracker);
    await app.register(clickRoute, { tracker, metrics: app.metrics, countryHeader: config.countryHeader });
  },
  { name: 'keyrev-clicks', dependencies: ['keyrev-platform', 'keyrev-admin', 'keyrev-spool'] },
);
