import type { FastifyPluginAsync } from 'fastify';
import { withTimeout } from '../core/timeout.js';

const pingTimeoutMs = 2_000;

/** GET /health: 200 while ClickHouse answers, 503 with the reason while it does not. */
export const healthRoute: FastifyPluginAsync = async (app) => {
  const { warehouse, pipelines, jobs } = app;
  app.get('/health', { schema: { hide: true } }, async (_req, reply) => {
    // What is still on local disk, waiting for ClickHouse: ingest goes on while it is down.
    const base = {
      warehouse: warehouse.kind,
      database: warehouse.database,
      schemaVersion: app.schemaVersion,
      spool: pipelines.stats(),
      jobs: jobs.list(),
      // `off` only with KEYREV_POSTBACK_SECRET=off: then anyone can record conversions.
      postbacks: { secret: app.postbackSecret.mode },
    };
    try {
      await withTimeout(warehouse.ping(), pingTimeoutMs, () => new Error(`no answer from ClickHouse within ${pingTimeoutMs} ms`));
      return { status: 'ok', ...base };
    } catch (err) {
      return reply.status(503).send({ status: 'unavailable', ...base, reason: (err as Error).message });
    }
  });
};
