import type { FastifyPluginAsync } from 'fastify';

/** GET /metrics in Prometheus text format. */
export const metricsRoute: FastifyPluginAsync = async (app) => {
  const { registry } = app.metrics;
  app.get('/metrics', { schema: { hide: true } }, async (_req, reply) => reply.type(registry.contentType).send(await registry.metrics()));
};
