import type { Readable } from 'node:stream';
import { createGunzip, type Gunzip } from 'node:zlib';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Auth } from '../../admin/index.js';
import { fail, isKeyrevError } from '../../core/errors.js';
import { objectId } from '../../core/schemas.js';
import type { PostbackAccess } from './postback-auth.js';
import { bulkLimits, ingestNdjson, type BulkIngest } from './postback-bulk.js';
import { queryParams } from './postback-request.js';
import { rawQueryOf } from '../../core/query-string.js';

const params = z.object({
  network: objectId.optional().describe("the network's slug (POST /api/networks): every line is read with its parameter names, status codes, duplicates policy and currency"),
});

/** The OpenAPI text of /postbacks[/:network]. */
const bulkHelp = [
  'A stream of postbacks as NDJSON (Content-Type application/x-ndjson, application/jsonl or application/json-seq), `Content-Encoding: gzip` accepted: ' +
    'one JSON object per line with the parameter names, status words and rules of GET /postback, each line decided like a single postback, in order. ' +
    `A line may be up to ${bulkLimits.maxLineBytes} bytes; the stream up to KEYREV_BULK_MAX_BYTES after decompression, and a gzip stream may inflate to at most ${bulkLimits.maxInflateRatio} times its compressed size ` +
    `plus ${bulkLimits.inflateSlackBytes / 1024 / 1024} MB (past either limit: 413, the lines before it are recorded).`,
  `Reading stops after ${bulkLimits.maxRejected} rejected lines, or once the stream has taken KEYREV_BULK_MAX_SECONDS: the answer is then a 200 for the lines read, ` +
    'with `stopped` saying why and from which line on nothing was read (send those lines again, fixed or in a new stream). ' +
    `Blank lines are counted in \`lines\` but neither accepted nor rejected. At most ${bulkLimits.loggedPerStream} refusals and warnings of one stream go to the postback log (GET /api/postbacks/log), then one entry saying the rest were left out.`,
  "Authorisation, once for the stream: the admin key (`Authorization: Bearer`), or the network's secret (for /postbacks: KEYREV_POSTBACK_SECRET, when set) as a `secret`, `key` or `token` query parameter. " +
    'Lines carry no signature: a network with a `signingKey` sends its streams with the admin key.',
  'The answer counts the lines: accepted (new conversions and changes), duplicates (retries and stale statuses, which change nothing) and rejected, ' +
    `and lists up to ${bulkLimits.listedErrors} rejected lines with their line number and one-line reason (\`errorsTruncated\` when there were more). ` +
    'A line whose reason ends with "send this line again" was not recorded (ClickHouse could not be asked about an older conversion, or the spool was full): send it again later.',
].join('\n\n');

const bulkResult = z.object({
  lines: z.number(),
  accepted: z.number(),
  duplicates: z.number(),
  rejected: z.number(),
  errors: z.array(z.object({ line: z.number(), reason: z.string() })),
  errorsTruncated: z.boolean(),
  stopped: z.string().optional().describe('present when keyrev stopped reading before the end of the stream: why, and the first line not read'),
});

/**
 * POST /postbacks[/:network]: an NDJSON stream (gzip accepted) of postbacks with the same field
 * names as single ones. The caller proves itself once, by the network's secret (`?secret=`) or
 * the admin key; the answer counts accepted, duplicate and rejected lines and lists the rejected.
 */
export const postbackBulkRoute: FastifyPluginAsyncZod<{ ingest: BulkIngest; access: PostbackAccess; auth: Auth; maxBytes: number; maxSeconds: number }> = async (
  app,
  { ingest, access, auth, maxBytes, maxSeconds },
) => {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(['application/x-ndjson', 'application/jsonl', 'application/json-seq'], (_req: FastifyRequest, payload, done) => done(null, payload));

  app.post(
    '/postbacks',
    { schema: { tags: ['postbacks'], summary: 'Bulk postbacks as NDJSON, streamed', description: bulkHelp, response: { 200: bulkResult }, security: [] } },
    async (req, reply) => handle(req, reply, undefined),
  );
  app.post(
    '/postbacks/:network',
    { schema: { tags: ['postbacks'], summary: "Bulk postbacks as NDJSON with a network's settings", description: bulkHelp, params, response: { 200: bulkResult }, security: [] } },
    async (req, reply) => handle(req, reply, req.params.network),
  );

  async function handle(req: FastifyRequest, reply: FastifyReply, network: string | undefined) {
    // Authorised before a byte of the body is read, let alone inflated.
    const query = queryParams(rawQueryOf(req.raw.url));
    const caller = auth.isAdmin(req)
      ? { network: network === undefined ? undefined : (access.findNetwork(network) ?? fail('KR_NOT_FOUND', `no network ${network}`)), ip: req.ip }
      : access.authorize({ networkSlug: network, pathSecret: undefined, ip: req.ip, params: query, signed: undefined });
    if (isKeyrevError(caller)) throw caller;
    const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase();
    if (encoding !== 'identity' && encoding !== 'gzip') fail('KR_UNSUPPORTED_MEDIA_TYPE', `content-encoding ${encoding} is not accepted (gzip is)`);
    // No body and no Content-Type: Fastify parses nothing. Answered as a body of another type would be.
    if (req.body === undefined) fail('KR_UNSUPPORTED_MEDIA_TYPE', 'send the postbacks as Content-Type: application/x-ndjson');
    const body = req.body as Readable;
    const gunzip = encoding === 'gzip' ? createGunzip() : undefined;
    const stream = gunzip ? body.pipe(gunzip) : body;
    let finished = false;
    try {
      // Not destroyed when reading stops early: that would close the connection before the answer.
      const chunks = stream.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>;
      const result = await ingestNdjson(ingest, caller, limited(chunks, maxBytes, gunzip), { maxSeconds });
      finished = result.stopped === undefined;
      return result;
    } finally {
      if (!finished) {
        // The rest of the body is not read: no more inflating, and the connection closes after the
        // answer instead of waiting for (or reading) bytes nobody wants.
        if (gunzip) {
          body.unpipe(gunzip);
          gunzip.destroy();
        }
        reply.header('connection', 'close');
      }
    }
  }
};

/**
 * Stops a stream once it passed maxBytes after decompression, or, for gzip, once it inflated to
 * more than maxInflateRatio times the compressed bytes read (plus a slack for small streams): a
 * gzip bomb is stopped after a few MB rather than after KEYREV_BULK_MAX_BYTES of work.
 */
async function* limited(source: AsyncIterable<Buffer>, maxBytes: number, gunzip: Gunzip | undefined): AsyncGenerator<Buffer> {
  let seen = 0;
  try {
    for await (const chunk of source) {
      seen += chunk.length;
      if (seen > maxBytes) fail('KR_PAYLOAD_TOO_LARGE', `the stream is larger than ${maxBytes} bytes; lines before the limit were recorded`);
      // bytesWritten: the compressed bytes the inflater has taken so far.
      if (gunzip && seen > bulkLimits.maxInflateRatio * gunzip.bytesWritten + bulkLimits.inflateSlackBytes) {
        fail('KR_PAYLOAD_TOO_LARGE', `the stream inflates to more than ${bulkLimits.maxInflateRatio} times its compressed size; lines before this point were recorded`);
      }
      yield chunk;
    }
  } catch (err) {
    // A broken gzip stream or a client that hung up is the client's doing, not a keyrev bug.
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('Z_')) fail('KR_BAD_REQUEST', 'body: not valid gzip; lines before the damage were recorded');
    if (code === 'ECONNRESET' || (err as Error).message === 'aborted') fail('KR_BAD_REQUEST', 'the client closed the stream');
    throw err;
  }
}
