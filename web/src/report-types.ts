/** The report API's answer (GET /api/report): one row per group, metrics as numbers. */
export interface ReportRow {
  [dimension: string]: string | number | null;
  clicks: number;
  conversions: number;
  revenue: number;
}

export interface Report {
  rows: ReportRow[];
  totals: Partial<ReportRow>;
}

export const metricColumns = ['clicks', 'uniqueClicks', 'conversions', 'sales', 'revenue', 'cost', 'profit', 'roi', 'epc', 'cr'] as const;
