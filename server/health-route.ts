import type { FastifyPluginAsync } from 'fastify';
import type { Spool } from '../ingest/spool/spool.js';
import type { Warehouse } from '../warehouse/warehouse.js';
import { withTimeout } from '../core/timeout.js';

const pingTimeoutMs = 2_000;

/** GET /health: 200 while ClickHouse answers, 503 with the reason while it does not. */
export const healthRoute: FastifyPluginAsync<{ warehouse: Warehouse; schemaVersion: number; spools: Record<string, Spool> }> = async (
  app,
  { warehouse, schemaVersion, spools },
) => {
  app.get('/health', { schema: { hide: true } }, async (_req, reply) => {
    // What is still on local disk, waiting for ClickHouse: ingest goes on while it is down.
    const spool = Object.fromEntries(Object.entries(spools).map(([table, s]) => [table, s.stats()]));
    const base = { warehouse: warehouse.kind, database: warehouse.database, schemaVersion, spool };
    try {
      await withTimeout(warehouse.ping(), pingTimeoutMs, () => new Error(`no answer from ClickHouse within ${pingTimeoutMs} ms`));
      return { status: 'ok', ...base };
    } catch (err) {
      return reply.status(503).send({ status: 'unavailable', ...base, reason: (err as Error).message });
    }
  });
};
