import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Metrics } from '../../core/metrics.js';
import { clickParamAliases, maxFieldLength, type ClickField } from './click-params.js';
import { offerMacros, type ClickTracker } from './click-tracker.js';
import { rawQueryOf } from '../../core/query-string.js';

const clickParams = z.object({ campaignId: z.string().max(200).describe('the campaign id (POST /api/campaigns)') });

const list = (names: readonly string[]) => names.map((n) => `\`${n}\``).join(', ');

/** The OpenAPI text of the tracking link: every parameter name and macro, written out from the constants the code reads. */
const clickHelp = [
  "Records the click on disk, then answers 302 to the campaign's offer URL with its macros filled, and the click id in the X-Keyrev-Click-Id header (absent when the spool could not keep the click: disk limit). " +
    "An unknown or paused campaign sends the visitor to the campaign's `fallbackUrl`, else to KEYREV_FALLBACK_URL; with neither, the answer is 404 \"This link is not active.\" (the click is recorded as missed either way).",
  `Query parameters stored in columns, by column, with the names each accepts (in any case; the first of them in the link counts; values up to ${maxFieldLength} characters; ` +
    'an unfilled placeholder such as `{keyword}`, `[keyword]` or `#keyword#` counts as absent):',
  (Object.keys(clickParamAliases) as ClickField[]).map((column) => `- ${column}: ${list(clickParamAliases[column])}`).join('\n'),
  "`cost` (`0.35` or `0,35`) is the click's cost; without it the campaign's `costModel` applies. Every other parameter is kept with the click (`extra`) and is a macro by its own name. " +
    'Query strings use form encoding: `+` is a space, a literal plus is `%2B`.',
  "Search ads (tracking template `...&gclid={gclid}&lpurl={lpurl}`): an `lpurl` whose host is one of the campaign's `landingDomains` (or under one) is where the answer sends the visitor, unchanged, instead of the offer; " +
    'an `lpurl` to any other host is ignored (never an open redirect). An ad click whose platform click id (`gclid`, `msclkid`, `wbraid`, `gbraid`) was recorded within the hour, by the tracking template or the landing-page script, records nothing new: the answer carries that click\'s id.',
  `Offer URL macros: ${list([...offerMacros].map((m) => `{${m}}`))}, and \`{name}\` for any other parameter of the link; each value is URL-encoded once.`,
].join('\n\n');

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
        description: clickHelp,
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
      metrics.clicks.inc({ result: !outcome.durable ? 'lost' : outcome.missed ? 'missed' : outcome.repeat ? 'repeat' : 'recorded' });
      // Only a click on disk has an id to give: a client (a test generator, a monitor) can tell
      // the rare click the spool could not keep (disk limit) from a recorded one. The visitor is
      // redirected either way.
      if (outcome.durable) reply.header('x-keyrev-click-id', outcome.clickId);
      reply.header('cache-control', 'no-store');
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
