import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { fail, type ErrorCode } from '../../core/errors.js';
import { objectId } from '../../core/schemas.js';
import type { Refusal } from './postback-params.js';
import { isRefusal } from './postback-params.js';
import { jsonParams, queryParams, withoutSignature, type PostbackIngest } from './postback-ingest.js';
import { rawQueryOf } from '../../core/query-string.js';

const params = z.object({ network: objectId.optional(), secret: z.string().max(200).optional() });

/** A refusal as the one JSON error shape: 400 bad value, 403 secret / address / signature, 404 network. */
export function failRefusal(r: Refusal): never {
  const code: Record<Refusal['status'], ErrorCode> = { 400: 'KR_BAD_REQUEST', 403: 'KR_FORBIDDEN', 404: 'KR_NOT_FOUND', 413: 'KR_PAYLOAD_TOO_LARGE' };
  return fail(code[r.status], r.message);
}

/**
 * GET|POST /postback (global) and /postback/:network[/:secret]: one S2S postback, in the query
 * string, a form body or a JSON body. Answers the network's success body once the postback is
 * in the durable spool, also for a retry (so that the network stops retrying).
 */
export const postbackRoute: FastifyPluginAsyncZod<{ ingest: PostbackIngest }> = async (app, { ingest }) => {
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
      if (!fromBody) failRefusal(ingest.refused({ status: 400, reason: 'bad_body', message: 'body: not a JSON object' }, req.params.network ?? '', req.ip, rawQuery));
      // The query string wins where both name a parameter: it is what the network's URL template says.
      for (const [k, v] of fromBody) if (!merged.has(k)) merged.set(k, v);
    }
    const header = req.headers['x-signature'];
    const caller = ingest.authorize({
      networkSlug: req.params.network,
      pathSecret: req.params.secret,
      ip: req.ip,
      params: merged,
      signed: () => ({ data: body ?? withoutSignature(rawQuery), signature: (Array.isArray(header) ? header[0] : header) ?? merged.get('signature') ?? merged.get('sig') }),
    });
    if (isRefusal(caller)) failRefusal(caller);
    const result = await ingest.accept(caller, merged, rawQuery);
    if (isRefusal(result)) failRefusal(result);
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
