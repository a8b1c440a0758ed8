import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { apiKeyRoute } from '../admin/api-key-route.js';
import { storedApiKey } from '../admin/api-key-schema.js';
import { ApiKeys } from '../admin/api-keys.js';
import { campaignRoute } from '../admin/campaign-route.js';
import { clickLookupRoute } from '../analytics/click-lookup-route.js';
import { conversionLogRoute } from '../analytics/conversion-log-route.js';
import { reportRoute } from '../analytics/report-route.js';
import { campaign } from '../admin/campaign-schema.js';
import { Campaigns } from '../admin/campaigns.js';
import { CurrencyRates, currencyRatesDoc, currencyRatesInput } from '../admin/currency-rates.js';
import { networkRoute } from '../admin/network-route.js';
import { network } from '../admin/network-schema.js';
import { Networks } from '../admin/networks.js';
import { ConversionLedger, conversionKey } from '../ingest/postbacks/conversion-ledger.js';
import { postbackBulkRoute } from '../ingest/postbacks/postback-bulk-route.js';
import { PostbackLog } from '../ingest/postbacks/postback-log.js';
import { postbackLogRoute } from '../ingest/postbacks/postback-log-route.js';
import { postbackRoute } from '../ingest/postbacks/postback-route.js';
import { PostbackIngest } from '../ingest/postbacks/postback-ingest.js';
import { findConversionStates, loadConversionStates } from '../warehouse/conversion-store.js';
import { StartupError } from '../core/errors.js';
import { ClickIdGenerator, clickIdMs } from '../core/click-id.js';
import { clickRoute } from '../ingest/clicks/click-route.js';
import { ClickTracker } from '../ingest/clicks/click-tracker.js';
import { createEnricher } from '../ingest/clicks/enrich.js';
import { parseVisitorIp } from '../core/ip.js';
import { WorkerRowEncoder } from '../ingest/clicks/click-encoder.js';
import { createInsertLock, openPipeline, type IngestPipeline } from '../ingest/spool/pipeline.js';
import { postbackColumns } from '../ingest/postbacks/postback-row.js';
import { clickColumns } from '../ingest/clicks/click-rows.js';
import { migrate } from '../schema/migrate.js';
import { openWarehouse } from '../warehouse/open.js';
import { SettingsStore } from '../warehouse/settings-store.js';
import type { Warehouse } from '../warehouse/warehouse.js';
import { createAuth } from '../admin/auth.js';
import type { Config } from '../core/config.js';
import { installErrorHandler } from './error-handler.js';
import { healthRoute } from './health-route.js';
import { countRequests, createMetrics } from '../core/metrics.js';
import { metricsRoute } from './metrics-route.js';

const webDist = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../web/dist');

/** What tests, benches and later plugins reach through `app.keyrev`. */
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

/** Builds the whole keyrev app: ingest, admin and analytics APIs, dashboard, on one Fastify instance. */
export async function buildApp(opts: AppOptions): Promise<FastifyInstance> {
  const { config } = opts;
  const warehouse = opts.warehouse ?? (await openWarehouse(config));
  const { current: schemaVersion } = await migrate(warehouse);

  const campaignStore = new SettingsStore(warehouse, 'campaigns', campaign);
  const keyStore = new SettingsStore(warehouse, 'api_keys', storedApiKey);
  const networkStore = new SettingsStore(warehouse, 'networks', network);
  const ratesStore = new SettingsStore(warehouse, 'account_settings', currencyRatesDoc);
  const stores = [campaignStore, keyStore, networkStore, ratesStore];
  await Promise.all(stores.map((s) => s.refresh()));
  const rates = new CurrencyRates(config.currency, ratesStore);
  if (config.ratesFile) await rates.replace(readRatesFile(config.ratesFile));

  const campaigns = new Campaigns(campaignStore);
  const apiKeys = new ApiKeys(keyStore);
  const auth = createAuth(opts.adminKey, apiKeys);
  const metrics = createMetrics();

  const app = Fastify({
    logger: opts.logger === false ? false : { level: config.logLevel },
    // A line per request would cost more than the click redirect itself; /metrics counts them.
    logController: new LogController({ disableRequestLogging: true }),
    // X-Forwarded-For is believed only from these proxies (KEYREV_TRUST_PROXY), so visitors cannot spoof their address.
    trustProxy: config.trustProxy,
    bodyLimit: 1024 * 1024,
    routerOptions: { maxParamLength: 200 },
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  installErrorHandler(app, metrics);
  countRequests(app, metrics);

  await app.register(fastifySwagger, {
    openapi: {
      info: { title: 'keyrev API', version: '0.1.0', description: 'Keyword and ad attribution: clicks, postbacks, reports.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    transform: jsonSchemaTransform,
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  await app.register(metricsRoute, { metrics });
  await app.register(campaignRoute, { campaigns, auth });
  await app.register(apiKeyRoute, { apiKeys, auth });

  const geo = config.geoDatabase ? { geoDatabase: config.geoDatabase } : {};
  const rowEncoder = new WorkerRowEncoder({ ipStorage: config.ipStorage, uniqueWindowMs: config.uniqueWindowMs, ...geo });
  const insertLock = createInsertLock();
  const clicks = openPipeline(
    {
      table: 'clicks',
      columns: clickColumns,
      insertLock,
      dataDir: config.dataDir,
      maxTotalBytes: config.spoolMaxBytes,
      flushIntervalMs: config.flushIntervalMs,
      encode: async (segment) => (await rowEncoder.encode(segment)).data,
    },
    warehouse,
    metrics,
    app.log,
  );
  let enrichForMacros: ReturnType<typeof createEnricher> | undefined;
  const tracker = new ClickTracker({
    findCampaign: (id) => campaigns.find(id),
    ids: new ClickIdGenerator(config.nodeId),
    spool: clicks.spool,
    countryOf: (ip, countryHint) => {
      enrichForMacros ??= createEnricher(geo);
      return enrichForMacros({ userAgent: '', ip: parseVisitorIp(ip), ...(countryHint === undefined ? {} : { countryHint }) }).country;
    },
    fallbackUrl: config.fallbackUrl,
  });
  await app.register(clickRoute, { tracker, metrics, countryHeader: config.countryHeader });
  await app.register(clickLookupRoute, { warehouse, auth });
  await app.register(conversionLogRoute, { warehouse, auth });
  await app.register(reportRoute, { warehouse, auth });

  // Postbacks are decided against the conversions as they stand: first what a previous run left
  // in the spool goes into ClickHouse, then the ledger is loaded from it.
  const postbacks = openPipeline(
    {
      table: 'postbacks',
      columns: postbackColumns,
      insertLock,
      dataDir: config.dataDir,
      maxTotalBytes: config.spoolMaxBytes,
      flushIntervalMs: config.flushIntervalMs,
    },
    warehouse,
    metrics,
    app.log,
  );
  await postbacks.flusher.drain();
  const ledger = new ConversionLedger(rates, {
    maxEntries: config.ledgerMaxConversions,
    // The spool counts a record from its append, made in the same turn as its decision; the
    // seconds of margin only cover the postback ids' clock.
    unflushedSince: () => Date.now() - Math.max(postbacks.spool.stats().oldestAgeMs, 5_000),
  });
  metrics.observeLedger(ledger);
  const loaded = await loadConversionStates(warehouse, config.ledgerMaxConversions, (clickId, type, txid, state) =>
    ledger.load(conversionKey(clickId, type, txid), state, clickIdMs(clickId)),
  );
  // Only the newest conversions were loaded: older clicks' keys are looked up when they come.
  if (loaded.truncated && loaded.oldestClickId !== undefined) ledger.forgetBefore(clickIdMs(loaded.oldestClickId) + 1);
  const postbackLog = new PostbackLog();
  const ingest = new PostbackIngest({
    findNetwork: (slug) => networkStore.get(slug),
    globalSecret: config.postbackSecret,
    ids: new ClickIdGenerator(config.nodeId),
    ledger,
    findConversions: (clickIds) => findConversionStates(warehouse, clickIds),
    rates,
    spool: postbacks.spool,
    keepPace: (maxBacklogBytes) => postbacks.flusher.keepPace(maxBacklogBytes),
    log: postbackLog,
    metrics,
  });
  await app.register(postbackRoute, { ingest });
  await app.register(postbackBulkRoute, { ingest, auth, maxBytes: config.bulkMaxBytes });
  await app.register(networkRoute, { networks: new Networks(networkStore), rates, auth });
  await app.register(postbackLogRoute, { log: postbackLog, auth });
  await app.register(healthRoute, { warehouse, schemaVersion, spools: { clicks: clicks.spool, postbacks: postbacks.spool } });
  app.decorate('keyrev', { warehouse, clicks, postbacks });

  if (fs.existsSync(path.join(webDist, 'index.html'))) {
    await app.register(fastifyStatic, { root: webDist, prefix: '/', wildcard: false });
  }

  // Other processes (server mode) may change settings; pick their changes up.
  const refresher = setInterval(() => {
    Promise.all(stores.map((s) => s.refresh())).catch((err: unknown) =>
      app.log.warn({ err }, 'settings refresh failed; serving the cached settings'),
    );
  }, config.settingsRefreshMs);
  refresher.unref();

  app.addHook('onClose', async () => {
    clearInterval(refresher);
    await Promise.all([clicks.close(), postbacks.close()]);
    await rowEncoder.close();
    if (!opts.warehouse) await warehouse.close();
  });
  return app;
}

function readRatesFile(file: string) {
  let parsed;
  try {
    parsed = currencyRatesInput.safeParse(JSON.parse(fs.readFileSync(file, 'utf8')));
  } catch (err) {
    throw new StartupError(`invalid KEYREV_RATES_FILE: ${(err as Error).message.split('\n')[0]}`);
  }
  if (!parsed.success) throw new StartupError(`invalid KEYREV_RATES_FILE: ${parsed.error.issues[0]!.path.join('.')}: ${parsed.error.issues[0]!.message}`);
  return parsed.data;
}
