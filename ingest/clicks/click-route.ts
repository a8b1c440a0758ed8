import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Metrics } from '../../core/metrics.js';
import type { ClickTracker } from './click-tracker.js';
import { rawQueryOf } from '../../core/query-string.js';

const clickParams = z.object({ campaignId: z.string().max(200) });

/**
 * The params schema documents the route; it is not run per click: the router already bounds the
 * id (maxParamLength) and an unknown id is a miss, not an error. This is the hottest route.
 */
const trustRouterParams = () => (value: unknown) => ({ value });

/** GET /c/:campaignId: the tracking link placed in ads. Records the click, then redirects. */
export const clickRoute: FastifyPluginAsyncZod<{ tracker: ClickTracker; metrics: Metrics; countryHeader: string | undefined }> = async (
  app,
  { tracker, metrics, countryHeader },
) => {
  app.get(
    '/c/:campaignId',
    {
      validatorCompiler: trustRouterParams,
      schema: {
        tags: ['tracking'],
        summary: 'Tracking link: records the click and answers 302 to the offer',
        params: clickParams,
        security: [],
      },
    },
    async (req, reply) => {
      const outcome = await tracker.track({
        campaignId: req.params.campaignId,
        rawQuery: rawQueryOf(req.raw.url),
        ip: req.ip,
        userAgent: req.headers['user-agent'] ?? '',
        referrer: req.headers.referer ?? '',
        countryHint: countryHeader === undefined ? undefined : headerValue(req.headers[countryHeader]),
      });
      metrics.clicks.inc({ result: !outcome.durable ? 'lost' : outcome.missed ? 'missed' : 'recorded' });
      reply.header('x-keyrev-click-id', outcome.clickId).header('cache-control', 'no-store');
      if (!outcome.location) {
        return reply.status(404).type('text/plain; charset=utf-8').send('This link is not active.\n');
      }
      return reply.redirect(outcome.location, 302);
    },
  );
};

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
