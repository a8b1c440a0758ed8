import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Auth } from '../../admin/index.js';
import type { PostbackLog } from './postback-log.js';

const entry = z.object({
  at: z.string(),
  kind: z.enum(['refused', 'warning']),
  reason: z.string(),
  message: z.string(),
  network: z.string(),
  ip: z.string(),
  source: z.string(),
});

/** GET /api/postbacks/log: the latest refused postbacks and warnings of this process (admin key). */
export const postbackLogRoute: FastifyPluginAsyncZod<{ log: PostbackLog; auth: Auth }> = async (app, { log, auth }) => {
  app.get(
    '/api/postbacks/log',
    {
      onRequest: auth.admin,
      schema: {
        tags: ['postbacks'],
        summary: 'Latest refused postbacks (with their one-line reason) and warnings, newest first',
        querystring: z.object({ limit: z.coerce.number().int().min(1).max(1000).default(100) }),
        response: { 200: z.object({ entries: z.array(entry) }) },
      },
    },
    async (req) => ({ entries: log.recent(req.query.limit) }),
  );
};
