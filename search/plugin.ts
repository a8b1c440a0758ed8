import fp from 'fastify-plugin';
import type { Config } from '../core/config.js';
import { loadLandingScript } from './landing-script.js';
import { scriptRoute } from './script-route.js';
import { visitRoute } from './visit-route.js';
import { Visits } from './visits.js';

export type SearchOptions = Pick<Config, 'countryHeader'>;

/**
 * Search ads under parallel tracking: the ad platform sends the visitor straight to the landing
 * page and loads the tracking link in the background, so the landing page learns keyrev's click
 * id from this module's script (GET /lp.js, POST /lp/:campaignId) instead of a redirect.
 */
export const searchPlugin = fp<SearchOptions>(
  async (app, config) => {
    const visits = new Visits({
      findCampaign: (id) => app.campaigns.find(id),
      tracker: app.clickTracker,
      platformClicks: app.platformClicks,
      lookupTimeoutMs: 1_500,
    });
    await app.register(scriptRoute, { script: loadLandingScript() });
    // A visitor's browser makes one request per ad click (the script keeps the id); 60 a minute
    // leaves room for offices behind one address and stops a loop or a flood.
    await app.register(visitRoute, { visits, countryHeader: config.countryHeader, perMinute: 60, metrics: app.metrics });
  },
  { name: 'keyrev-search', dependencies: ['keyrev-platform', 'keyrev-admin', 'keyrev-clicks'] },
);
