import type { FastifyPluginAsync } from 'fastify';

/**
 * GET /metrics in Prometheus text format. Public by default so that a scraper needs no key; with
 * KEYREV_METRICS_AUTH=on it takes the admin key or a report key (a scraper's `authorization`
 * setting sends it as a Bearer token), checked before anything else like every API route.
 */
export const metricsRoute: FastifyPluginAsync<{ requireKey: boolean }> = async (app, { requireKey }) => {
  const { registry } = app.metrics;
  app.get('/metrics', { schema: { hide: true }, ...(requireKey ? { onRequest: app.auth.reports } : {}) }, async (_req, reply) =>
    reply.type(registry.contentType).send(await registry.metrics()),
  );
};
