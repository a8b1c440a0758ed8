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
import { jsonParams, postbackQueryLimits, queryParams, signedTimestamp, staleTimestamp, withoutSignature } from './postback-request.js';

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
  'One server-to-server postback, as query parameters, a form body or a JSON body (its top-level values); where the query and the body name the same parameter, the query counts ' +
    "(for a network with a `signingKey`: see Signature). " +
    `At most ${postbackQueryLimits.maxParams} parameters. Names are compared in lower case; for each field the first name of its list that the postback carries counts. ` +
    "A network's `params` setting replaces the list of a field. The fields and their default names:",
  (Object.keys(defaultPostbackParams) as PostbackField[]).map((f) => `- ${fieldHelp[f].label}: ${list(defaultPostbackParams[f])}. ${fieldHelp[f].rules}.`).join('\n'),
  "Status words, in any case (a network's `statusMap` is read first, e.g. for numeric codes):",
  wordsByStatus.join('\n'),
  'A value that is an unfilled macro (`{payout}`, `[payout]`, `#payout#`, `REPLACE`, `OPTIONAL`) counts as absent. ' +
    `Other parameters are kept with the postback, except ${list([...secretParams])}.`,
  'Secret: required when the network has one, and, when KEYREV_POSTBACK_SECRET is set, for the global /postback and networks without their own; ' +
    'sent as the last path segment (/postback/:network/:secret) or as a `secret`, `key` or `token` parameter.',
  "Signature: for a network with a `signingKey`, the hex HMAC-SHA256 of the raw body (a POST with a body) or of the query string as sent without its `signature` and `sig` parameters, in the X-Signature header or a `signature` or `sig` parameter. " +
    `The signature covers every value used: a signed POST takes its values from the body only, and its query string may carry only ${list([...secretParams])} (any other parameter is refused with 403 bad_signature). ` +
    `A signed ${list(signedTimestamp.names)} (Unix seconds or milliseconds) more than ${signedTimestamp.maxSkewSeconds / 60} minutes from the server's clock is refused, so a captured postback cannot be replayed later: a network that sends one signs each retry anew.`,
  "Answer, once the postback is on disk: `OK` (or `1`, or JSON, as the network's `response` says), also for a duplicate or a stale retry, " +
    'with the X-Keyrev-Postback-Id and X-Keyrev-Outcome headers (new, transition, update, add, duplicate or stale). ' +
    'A refusal is a 4xx with a one-line reason and changes nothing; a 503 asks the network to send the postback again later.',
].join('\n\n');

/**
 * A postback's parameters from its query string and body: `params`, its values, and `auth`, where
 * its secret and signature are looked for. Unsigned, both count and the query wins where both
 * name a parameter: it is what the network's URL template says. Signed with a body, the values
 * are the body's alone, since the signature covers the body alone: the query may add only the
 * authentication parameters, and the names of any others are given back to be refused.
 */
function postbackParams(
  query: Map<string, string>,
  fromBody: Map<string, string> | undefined,
  signs: boolean,
): { params: Map<string, string>; auth: Map<string, string>; unsigned: string[] } {
  const unsigned: string[] = [];
  if (!fromBody) return { params: query, auth: query, unsigned };
  if (!signs) {
    for (const [k, v] of fromBody) if (!query.has(k)) query.set(k, v);
    return { params: query, auth: query, unsigned };
  }
  const auth = new Map(fromBody);
  for (const [k, v] of query) {
    if (!secretParams.has(k.toLowerCase())) unsigned.push(k);
    else if (!auth.has(k)) auth.set(k, v);
  }
  return { params: fromBody, auth, unsigned };
}

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
    const query = queryParams(rawQuery);
    const body = Buffer.isBuffer(req.body) && req.body.length > 0 ? req.body : undefined;
    const fromBody = body && ((req.headers['content-type'] ?? '').includes('json') ? jsonParams(body.toString('utf8')) : queryParams(body.toString('utf8')));
    if (body && !fromBody) throw access.refused(refuse('KR_BAD_REQUEST', 'bad_body', 'body: not a JSON object'), req.params.network ?? '', req.ip, rawQuery);
    const signs = req.params.network !== undefined && access.findNetwork(req.params.network)?.signingKey !== undefined;
    const { params, auth, unsigned } = postbackParams(query, fromBody, signs);
    const header = req.headers['x-signature'];
    const caller = access.authorize({
      networkSlug: req.params.network,
      pathSecret: req.params.secret,
      ip: req.ip,
      params: auth,
      signed: () => ({ data: body ?? withoutSignature(rawQuery), signature: (Array.isArray(header) ? header[0] : header) ?? auth.get('signature') ?? auth.get('sig') }),
    });
    if (isKeyrevError(caller)) throw caller;
    if (caller.network?.signingKey !== undefined) {
      // Checked once the signature is: what it does not cover must not count (a captured body replayed with new query values).
      const refusal =
        unsigned.length > 0
          ? `bad signature: query parameters ${unsigned.slice(0, 10).join(', ')}${unsigned.length > 10 ? ', ...' : ''} are not covered by the signature (a signed POST sends its values in the body)`
          : staleTimestamp(params, Date.now());
      if (refusal) throw access.refused(refuse('KR_FORBIDDEN', 'bad_signature', refusal), caller.network.slug, req.ip, rawQuery);
    }
    const result = await ingest.accept(caller, params, rawQuery);
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
