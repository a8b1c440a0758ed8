import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Auth } from '../admin/index.js';
import type { Warehouse } from '../warehouse/warehouse.js';
import { conversionLog, conversionLogEntry, conversionLogQuery } from './conversion-log.js';

/** GET /api/conversions: the conversion log with each conversion's click, orphans included (report key). */
export const conversionLogRoute: FastifyPluginAsyncZod<{ warehouse: Warehouse; auth: Auth }> = async (app, { warehouse, auth }) => {
  app.get(
    '/api/conversions',
    {
      onRequest: auth.reports,
      schema: {
        tags: ['reports'],
        summary: 'Conversions at their latest status, with the ad and keyword of their click',
        querystring: conversionLogQuery,
        response: { 200: z.object({ rows: z.array(conversionLogEntry) }) },
      },
    },
    async (req) => ({ rows: await conversionLog(warehouse, req.query) }),
  );
};
