import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { LandingScript } from './landing-script.js';

const scriptHelp =
  'The landing-page script for search ads under parallel tracking (and any redirectless link): ' +
  '`<script src="https://TRACKER/lp.js" data-campaign="CAMPAIGN_ID" async></script>` on a page of the campaign\'s `landingDomains`. ' +
  'It resolves the visit to a keyrev click (POST /lp/:campaignId), keeps the click id in the page\'s first-party storage for the campaign\'s attribution window, ' +
  'replaces `{clickid}` in the page\'s links (href), form actions and hidden inputs, also those added later, and exposes `window.keyrev.clickId` and the promise `window.keyrev.ready`. ' +
  'Consent: `data-consent="false"` on the tag (or `window.keyrev = {consent: false}` before it) sends and stores nothing until `keyrev.consent(true)`; `keyrev.consent(false)` forgets the stored id. ' +
  'Cached for a day and revalidated by ETag (the version of the script).';

/** GET /lp.js: the landing-page script, gzipped when the browser takes it. */
export const scriptRoute: FastifyPluginAsyncZod<{ script: LandingScript }> = async (app, { script }) => {
  app.get('/lp.js', { schema: { tags: ['tracking'], summary: 'Landing-page script', description: scriptHelp, security: [] } }, async (req, reply) => {
    reply
      .header('content-type', 'text/javascript; charset=utf-8')
      .header('cache-control', 'public, max-age=86400, stale-while-revalidate=604800')
      .header('etag', script.etag)
      .header('vary', 'Accept-Encoding')
      // Loaded by pages of other sites: a cross-origin embedding policy on them must not block it.
      .header('cross-origin-resource-policy', 'cross-origin')
      .header('x-content-type-options', 'nosniff');
    if (req.headers['if-none-match'] === script.etag) return reply.status(304).send();
    if (/\bgzip\b/.test(req.headers['accept-encoding'] ?? '')) return reply.header('content-encoding', 'gzip').send(script.gzip);
    return reply.send(script.text);
  });
};
