import { Readable } from 'node:stream';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Auth } from '../admin/index.js';
import type { Warehouse } from '../warehouse/warehouse.js';
import { ExportGate, exportFileName, exportFormats, exportQuery, streamExport, type ExportLimits } from './export.js';
import { metricNames, metrics } from './report-metrics.js';
import { reportQuery } from './report-query.js';
import { runReport } from './reports.js';

const row = z.record(z.string(), z.union([z.string(), z.number(), z.null()]));
const report = z.object({ rows: z.array(row), totals: row, source: z.string() });

/** How long a client refused for too many exports is asked to wait. */
const exportRetryAfterSeconds = 10;

/** /api/report, /api/timeseries and /api/export (report or admin key). */
export const reportRoute: FastifyPluginAsyncZod<{ warehouse: Warehouse; auth: Auth; exports: ExportLimits }> = async (app, { warehouse, auth, exports }) => {
  app.addHook('onRequest', auth.reports);
  const gate = new ExportGate(exports);
  const tags = ['reports'];
  const metricsHelp = `Metrics: ${metricNames.map((m) => `${m} (${metrics[m].help})`).join('; ')}. Filters: filter[dimension]=value (repeat for several).`;

  app.get(
    '/api/report',
    { schema: { tags, summary: 'Metrics grouped by dimensions, with totals', description: metricsHelp, querystring: reportQuery, response: { 200: report } } },
    async (req) => runReport(warehouse, req.query),
  );

  app.get(
    '/api/timeseries',
    { schema: { tags, summary: 'Metrics per hour or day of the time zone', description: metricsHelp, querystring: reportQuery, response: { 200: report } } },
    async (req) => runReport(warehouse, req.query, req.query.interval),
  );

  app.get(
    '/api/export',
    {
      schema: {
        tags,
        summary: 'The attribution report or a grouped report as CSV, NDJSON, Parquet or Arrow, streamed',
        description:
          `At most KEYREV_MAX_CONCURRENT_EXPORTS exports run at once: past it the answer is 429 KR_TOO_MANY_REQUESTS with Retry-After: ${exportRetryAfterSeconds}. ` +
          "With the embedded engine, which writes the file into the data directory before it streams, an export is refused with 503 KR_DISK_LOW while that disk has less than KEYREV_EXPORT_MIN_FREE_BYTES free.",
        querystring: exportQuery,
      },
    },
    async (req, reply) => {
      const q = req.query;
      const leave = await gate.enter().catch((err: unknown) => {
        if ((err as { code?: string }).code === 'KR_TOO_MANY_REQUESTS') reply.header('retry-after', String(exportRetryAfterSeconds));
        throw err;
      });
      // The slot is given back when the answer is over: the file sent, an error sent, or the client gone.
      reply.raw.once('close', leave);
      const abort = new AbortController();
      req.raw.on('close', () => abort.abort());
      // The first chunk is awaited before any header is set: a query that fails before its first
      // byte then answers the one JSON error shape (a file's content type cannot carry it).
      const chunks = streamExport(warehouse, q, abort.signal)[Symbol.asyncIterator]();
      const first = await chunks.next();
      reply
        .type(exportFormats[q.format].contentType)
        .header('content-disposition', `attachment; filename="${exportFileName(q)}"`)
        .header('cache-control', 'no-store');
      return reply.send(Readable.from(startingWith(first, chunks)));
    },
  );
};

/**
 * A stream whose first step was already taken, as an iterable for Readable.from. Its return()
 * (a client gone mid-file) reaches the warehouse stream, which then removes its temporary file.
 */
function startingWith<T>(first: IteratorResult<T>, rest: AsyncIterator<T>): AsyncIterable<T> {
  let taken: IteratorResult<T> | undefined = first;
  const iterator: AsyncIterator<T> = {
    next: async () => {
      const result = taken ?? (await rest.next());
      taken = undefined;
      return result;
    },
    return: async () => {
      taken = undefined;
      return (await rest.return?.()) ?? { done: true, value: undefined };
    },
  };
  return { [Symbol.asyncIterator]: () => iterator };
}
