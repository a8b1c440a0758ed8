import type { Warehouse } from '../warehouse/warehouse.js';
import { buildReportQuery, toReportRow, type ReportQuery } from './report-query.js';

export type ReportRow = Record<string, string | number | null>;

export interface Report {
  rows: ReportRow[];
  totals: ReportRow;
  /** Which tables answered: a rollup or the raw tables (a range off the quarter hour, a sub-id...). */
  source: string;
}

/** A grouped report (or, with `time`, a time series) and its totals, from the same query builder. */
export async function runReport(wh: Warehouse, q: ReportQuery, time?: ReportQuery['interval']): Promise<Report> {
  const page = buildReportQuery(q, time ? { time } : {});
  const total = buildReportQuery(q, { totals: true });
  const [rows, totals] = await Promise.all([wh.query<Record<string, unknown>>(page.sql, page.params), wh.query<Record<string, unknown>>(total.sql, total.params)]);
  return {
    rows: rows.map((r) => toReportRow(r, page.columns)),
    totals: toReportRow(totals[0] ?? {}, total.columns),
    source: page.source,
  };
}
