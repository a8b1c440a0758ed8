import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import { adminPlugin } from '../admin/index.js';
import { alertsPlugin } from '../alerts/index.js';
import { analyticsPlugin } from '../analytics/index.js';
import type { Config } from '../core/config.js';
import { costsPlugin } from '../costs/index.js';
import { feedsPlugin } from '../feeds/index.js';
import { clicksPlugin } from '../ingest/clicks/index.js';
import { postbacksPlugin } from '../ingest/postbacks/index.js';
import { searchPlugin } from '../search/index.js';
import { outboundPlugin } from '../outbound/index.js';
import { spoolPlugin, type IngestPipeline } from '../ingest/spool/index.js';
import type { Warehouse } from '../warehouse/warehouse.js';
import { clientErrorAnswer, routerRefusal } from './error-handler.js';
import { healthRoute } from './health-route.js';
import { metricsRoute } from './metrics-route.js';
import { platformPlugin } from './platform.js';

const webDist = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../web/dist');

/**
 * The click redirect, the landing-page script and its visits, and the postback paths get no
 * security headers (server/platform.ts): they answer machines, redirects and other sites' pages
 * (a same-origin resource policy would block the script there), show no page that could run a
 * script, and are the hottest routes.
 */
const bareRoute = (url: string) => url.startsWith('/c/') || url.startsWith('/lp') || url.startsWith('/postback');

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
    frameworkErrors: routerRefusal,
    // Slow clients: headers (or a first byte) within KEYREV_HEADERS_TIMEOUT_MS, checked at least
    // once a second (Node's default check interval is 30 s). Node's requestTimeout stays off: it
    // would cut a long bulk stream; body time limits are the platform's (server/platform.ts).
    http: { headersTimeout: config.headersTimeoutMs, requestTimeout: 0, connectionsCheckingInterval: Math.min(1_000, config.headersTimeoutMs) },
    keepAliveTimeout: config.keepAliveTimeoutMs,
    clientErrorHandler: clientErrorAnswer(config.headersTimeoutMs),
  });
  // Past it Node closes new connections at once: file descriptors stay for the spool and ClickHouse.
  app.server.maxConnections = config.maxConnections;
  await app.register(platformPlugin, { config, bareRoute, ...(opts.warehouse ? { warehouse: opts.warehouse } : {}) });
  await app.register(adminPlugin, { ...config, adminKey: opts.adminKey });
  await app.register(spoolPlugin, config);
  await app.register(clicksPlugin, config);
  await app.register(searchPlugin, config);
  await app.register(postbacksPlugin, config);
  await app.register(analyticsPlugin, config);
  await app.register(alertsPlugin, config);
  await app.register(feedsPlugin, config);
  await app.register(costsPlugin, config);
  await app.register(outboundPlugin, config);
  await app.register(healthRoute);
  await app.register(metricsRoute, { requireKey: config.metricsAuth });
  if (fs.existsSync(path.join(webDist, 'index.html'))) {
    // Source maps are not built (web/vite.config.ts); one left in dist/ by an older build is not served either.
    await app.register(fastifyStatic, { root: webDist, prefix: '/', wildcard: false, allowedPath: (pathName) => !pathName.endsWith('.map') });
  }
  app.decorate('keyrev', { warehouse: app.warehouse, clicks: app.pipelines.get('clicks')!, postbacks: app.pipelines.get('postbacks')! });
  return app;
}
