import fp from 'fastify-plugin';
import type { Config } from '../core/config.js';
import { ClickIdGenerator } from '../core/click-id.js';
import { costRoute } from './cost-route.js';

/** Ad spend imported from the ad platforms' keyword reports: uploads, replace by day, undo. */
export const costsPlugin = fp<Pick<Config, 'nodeId'>>(
  async (app, config) => {
    // Upload order: time-ordered ids, unique across keyrev processes (KEYREV_NODE_ID).
    const seq = new ClickIdGenerator(config.nodeId);
    await app.register(costRoute, { auth: app.auth, warehouse: app.warehouse, rates: app.rates, seq, campaignExists: (id) => app.campaigns.find(id) !== undefined });
  },
  { name: 'keyrev-costs', dependencies: ['keyrev-platform', 'keyrev-admin', 'keyrev-analytics'] },
);
