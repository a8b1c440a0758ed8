import { Worker } from 'node:worker_threads';
import type { ClickRowOptions } from './click-rows.js';

export interface EncodedSegment {
  data: Buffer;
  rows: number;
  skipped: number;
}

interface Pending {
  resolve(result: EncodedSegment): void;
  reject(err: Error): void;
}

/**
 * Runs the click row encoder (ingest/clicks/click-rows.ts) in a worker thread, so parsing and enrichment use the second core
 * while the main thread answers redirects. A worker that dies is replaced; what it had in hand
 * fails and is retried by the flusher (the segment is still on disk).
 */
export class WorkerClickEncoder {
  /** Started on first use and again after it died: the flusher's backoff paces the restarts. */
  private worker: Worker | undefined;
  private nextId = 0;
  private readonly pending = new Map<number, Pending>();

  constructor(private readonly opts: ClickRowOptions) {}

  encode(segment: Buffer): Promise<EncodedSegment> {
    const id = this.nextId++;
    this.worker ??= this.start();
    const worker = this.worker;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ id, data: segment });
    });
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    await worker?.terminate();
  }

  private start(): Worker {
    const worker = new Worker(new URL('./click-encoder-worker-entry.mjs', import.meta.url), { workerData: this.opts });
    worker.unref();
    worker.on('message', (msg: { id: number; data?: Uint8Array; rows?: number; skipped?: number; error?: string }) => {
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (msg.error !== undefined) p.reject(new Error(`row encoder: ${msg.error}`));
      else p.resolve({ data: Buffer.from(msg.data!.buffer, msg.data!.byteOffset, msg.data!.byteLength), rows: msg.rows!, skipped: msg.skipped! });
    });
    worker.on('error', (err) => this.failAll(err));
    worker.on('exit', () => {
      if (this.worker === worker) this.worker = undefined;
      this.failAll(new Error('row encoder worker exited'));
    });
    return worker;
  }

  private failAll(err: Error): void {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }
}
