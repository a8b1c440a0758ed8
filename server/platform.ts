import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import fp from 'fastify-plugin';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { Config } from '../core/config.js';
import { EventBus, type KeyrevEvents } from '../core/events.js';
import { JobRunner } from '../core/jobs.js';
import { countRequests, createMetrics } from '../core/metrics.js';
import { migrate } from '../schema/migrate.js';
import { openWarehouse } from '../warehouse/open.js';
import { SettingsStores } from '../warehouse/settings-store.js';
import type { Warehouse } from '../warehouse/warehouse.js';
import { installErrorHandler } from './error-handler.js';

export interface PlatformOptions {
  config: Config;
  /** A warehouse opened by the caller (kept open on close); by default the app opens its own. */
  warehouse?: Warehouse;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The schema version the warehouse was migrated to at start. */
    schemaVersion: number;
  }
}

/**
 * What every module stands on: validation and the one error handler, metrics, the warehouse
 * (opened, migrated, closed last), settings stores, the job runner and the event bus, and the
 * OpenAPI document the routes' zod schemas make.
 */
export const platformPlugin = fp<PlatformOptions>(
  async (app, { config, warehouse: given }) => {
    app.setValidatorCompiler(validatorCompiler);
    app.setSerializerCompiler(serializerCompiler);
    const metrics = createMetrics();
    installErrorHandler(app, metrics);
    countRequests(app, metrics);

    const warehouse = given ?? (await openWarehouse(config));
    // Registered first, so it runs last: every module has shipped its spool by then.
    app.addHook('onClose', async () => {
      if (!given) await warehouse.close();
    });
    const { current } = await migrate(warehouse);
    const settings = new SettingsStores(warehouse);
    const jobs = new JobRunner({
      clusterJobs: config.clusterJobs,
      onError: (job, err) => app.log.warn({ err, job }, 'job failed; it runs again at its next interval'),
    });
    jobs.add({ name: 'settings-refresh', scope: 'process', everyMs: config.settingsRefreshMs, run: () => settings.refresh() });
    app.addHook('onReady', async () => jobs.start());
    // Before the modules close what jobs use.
    app.addHook('preClose', () => jobs.stop());

    app.decorate('metrics', metrics);
    app.decorate('warehouse', warehouse);
    app.decorate('schemaVersion', current);
    app.decorate('settings', settings);
    app.decorate('jobs', jobs);
    app.decorate('events', new EventBus<KeyrevEvents>((err, name) => app.log.error({ err, event: name }, 'an event subscriber failed')));

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
  },
  { name: 'keyrev-platform' },
);
