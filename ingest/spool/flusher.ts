import { WarehouseError } from '../../warehouse/warehouse.js';
import type { Spool } from './spool.js';

export interface FlusherOptions {
  /** How often to look for a segment to ship. */
  intervalMs: number;
  /** Longest wait between tries while ClickHouse is down. */
  maxBackoffMs: number;
  log: { warn(obj: object, msg: string): void; error(obj: object, msg: string): void; info(obj: object, msg: string): void };
  onRowsWritten?(rows: number): void;
  onFailure?(reason: 'unavailable' | 'refused'): void;
}

/** Inserts one whole segment (the pipeline knows its format); the token makes a replay a no-op. */
export type SegmentSink = (data: Buffer, dedupToken: string) => Promise<void>;

/**
 * Moves sealed spool segments into ClickHouse, oldest first, and deletes each only after
 * ClickHouse acknowledged it. While ClickHouse is unreachable it backs off and tries again;
 * the spool keeps growing and nothing is lost.
 */
export class Flusher {
  private timer: NodeJS.Timeout | undefined;
  /** Shipping runs one pass at a time, whether scheduled or asked for by drain(). */
  private chain: Promise<void> = Promise.resolve();
  private backoffMs = 0;
  private stopped = true;
  /** Why the last pass stopped short, for drain() to tell its caller. */
  private failure: Error | undefined;

  constructor(
    private readonly spool: Spool,
    private readonly sink: SegmentSink,
    private readonly opts: FlusherOptions,
  ) {}

  /**
   * Resolves once the spool holds at most `maxBacklogBytes`, so a producer can wait here and run
   * at the speed of the inserts. While ClickHouse is down (or the flusher stopped) it resolves at
   * once: then the spool takes everything, as it exists to.
   */
  async keepPace(maxBacklogBytes: number): Promise<void> {
    while (this.spool.stats().bytes > maxBacklogBytes && !this.stopped && this.backoffMs === 0) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.chain;
  }

  /** Seals and ships everything now; resolves when the spool is empty, rejects (with ClickHouse's error) if ClickHouse fails. */
  async drain(): Promise<void> {
    await this.exclusive(() => this.ship(true));
    if (this.spool.stats().segments > 0) throw this.failure ?? new Error('spool not drained: ClickHouse did not take every segment');
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.exclusive(() => this.ship(false)).finally(() => this.schedule(this.backoffMs || this.opts.intervalMs));
    }, delayMs);
    this.timer.unref();
  }

  private exclusive(pass: () => Promise<void>): Promise<void> {
    const run = this.chain.then(pass);
    this.chain = run.catch((err: unknown) => this.opts.log.error({ err }, 'spool flush pass failed'));
    return run;
  }

  private async ship(force: boolean): Promise<void> {
    this.failure = undefined;
    for (const segment of await this.spool.takeReady({ force })) {
      const data = await this.spool.read(segment);
      try {
        await this.sink(data, this.spool.tokenOf(segment));
      } catch (err) {
        if (err instanceof WarehouseError && !err.unavailable) {
          // ClickHouse read the segment and refused it: retrying cannot help, and it must not
          // hold back every segment behind it. Kept on disk for an operator.
          const kept = await this.spool.quarantine(segment);
          this.opts.onFailure?.('refused');
          this.opts.log.error({ err, kept }, 'ClickHouse refused a spool segment; moved aside');
          continue;
        }
        this.failure = err as Error;
        this.opts.onFailure?.('unavailable');
        this.backoffMs = Math.min(this.opts.maxBackoffMs, Math.max(this.opts.intervalMs, this.backoffMs * 2));
        this.opts.log.warn({ err: (err as Error).message, retryInMs: this.backoffMs }, 'ClickHouse unavailable; spooling');
        return;
      }
      await this.spool.remove(segment);
      this.opts.onRowsWritten?.(countLines(data));
      if (this.backoffMs > 0) this.opts.log.info({}, 'ClickHouse is back; draining the spool');
      this.backoffMs = 0;
    }
  }
}

function countLines(data: Buffer): number {
  let n = 0;
  for (let i = data.indexOf(0x0a); i !== -1; i = data.indexOf(0x0a, i + 1)) n++;
  return n;
}
