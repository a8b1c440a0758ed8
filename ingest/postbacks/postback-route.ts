import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { conversionStatuses } from '../../core/conversion.js';
import { fail, isKeyrevError } from '../../core/errors.js';
import { rawQueryOf } from '../../core/query-string.js';
import { objectId } from '../../core/schemas.js';
import type { PostbackAccess } from './postback-auth.js';
import type { PostbackIngest } from './postback-ingest.js';
import type { PostbackField } from './network-schema.js';
import { defaultPostbackParams, postbackLimits, refuse, secretParams, statusWords } from './postback-params.js';
import { jsonParams, postbackQueryLimits, queryParams, withoutSignature } from './postback-request.js';

const params = z.object({
  network: objectId.optional().describe("the network's slug (POST /api/networks): its parameter names, status codes, secret, allowlist and signing key apply"),
  secret: z.string().max(200).optional().describe("the network's secret, in the path instead of a `secret`, `key` or `token` parameter"),
});

const list = (names: readonly string[]) => names.map((n) => `\`${n}\``).join(', ');

/** Each postback field's name and rules, beside its default parameter names (written out below from defaultPostbackParams). */
const fieldHelp: Record<PostbackField, { label: string; rules: string }> = {
  clickId: { label: 'click id', rules: 'required: the decimal click id keyrev put in the offer URL (`{clickid}`)' },
  amount: {
    label: 'amount (the payout)',
    rules: '`12.34`, `12,34`, `1,234.56` or `1.234,56`, at most 6 decimals; absent: 0 for a new conversion, unchanged for a status change',
  },
  txid: { label: 'transaction id', rules: `up to ${postbackLimits.txid} characters; with the click id and type it names the conversion` },
  status: { label: 'status', rules: "a status word below or a code of the network's `statusMap`; absent: sale" },
  currency: { label: 'currency', rules: "ISO 4217; absent: the network's `currency`, else KEYREV_CURRENCY" },
  type: { label: 'conversion type (goal, event)', rules: `up to ${postbackLimits.type} characters; another type is another conversion of the same click` },
};

const wordsByStatus = conversionStatuses.map((status) => `- ${status}: ${list(Object.keys(statusWords).filter((w) => statusWords[w] === status))}`);

/** The OpenAPI text of /postback: every parameter name and rule, written out from the constants the code reads. */
const postbackHelp = [
  'One server-to-server postback, as query parameters, a form body or a JSON body (its top-level values); where the query and the body name the same parameter, the query counts. ' +
    `At most ${postbackQueryLimits.maxParams} parameters. Names are compared in lower case; for each field the first name of its list that the postback carries counts. ` +
    "A network's `params` setting replaces the list of a field. The fields and their default names:",
  (Object.keys(defaultPostbackParams) as PostbackField[]).map((f) => `- ${fieldHelp[f].label}: ${list(defaultPostbackParams[f])}. ${fieldHelp[f].rules}.`).join('\n'),
  "Status words, in any case (a network's `statusMap` is read first, e.g. for numeric codes):",
  wordsByStatus.join('\n'),
  'A value that is an unfilled macro (`{payout}`, `[payout]`, `#payout#`, `REPLACE`, `OPTIONAL`) counts as absent. ' +
    `Other parameters are kept with the postback, except ${list([...secretParams])}.`,
  'Secret: required when the network has one, and, when KEYREV_POSTBACK_SECRET is set, for the global /postback and networks without their own; ' +
    'sent as the last path segment (/postback/:network/:secret) or as a `secret`, `key` or `token` parameter.',
  "Signature: for a network with a `signingKey`, the hex HMAC-SHA256 of the raw body (a POST with a body) or of the query string as sent without its `signature` and `sig` parameters, in the X-Signature header or a `signature` or `sig` parameter.",
  "Answer, once the postback is on disk: `OK` (or `1`, or JSON, as the network's `response` says), also for a duplicate or a stale retry, " +
    'with the X-Keyrev-Postback-Id and X-Keyrev-Outcome headers (new, transition, update, add, duplicate or stale). ' +
    'A refusal is a 4xx with a one-line reason and changes nothing; a 503 asks the network to send the postback again later.',
].join('\n\n');

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
    summary: 'S2S postback from an affiliate network: one conversion or status change',
    description: postbackHelp,
    params,
    security: [],
  };
  for (const url of ['/postback', '/postback/:network', '/postback/:network/:secret']) {
    app.route({ method: ['GET', 'POST'], url, schema, handler });
  }
};
