import type { Json } from './api.js';

/** GET /api/report: one row per group (dimensions as text, metrics as numbers or null), and the totals. */
export type Report = Json<'/api/report', 'get', 200>;

/** GET /api/report/meta: the dimensions a report can group by and the metrics it shows, with labels. */
export type ReportMeta = Json<'/api/report/meta', 'get', 200>;
export type DimensionMeta = ReportMeta['dimensions'][number];
export type MetricMeta = ReportMeta['metrics'][number];
