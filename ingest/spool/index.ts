// The spool module's public surface: durable local append, then batches into ClickHouse.
export { spoolPlugin, type Pipelines, type PipelineRequest, type SpoolPluginOptions } from './plugin.js';
export type { IngestPipeline } from './pipeline.js';
export type { Spool, SpoolStats } from './spool.js';
