import path from 'node:path';
import type { FastifyBaseLogger } from 'fastify';
import type { Metrics } from '../../core/metrics.js';
import { withTimeout } from '../../core/timeout.js';
import { assertIdentifier, type Warehouse } from '../../warehouse/warehouse.js';
import { Flusher } from './flusher.js';
import { Spool } from './spool.js';

export interface PipelineOptions {
  table: 'clicks' | 'postbacks';
  dataDir: string;
  maxTotalBytes: number;
  flushIntervalMs: number;
  /**
   * Turns a spool segment into the insert payload (one row a line, as the segment); segments are
   * inserted as they are without one. The flusher encodes a segment once, however often it is retried.
   */
  encode?: (segment: Buffer) => Promise<Buffer>;
  /**
   * The columns of the JSONCompactEachRow lines a segment holds (or `encode` makes). A segment
   * of JSONEachRow objects, left by an older version, is inserted as such.
   */
  columns?: readonly string[];
  /** Shared by the pipelines whose inserts must not overlap (see createInsertLock). */
  insertLock: InsertLock;
}

export type InsertLock = <T>(insert: () => Promise<T>) => Promise<T>;

/**
 * Runs inserts one at a time. Attribution views look clicks up when conversions arrive and
 * conversions up when clicks arrive; two overlapping inserts could each miss the other (the
 * sale never credited) or both see it (credited twice). In sequence, exactly one of them does.
 */
export function createInsertLock(): InsertLock {
  let tail: Promise<unknown> = Promise.resolve();
  return (insert) => {
    const run = tail.then(insert, insert);
    tail = run.catch(() => undefined);
    return run;
  };
}

export interface IngestPipeline {
  spool: Spool;
  flusher: Flusher;
  /** Ships what it can (bounded in time), then closes the spool; what is left is replayed on start. */
  close(): Promise<void>;
}

/** A table's way in: a durable spool on local disk and a flusher that batches it into ClickHouse. */
export function openPipeline(opts: PipelineOptions, warehouse: Warehouse, metrics: Metrics, log: FastifyBaseLogger): IngestPipeline {
  const { table } = opts;
  const spool = Spool.open({
    dir: path.join(opts.dataDir, 'spool', table),
    maxSegmentBytes: 32 * 1024 * 1024,
    maxSegmentAgeMs: opts.flushIntervalMs,
    maxTotalBytes: opts.maxTotalBytes,
  });
  const { encode, insertLock, columns } = opts;
  // Rows are the whole payload or, while a refused segment is split, a run of its lines.
  const sink = async (rows: Buffer, dedupToken: string) => {
    // A segment is written by one run, so its first byte tells its format: '[' an array, '{' an object.
    const compact = columns !== undefined && rows[0] === 0x5b;
    await insertLock(() =>
      warehouse.insertRaw(table, rows, compact ? 'JSONCompactEachRow' : 'JSONEachRow', compact ? { dedupToken, columns } : { dedupToken }),
    );
  };
  const flusher = new Flusher(spool, sink, {
    intervalMs: Math.min(100, opts.flushIntervalMs),
    maxBackoffMs: 5_000,
    log: log.child({ spool: table }),
    ...(encode ? { encode } : {}),
    onRowsWritten: (rows) => metrics.rowsWritten.inc({ table }, rows),
    onRowsRejected: (rows) => metrics.rowsRejected.inc({ table }, rows),
    onFailure: (reason) => metrics.flushFailures.inc({ table, reason }),
    // Each row's first value is its id (click_id, postback_id), a decimal string.
    ...(columns ? { missingLines: (payload: Buffer, starts: readonly number[]) => missingLines(warehouse, table, columns[0]!, payload, starts) } : {}),
  });
  metrics.observeSpool(table, spool);
  flusher.start();
  return {
    spool,
    flusher,
    close: async () => {
      await flusher.stop();
      await withTimeout(flusher.drain(), 5_000, () => new Error('drain timed out')).catch(() => undefined);
      await spool.close();
    },
  };
}

/** The lines of a JSONCompactEachRow payload whose id the table does not hold (none for other formats). */
async function missingLines(warehouse: Warehouse, table: string, idColumn: string, payload: Buffer, starts: readonly number[]): Promise<number[]> {
  if (payload[0] !== 0x5b) return [];
  const ids: string[] = [];
  for (let line = 0; line + 1 < starts.length; line++) {
    const m = leadingId.exec(payload.toString('utf8', starts[line], Math.min(starts[line + 1]!, starts[line]! + 32)));
    ids.push(m ? m[1]! : '');
  }
  const asked = ids.filter((id) => id !== '').map((id) => BigInt(id));
  const held = new Set<string>();
  // In shares: a server takes query parameters in the URL, whose length it bounds (a segment holds thousands of ids).
  for (let i = 0; i < asked.length; i += missingLinesPerQuery) {
    const rows = await warehouse.query<{ id: string }>(
      `SELECT toString(${assertIdentifier(idColumn)}) AS id FROM ${assertIdentifier(table)} WHERE ${idColumn} IN {ids:Array(UInt64)}`,
      { ids: asked.slice(i, i + missingLinesPerQuery) },
    );
    for (const r of rows) held.add(r.id);
  }
  return ids.flatMap((id, line) => (id !== '' && !held.has(id) ? [line] : []));
}

const leadingId = /^\["?(\d{1,20})"?[,\]]/;
/** 500 ids of up to 20 digits: about 11 kB of URL, under every HTTP server's default limit. */
const missingLinesPerQuery = 500;
