import { hasImportedCost } from '../warehouse/cost-store.js';
import type { Warehouse } from '../warehouse/warehouse.js';
import { buildReportQuery, toReportRow, type ReportQuery } from './report-query.js';
import { rangeBoundsSql, rangeParams } from './time-range.js';

export type ReportRow = Record<string, string | number | null>;

export interface Report {
  rows: ReportRow[];
  totals: ReportRow;
  /** Which tables answered: a rollup or the raw tables (a range off the quarter hour, a sub-id...). */
  source: string;
}

/** A grouped report (or, with `time`, a time series) and its totals, from the same query builder. */
export async function runReport(wh: Warehouse, q: ReportQuery, time?: ReportQuery['interval']): Promise<Report> {
  const importedCost = await hasImportedCost(wh, { ...rangeBoundsSql, params: rangeParams(q) });
  const page = buildReportQuery(q, time ? { time, importedCost } : { importedCost });
  const total = buildReportQuery(q, { totals: true, importedCost });
  const [rows, totals] = await Promise.all([wh.query<Record<string, unknown>>(page.sql, page.params), wh.query<Record<string, unknown>>(total.sql, total.params)]);
  return {
    rows: rows.map((r) => toReportRow(r, page.columns)),
    totals: toReportRow(totals[0] ?? {}, total.columns),
    source: page.source,
  };
}
