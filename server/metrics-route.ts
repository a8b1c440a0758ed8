import type { FastifyPluginAsync } from 'fastify';
import type { Metrics } from '../core/metrics.js';

/** GET /metrics in Prometheus text format. */
export const metricsRoute: FastifyPluginAsync<{ metrics: Metrics }> = async (app, { metrics }) => {
  app.get('/metrics', { schema: { hide: true } }, async (_req, reply) =>
    reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()),
  );
};
