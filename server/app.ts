import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import { adminPlugin } from '../admin/index.js';
import { analyticsPlugin } from '../analytics/index.js';
import type { Config } from '../core/config.js';
import { clicksPlugin } from '../ingest/clicks/index.js';
import { postbacksPlugin } from '../ingest/postbacks/index.js';
import { spoolPlugin, type IngestPipeline } from '../ingest/spool/index.js';
import type { Warehouse } from '../warehouse/warehouse.js';
import { healthRoute } from './health-route.js';
import { metricsRoute } from './metrics-route.js';
import { platformPlugin } from './platform.js';

const webDist = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../web/dist');

/** What tests and benches reach through `app.keyrev`. */
export interface KeyrevHandle {
  warehouse: Warehouse;
  clicks: IngestPipeline;
  postbacks: IngestPipeline;
}

declare module 'fastify' {
  interface FastifyInstance {
    keyrev: KeyrevHandle;
  }
}

export interface AppOptions {
  config: Config;
  adminKey: string;
  /** A warehouse opened by the caller (kept open on close); by default the app opens its own. */
  warehouse?: Warehouse;
  logger?: boolean;
}

/**
 * Builds the whole keyrev app on one Fastify instance: one plugin per capability, each owning its
 * routes, stores, jobs and close hooks. A new capability is a new line here.
 */
export async function buildApp(opts: AppOptions): Promise<FastifyInstance> {
  const { config } = opts;
  const app = Fastify({
    logger: opts.logger === false ? false : { level: config.logLevel },
    // A line per request would cost more than the click redirect itself; /metrics counts them.
    logController: new LogController({ disableRequestLogging: true }),
    // X-Forwarded-For is believed only from these proxies (KEYREV_TRUST_PROXY), so visitors cannot spoof their address.
    trustProxy: config.trustProxy,
    bodyLimit: 1024 * 1024,
    routerOptions: { maxParamLength: 200 },
  });
  await app.register(platformPlugin, { config, ...(opts.warehouse ? { warehouse: opts.warehouse } : {}) });
  await app.register(adminPlugin, { ...config, adminKey: opts.adminKey });
  await app.register(spoolPlugin, config);
  await app.register(clicksPlugin, config);
  await app.register(postbacksPlugin, config);
  await app.register(analyticsPlugin);
  await app.register(healthRoute);
  await app.register(metricsRoute);
  if (fs.existsSync(path.join(webDist, 'index.html'))) {
    await app.register(fastifyStatic, { root: webDist, prefix: '/', wildcard: false });
  }
  app.decorate('keyrev', { warehouse: app.warehouse, clicks: app.pipelines.get('clicks')!, postbacks: app.pipelines.get('postbacks')! });
  return app;
}
