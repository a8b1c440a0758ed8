import rateLimit from '@fastify/rate-limit';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { KeyrevError } from '../core/errors.js';
import type { Metrics } from '../core/metrics.js';
import { visitLimits, type Visits } from './visits.js';

export interface VisitRouteOptions {
  visits: Visits;
  countryHeader: string | undefined;
  /** Visits one address may make per minute. */
  perMinute: number;
  metrics: Metrics;
}

const visitParams = z.object({ campaignId: z.string().max(200).describe('the campaign id of the script tag (data-campaign)') });

const visitBody = z.strictObject({
  url: z.string().max(visitLimits.url).describe('the landing page address, query string included (gclid, msclkid, kw, utm_*, ...)'),
  referrer: z.string().max(visitLimits.referrer).default('').describe("the page's document.referrer"),
});

const visitAnswer = z.object({
  clickId: z.string().describe('the keyrev click id of this ad click'),
  attributionDays: z.number().int().describe("how long the page keeps it: the campaign's attribution window"),
  repeat: z.boolean().describe('true when the click was recorded before (tracking template, earlier visit), false when this visit recorded it'),
});

const visitHelp =
  'Called by the landing-page script (GET /lp.js) from a page on one of the campaign\'s `landingDomains`; answers CORS for those origins only. ' +
  'Resolves the visit to a click: the click its `gclid` / `msclkid` / `wbraid` / `gbraid` names when keyrev has recorded one (the tracking template hit it in the background), ' +
  "else a new click from the page's own parameters, read as on the tracking link /c/:campaignId. The body is JSON sent as `text/plain` (a simple CORS request, no preflight). " +
  'Refused: an Origin or page not on the landing domains (403), an unknown or paused campaign (404), more than the per-address rate (429).';

/** POST /lp/:campaignId: the landing-page script's one request (CORS for the campaign's landing domains). */
export const visitRoute: FastifyPluginAsyncZod<VisitRouteOptions> = async (app, { visits, countryHeader, perMinute, metrics }) => {
  // Encapsulated: the script's text/plain JSON is parsed for these routes only.
  app.addContentTypeParser('text/plain', { parseAs: 'string', bodyLimit: 16 * 1024 }, (_req, body, done) => {
    try {
      done(null, JSON.parse(body as string));
    } catch {
      done(new KeyrevError('KR_BAD_REQUEST', 'the body must be a JSON object'), undefined);
    }
  });
  // Every refusal (a 4xx from the rate limit, the body parser, the schema or the visit) is counted once, here.
  app.addHook('onResponse', async (req, reply) => {
    if (reply.statusCode >= 400 && req.method === 'POST') metrics.landingVisits.inc({ result: 'refused' });
  });
  await app.register(rateLimit, {
    global: false,
    errorResponseBuilder: (_req, ctx) => new KeyrevError('KR_TOO_MANY_REQUESTS', `more than ${ctx.max} landing-page visits a minute from this address`),
  });
  const cors = (origin: string | undefined, reply: { header(name: string, value: string): unknown }) => {
    reply.header('vary', 'Origin');
    if (origin !== undefined) reply.header('access-control-allow-origin', origin);
  };

  app.options('/lp/:campaignId', { schema: { tags: ['tracking'], summary: 'CORS preflight of the landing-page script', params: visitParams, security: [] } }, async (req, reply) => {
    const origin = visits.allowedOrigin(req.params.campaignId, req.headers.origin);
    cors(origin, reply);
    if (origin !== undefined) {
      reply.header('access-control-allow-methods', 'POST').header('access-control-allow-headers', 'content-type').header('access-control-max-age', '86400');
    }
    return reply.status(204).send();
  });

  app.post(
    '/lp/:campaignId',
    {
      config: { rateLimit: { max: perMinute, timeWindow: 60_000 } },
      bodyLimit: 16 * 1024,
      schema: {
        tags: ['tracking'],
        summary: 'Landing-page visit: resolves it to a click (used by /lp.js)',
        description: visitHelp,
        params: visitParams,
        body: visitBody,
        response: { 200: visitAnswer },
        security: [],
      },
    },
    async (req, reply) => {
      cors(visits.allowedOrigin(req.params.campaignId, req.headers.origin), reply);
      reply.header('cache-control', 'no-store');
      const country = countryHeader === undefined ? undefined : req.headers[countryHeader];
      const visit = await visits.visit({
        campaignId: req.params.campaignId,
        origin: req.headers.origin,
        url: req.body.url,
        referrer: req.body.referrer,
        ip: req.ip,
        userAgent: req.headers['user-agent'] ?? '',
        countryHint: Array.isArray(country) ? country[0] : country,
      });
      metrics.landingVisits.inc({ result: visit.repeat ? 'repeat' : 'new' });
      return visit;
    },
  );
};
