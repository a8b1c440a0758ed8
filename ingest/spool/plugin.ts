import fp from 'fastify-plugin';
import type { Config } from '../../core/config.js';
import { createInsertLock, openPipeline, type IngestPipeline, type PipelineOptions } from './pipeline.js';
import type { SpoolStats } from './spool.js';

/** A module's way into ClickHouse: it names its table and format; the spool plugin adds the rest. */
export type PipelineRequest = Pick<PipelineOptions, 'table' | 'columns' | 'encode'>;

/**
 * Every pipeline of the app: they share one insert lock (attribution views must see clicks and
 * conversions one batch at a time) and report to /health. Each module closes its own.
 */
export interface Pipelines {
  open(request: PipelineRequest): IngestPipeline;
  get(table: PipelineOptions['table']): IngestPipeline | undefined;
  stats(): Record<string, SpoolStats>;
}

declare module 'fastify' {
  interface FastifyInstance {
    pipelines: Pipelines;
  }
}

export type SpoolPluginOptions = Pick<Config, 'dataDir' | 'spoolMaxBytes' | 'flushIntervalMs'>;

export const spoolPlugin = fp<SpoolPluginOptions>(
  async (app, config) => {
    const insertLock = createInsertLock();
    const opened = new Map<string, IngestPipeline>();
    app.decorate('pipelines', {
      open(request: PipelineRequest): IngestPipeline {
        const pipeline = openPipeline(
          { ...request, insertLock, dataDir: config.dataDir, maxTotalBytes: config.spoolMaxBytes, flushIntervalMs: config.flushIntervalMs },
          app.warehouse,
          app.metrics,
          app.log,
        );
        opened.set(request.table, pipeline);
        return pipeline;
      },
      get: (table: PipelineOptions['table']) => opened.get(table),
      stats: () => Object.fromEntries([...opened].map(([table, p]) => [table, p.spool.stats()])),
    });
  },
  { name: 'keyrev-spool', dependencies: ['keyrev-platform'] },
);
