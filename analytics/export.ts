import fs from 'node:fs';
import { z } from 'zod';
import { KeyrevError } from '../core/errors.js';
import { hasImportedCost } from '../warehouse/cost-store.js';
import type { QueryParams, StreamFormat, Warehouse } from '../warehouse/warehouse.js';
import { dimensionNames, dimensions } from './dimensions.js';
import { buildReportQuery, filterConditions, reportQuery } from './report-query.js';
import { conversionSumSql } from './report-metrics.js';
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
    report: z
      .enum(['attribution', 'grouped'])
      .default('attribution')
      .describe(
        'attribution: a row per conversion at its latest status with its click; its money columns are ' +
          '`amount` (the payout the network sent, in `currency`, whatever the status), `payout` (that amount in the account currency) ' +
          'and `revenue` (`payout` when the status is sale or rebill, else 0: summing it gives the report revenue). ' +
          'grouped: the /api/report rows with their metrics.',
      ),
  }),
);

export type ExportQuery = z.output<typeof exportQuery>;

/**
 * A text cell of a CSV export, made inert for spreadsheets (OWASP, CSV injection): keywords,
 * sub-ids and txids come from anyone who clicks a link or sends a postback, and Excel or Sheets
 * run a cell starting with = + - @ (or a tab or CR before one) as a formula. Such a cell gets a
 * leading single quote (char(39)), which spreadsheets read as "text". Only String columns are
 * wrapped: a negative amount is a number and stays one. NDJSON, Parquet and Arrow keep raw values.
 */
export const csvText = (column: string) =>
  `if(substring(${column}, 1, 1) IN ('=', '+', '-', '@', char(9), char(13)), concat(char(39), ${column}), ${column})`;

/** The attribution report's output columns, in order; `number` ones are left as they are in CSV. */
const attributionColumns: { name: string; number?: true }[] = [
  { name: 'clickId' },
  { name: 'type' },
  { name: 'txid' },
  { name: 'network' },
  { name: 'status' },
  { name: 'amount', number: true },
  { name: 'currency' },
  { name: 'payout', number: true },
  { name: 'revenue', number: true },
  { name: 'convertedAt' },
  { name: 'clickedAt' },
  ...dimensionNames.map((name) => ({ name })),
];

/** Settings each format needs so its values read as the JSON API gives them. */
const formatSettings: Record<keyof typeof exportFormats, string[]> = {
  // An undefined ratio (NULL) is an empty cell, not ClickHouse's \N.
  csv: ["format_csv_null_representation = ''"],
  // Counts as JSON numbers, as /api/report gives them (the shared setting quotes 64-bit integers).
  ndjson: ['output_format_json_quote_64bit_integers = 0'],
  parquet: [],
  arrow: [],
};

/**
 * SQL for an export; ClickHouse writes the file format itself and the rows stream to the client,
 * never held in Node. Arrow is written uncompressed so that apache-arrow in JS reads it.
 */
export function exportSql(q: ExportQuery, opts: { importedCost?: boolean } = {}): { sql: string; params: QueryParams } {
  // Memory, for an engine that may run inside this process: small Parquet row groups (the writer
  // holds a whole group, 1M rows by default), one reading thread, small blocks and read buffers.
  // Still faster than a client takes the file; measured in bench/attribution.ts.
  // One thread also keeps the order of an ordered subquery through the outer SELECT below.
  const settings = ` SETTINGS ${[
    "output_format_arrow_compression_method = 'none'",
    'output_format_parquet_row_group_size = 100000',
    'output_format_parquet_row_group_size_bytes = 16777216',
    'max_threads = 1',
    'max_block_size = 8192',
    'max_read_buffer_size = 131072',
    ...formatSettings[q.format],
  ].join(', ')}`;
  // CSV text cells are neutralised in an outer SELECT, so that filters and ORDER BY inside still
  // see the stored values (an alias named like a column would stand for it there).
  const outer = (name: string, number: boolean) => (q.format === 'csv' && !number ? `${csvText(name)} AS ${name}` : name);
  if (q.report === 'grouped') {
    const built = buildReportQuery(q, { noPaging: true, ...opts });
    const columns = [...built.columns.dimensions.map((d) => outer(d, false)), ...built.columns.metrics];
    return { sql: `SELECT ${columns.join(', ')} FROM (${built.sql})${settings}`, params: built.params };
  }
  const params: Record<string, string | number | string[]> = { ...rangeParams(q) };
  const time = q.basis === 'click' ? 'clicked_at' : 'converted_at';
  // FINAL collapses each status change's cancel row with the state it cancels while reading in
  // key order (click id, hence click time): no hash table, no sort, so memory stays flat for any
  // number of rows. What is left with sign 1 is each conversion at its latest status.
  // The stored `revenue` is the payout converted, whatever the status; the `revenue` column is what
  // counts, so a spreadsheet sum of it is the report's revenue. The table-qualified name is the
  // stored column: a bare `revenue` would mean the output column of the same name.
  const payout = 'attributed_conversions.revenue';
  const inner = `SELECT toString(click_id) AS clickId, conversion_type AS type, txid, network, status, amount, currency,
          ${payout} AS payout, ${conversionSumSql('revenue', { revenue: payout, sign: '1' })} AS revenue,
          formatDateTime(converted_at, '%Y-%m-%d %H:%i:%S', {tz:String}) AS convertedAt,
          formatDateTime(clicked_at, '%Y-%m-%d %H:%i:%S', {tz:String}) AS clickedAt,
          ${dimensionNames.map((d) => (dimensions[d] === d ? d : `${dimensions[d]} AS ${d}`)).join(', ')}
     FROM attributed_conversions FINAL
     WHERE sign = 1 AND ${time} >= ${rangeBoundsSql.from} AND ${time} < ${rangeBoundsSql.to}${filterConditions(q.filters, params)}
     ORDER BY click_id, conversion_type, txid`;
  const sql =
    q.format === 'csv'
      ? `SELECT ${attributionColumns.map((c) => outer(c.name, c.number === true)).join(', ')} FROM (${inner})${settings}`
      : `${inner}${settings}`;
  return { sql, params };
}

export function exportFileName(q: ExportQuery): string {
  const day = (t: string) => t.slice(0, 10);
  return `keyrev-${q.report}-${day(q.from)}_${day(q.to)}.${exportFormats[q.format].extension}`;
}

export async function* streamExport(wh: Warehouse, q: ExportQuery, signal: AbortSignal): AsyncIterable<Uint8Array> {
  const { sql, params } = exportSql(q, { importedCost: q.report === 'grouped' && (await hasImportedCost(wh, { ...rangeBoundsSql, params: rangeParams(q) })) });
  yield* wh.stream(sql, params, exportFormats[q.format].format, signal);
}


export interface ExportLimits {
  /** Exports that may run at once (KEYREV_MAX_CONCURRENT_EXPORTS). */
  maxConcurrent: number;
  /** The free space below which exports are refused (KEYREV_EXPORT_MIN_FREE_BYTES). */
  minFreeBytes: number;
  /** Where the embedded engine writes an export's file before it streams (the data directory); unset with a ClickHouse server, which writes nothing here. */
  spillDir: string | undefined;
}

/**
 * Lets an export start or refuses it. Each export makes ClickHouse read and format a whole range
 * (the embedded engine in this process, writing it to a temporary file in the data directory,
 * which the spool shares): a few at once, and none while that disk is nearly full, so that
 * exports cannot take the CPU, memory or disk that ingest needs. A refusal changes nothing.
 */
export class ExportGate {
  private running = 0;
  constructor(private readonly limits: ExportLimits) {}

  /** Takes a slot, or throws 429 KR_TOO_MANY_REQUESTS / 503 KR_DISK_LOW; the function returned gives the slot back (once). */
  async enter(): Promise<() => void> {
    const { maxConcurrent, minFreeBytes, spillDir } = this.limits;
    if (this.running >= maxConcurrent) {
      throw new KeyrevError('KR_TOO_MANY_REQUESTS', `${maxConcurrent} export${maxConcurrent === 1 ? ' is' : 's are'} running already (KEYREV_MAX_CONCURRENT_EXPORTS); try again when one has finished`);
    }
    // Taken before the disk is asked, so that exports arriving meanwhile count it.
    this.running++;
    let left = false;
    const leave = () => {
      if (left) return;
      left = true;
      this.running--;
    };
    if (spillDir !== undefined && minFreeBytes > 0) {
      const free = await freeBytes(spillDir).catch(() => undefined);
      if (free !== undefined && free < minFreeBytes) {
        leave();
        throw new KeyrevError('KR_DISK_LOW', `the data directory has ${mib(free)} free, less than the ${mib(minFreeBytes)} exports need (KEYREV_EXPORT_MIN_FREE_BYTES)`);
      }
    }
    return leave;
  }
}

async function freeBytes(dir: string): Promise<number> {
  const s = await fs.promises.statfs(dir);
  return s.bavail * s.bsize;
}

const mib = (bytes: number) => `${Math.floor(bytes / 1024 ** 2)} MiB`;
