import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Auth } from '../admin/index.js';
import { errorCodes, type ErrorCode } from '../core/errors.js';
import { dimensionLabel, dimensionNames } from './dimensions.js';
import { metricDisplay, metricKinds, metricNames, metrics } from './report-metrics.js';

const reportMeta = z.object({
  dimensions: z.array(z.object({ name: z.enum(dimensionNames), label: z.string() })),
  metrics: z.array(z.object({ name: z.enum(metricNames), label: z.string(), help: z.string(), kind: z.enum(metricKinds) })),
});

/**
 * The error body the app's error handler sends (server/error-handler.ts), declared for this
 * route's 401 (a missing or unknown key) so that /openapi.json, and the dashboard's types generated
 * from it, know its shape. The zod serializer checks each such answer against it, so a drift fails
 * loudly (a 500) instead of documenting a shape the app does not send.
 */
const apiError = z.object({
  statusCode: z.number().int(),
  code: z.enum(Object.keys(errorCodes) as [ErrorCode, ...ErrorCode[]]),
  error: z.string(),
  message: z.string(),
});

// Built once: the lists are constants of this build, in the order of their definitions.
const meta: z.infer<typeof reportMeta> = {
  dimensions: dimensionNames.map((name) => ({ name, label: dimensionLabel(name) })),
  metrics: metricNames.map((name) => ({ name, help: metrics[name].help, ...metricDisplay[name] })),
};

/** GET /api/report/meta: the dimensions and metrics reports know, for clients that build report UIs (report or admin key). */
export const reportMetaRoute: FastifyPluginAsyncZod<{ auth: Auth }> = async (app, { auth }) => {
  app.addHook('onRequest', auth.reports);
  app.get(
    '/api/report/meta',
    {
      schema: {
        tags: ['reports'],
        summary: 'The dimensions reports group and filter by, and the metrics they show, with labels',
        response: { 200: reportMeta, 401: apiError },
      },
    },
    async () => meta,
  );
};
