import fp from 'fastify-plugin';
import type { Config } from '../core/config.js';
import { csvText } from '../analytics/index.js';
import { feedFileRoute } from './feed-file-route.js';
import { feedRoute } from './feed-route.js';
import { storedFeed } from './feed-schema.js';
import { Feeds } from './feeds.js';

/** Ad-platform conversion feeds: offline-conversion CSVs Google Ads and Microsoft Advertising fetch with basic auth. */
export const feedsPlugin = fp<Pick<Config, 'currency'>>(
  async (app, config) => {
    const feeds = new Feeds(await app.settings.open('feeds', storedFeed));
    await app.register(feedRoute, { feeds, auth: app.auth });
    await app.register(feedFileRoute, { feeds, warehouse: app.warehouse, accountCurrency: config.currency, textCell: csvText });
  },
  { name: 'keyrev-feeds', dependencies: ['keyrev-platform', 'keyrev-admin'] },
);
