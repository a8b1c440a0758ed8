import { Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { fail } from '../core/errors.js';
import { streamFeedRows } from '../warehouse/feed-store.js';
import type { Warehouse } from '../warehouse/warehouse.js';
import { feedFile } from './feed-csv.js';
import type { StoredFeed } from './feed-schema.js';
import type { Feeds } from './feeds.js';
import { feedFilePath } from './feed-route.js';

export interface FeedFileRouteOptions {
  feeds: Feeds;
  warehouse: Warehouse;
  accountCurrency: string;
  /** The exports' CSV-injection guard (SQL), applied to the click ids visitors' links carried. */
  textCell: (sqlExpression: string) => string;
}

declare module 'fastify' {
  interface FastifyRequest {
    feed?: StoredFeed;
  }
}

/** `Authorization: Basic base64(user:password)`, or undefined. */
function basicCredentials(header: string | undefined): { username: string; password: string } | undefined {
  const match = header ? /^Basic\s+([A-Za-z0-9+/=]{1,1024})\s*$/i.exec(header) : null;
  if (!match) return undefined;
  const text = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  return colon < 0 ? undefined : { username: text.slice(0, colon), password: text.slice(colon + 1) };
}

const millisPerDay = 24 * 3600 * 1000;

/**
 * GET /feeds/:id/conversions.csv: the feed's file, for the ad platform to fetch on its schedule.
 * HTTP basic auth is checked in onRequest, before the id is validated or anything is read: a
 * missing or wrong credential (or an unknown feed) is the same 401 with `WWW-Authenticate: Basic`.
 */
export const feedFileRoute: FastifyPluginAsyncZod<FeedFileRouteOptions> = async (app, { feeds, warehouse, accountCurrency, textCell }) => {
  app.addHook('onRequest', async (req: FastifyRequest<{ Params: { id?: unknown } }>, reply: FastifyReply) => {
    const credentials = basicCredentials(req.headers.authorization);
    const id = typeof req.params.id === 'string' ? req.params.id : '';
    const feed = credentials && feeds.authenticate(id, credentials.username, credentials.password);
    if (!feed) {
      reply.header('www-authenticate', 'Basic realm="keyrev feed", charset="UTF-8"');
      fail('KR_UNAUTHORIZED', 'missing or wrong feed credentials (HTTP basic auth)');
    }
    req.feed = feed;
  });

  app.get(
    feedFilePath(':id'),
    {
      schema: {
        tags: ['feeds'],
        summary: "A feed's offline-conversion CSV for Google Ads or Microsoft Advertising (HTTP basic auth)",
        description: 'One line per conversion of a click that carried the platform click id (gclid or msclkid), in the last `days` of clicks, at its latest status. See docs/feeds.md.',
        params: z.object({ id: z.string() }),
      },
    },
    async (req, reply) => {
      const feed = req.feed!;
      const abort = new AbortController();
      req.raw.on('close', () => abort.abort());
      const rows = streamFeedRows(
        warehouse,
        {
          clickIdColumn: feed.platform === 'google-ads' ? 'gclid' : 'msclkid',
          statuses: feed.statuses,
          since: new Date(Date.now() - feed.days * millisPerDay),
          accountCurrency,
          textCell,
        },
        abort.signal,
      );
      // The first chunk is awaited before any header is set, so a failing query answers the one JSON error shape.
      const chunks = feedFile(feed.platform, feed.conversionName, rows)[Symbol.asyncIterator]();
      const first = await chunks.next();
      reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="keyrev-${feed.platform}-${feed.id}.csv"`)
        .header('cache-control', 'no-store');
      return reply.send(Readable.from(prepend(first, chunks)));
    },
  );
};

async function* prepend<T>(first: IteratorResult<T>, rest: AsyncIterator<T>): AsyncIterable<T> {
  try {
    if (first.done) return;
    yield first.value;
    for (let next = await rest.next(); !next.done; next = await rest.next()) yield next.value;
  } finally {
    // A client gone mid-file: the warehouse stream is closed too (its temporary file removed).
    await rest.return?.();
  }
}
