import { z } from 'zod';
import type { QueryParams, StreamFormat, Warehouse } from '../warehouse/warehouse.js';
import { dimensionNames, dimensions, type Dimension } from './dimensions.js';
import { buildReportQuery, reportQuery, type ReportQuery } from './report-query.js';
import { rangeBoundsSql, rangeParams } from './time-range.js';

export const exportFormats = {
  csv: { format: 'CSVWithNames', contentType: 'text/csv; charset=utf-8', extension: 'csv' },
  ndjson: { format: 'JSONEachRow', contentType: 'application/x-ndjson; charset=utf-8', extension: 'ndjson' },
  parquet: { format: 'Parquet', contentType: 'application/vnd.apache.parquet', extension: 'parquet' },
  arrow: { format: 'ArrowStream', contentType: 'application/vnd.apache.arrow.stream', extension: 'arrow' },
} as const satisfies Record<string, { format: StreamFormat; contentType: string; extension: string }>;

/** The report query plus what to export: the grouped report, or attribution (a row per conversion with its click). */
export const exportQuery = reportQuery.and(
  z.object({
    format: z.enum(Object.keys(exportFormats) as [keyof typeof exportFormats]),
    report: z.enum(['attribution', 'grouped']).default('attribution'),
  }),
);

export type ExportQuery = z.output<typeof exportQuery>;

/** Click attributes carried by each attribution row, named as in reports. */
const attributionDims: Dimension[] = dimensionNames;

/**
 * SQL for an export; ClickHouse writes the file format itself and the rows stream to the client,
 * never held in Node. Arrow is written uncompressed so that apache-arrow in JS reads it.
 */
export function exportSql(q: ExportQuery): { sql: string; params: QueryParams } {
  const settings = " SETTINGS output_format_arrow_compression_method = 'none'";
  if (q.report === 'grouped') {
    const built = buildReportQuery(q, { noPaging: true });
    const columns = [...built.columns.dimensions, ...built.columns.metrics];
    return { sql: `SELECT ${columns.join(', ')} FROM (${built.sql})${settings}`, params: built.params };
  }
  const params: Record<string, string | number | string[]> = { ...rangeParams(q) };
  const time = q.basis === 'click' ? 'clicked_at' : 'converted_at';
  const filters = Object.entries(q.filters).map(([dim, values], i) => {
    params[`f${i}`] = values;
    return ` AND ${dimensions[dim as Dimension]} IN {f${i}:Array(String)}`;
  });
  // Folded per conversion (latest status; sum(sign) > 0 drops cancelled states), then renamed.
  const sql = `SELECT toString(click_id) AS clickId, conversion_type AS type, txid, s_network AS network, s_status AS status,
          s_amount AS amount, s_currency AS currency, s_revenue AS revenue,
          formatDateTime(s_converted, '%Y-%m-%d %H:%i:%S', {tz:String}) AS convertedAt,
          formatDateTime(s_clicked, '%Y-%m-%d %H:%i:%S', {tz:String}) AS clickedAt,
          ${attributionDims.map((d) => `s_${d} AS ${d}`).join(', ')}
     FROM
     (
         SELECT click_id, conversion_type, txid,
                argMax(network, version) AS s_network, argMax(status, version) AS s_status,
                argMax(amount, version) AS s_amount, argMax(currency, version) AS s_currency,
                argMax(revenue, version) AS s_revenue, min(converted_at) AS s_converted, any(clicked_at) AS s_clicked,
                ${attributionDims.map((d) => `any(${dimensions[d]}) AS s_${d}`).join(', ')}
         FROM attributed_conversions
         WHERE ${time} >= ${rangeBoundsSql.from} AND ${time} < ${rangeBoundsSql.to}${filters.join('')}
         GROUP BY click_id, conversion_type, txid
         HAVING sum(sign) > 0
     )
     ORDER BY s_converted, click_id, txid${settings}`;
  return { sql, params };
}

export function exportFileName(q: ExportQuery): string {
  const day = (t: string) => t.slice(0, 10);
  return `keyrev-${q.report}-${day(q.from)}_${day(q.to)}.${exportFormats[q.format].extension}`;
}

export function streamExport(wh: Warehouse, q: ExportQuery, signal: AbortSignal): AsyncIterable<Uint8Array> {
  const { sql, params } = exportSql(q);
  return wh.stream(sql, params, exportFormats[q.format].format, signal);
}

export type { ReportQuery };
