import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { fail, isKeyrevError } from '../../core/errors.js';
import { rawQueryOf } from '../../core/query-string.js';
import { objectId } from '../../core/schemas.js';
import type { PostbackAccess } from './postback-auth.js';
import type { PostbackIngest } from './postback-ingest.js';
import { refuse } from './postback-params.js';
import { jsonParams, queryParams, withoutSignature } from './postback-request.js';

const params = z.object({ network: objectId.optional(), secret: z.string().max(200).optional() });

/**
 * GET|POST /postback (global) and /postback/:network[/:secret]: one S2S postback, in the query
 * string, a form body or a JSON body. Answers the network's success body once the postback is
 * in the durable spool, also for a retry (so that the network stops retrying).
 */
export const postbackRoute: FastifyPluginAsyncZod<{ ingest: PostbackIngest; access: PostbackAccess }> = async (app, { ingest, access }) => {
  // The raw body is kept: a signature covers the bytes as sent, and forms are parsed like query strings.
  app.removeAllContentTypeParsers();
  const raw = (_req: FastifyRequest, body: Buffer, done: (err: null, body: Buffer) => void) => done(null, body);
  app.addContentTypeParser(['application/json', 'application/x-www-form-urlencoded', 'text/plain'], { parseAs: 'buffer', bodyLimit: 64 * 1024 }, raw);

  const handler = async (req: FastifyRequest<{ Params: z.infer<typeof params> }>, reply: import('fastify').FastifyReply) => {
    const rawQuery = rawQueryOf(req.raw.url);
    const merged = queryParams(rawQuery);
    const body = Buffer.isBuffer(req.body) && req.body.length > 0 ? req.body : undefined;
    if (body) {
      const fromBody = (req.headers['content-type'] ?? '').includes('json') ? jsonParams(body.toString('utf8')) : queryParams(body.toString('utf8'));
      if (!fromBody) throw access.refused(refuse('KR_BAD_REQUEST', 'bad_body', 'body: not a JSON object'), req.params.network ?? '', req.ip, rawQuery);
      // The query string wins where both name a parameter: it is what the network's URL template says.
      for (const [k, v] of fromBody) if (!merged.has(k)) merged.set(k, v);
    }
    const header = req.headers['x-signature'];
    const caller = access.authorize({
      networkSlug: req.params.network,
      pathSecret: req.params.secret,
      ip: req.ip,
      params: merged,
      signed: () => ({ data: body ?? withoutSignature(rawQuery), signature: (Array.isArray(header) ? header[0] : header) ?? merged.get('signature') ?? merged.get('sig') }),
    });
    if (isKeyrevError(caller)) throw caller;
    const result = await ingest.accept(caller, merged, rawQuery);
    if (isKeyrevError(result)) throw result;
    if (!result.durable) fail('KR_SPOOL_FULL');
    reply.header('x-keyrev-postback-id', result.postbackId).header('x-keyrev-outcome', result.outcome);
    const answer = caller.network?.response ?? 'ok';
    if (answer === 'json') return reply.send({ status: 'ok', outcome: result.outcome, postbackId: result.postbackId });
    return reply.type('text/plain; charset=utf-8').send(answer === '1' ? '1' : 'OK');
  };

  const schema = {
    tags: ['postbacks'],
    summary: 'S2S postback from an affiliate network (parameter names: see the README, "Postbacks")',
    params,
    security: [],
  };
  for (const url of ['/postback', '/postback/:network', '/postback/:network/:secret']) {
    app.route({ method: ['GET', 'POST'], url, schema, handler });
  }
};
