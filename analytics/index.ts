// The analytics module's public surface.
export { analyticsPlugin } from './plugin.js';
export { csvText } from './export.js';
export { timeRangeFields } from './time-range.js';
export { conversionSumSql } from './report-metrics.js';
export { boundYears } from './time-range.js';
