import { WarehouseError, firstLine } from '../../warehouse/warehouse.js';
import type { Segment, Spool } from './spool.js';

export interface FlusherOptions {
  /** How often to look for a segment to ship. */
  intervalMs: number;
  /** Longest wait between tries while ClickHouse is down. */
  maxBackoffMs: number;
  log: { warn(obj: object, msg: string): void; error(obj: object, msg: string): void; info(obj: object, msg: string): void };
  /**
   * Turns a segment into its insert payload (newline-delimited rows, in order); segments are
   * inserted as they are without one.
   */
  encode?(segment: Buffer): Promise<Buffer>;
  onRowsWritten?(rows: number): void;
  /** Rows ClickHouse refused, set aside in the spool's rejected/ directory. */
  onRowsRejected?(rows: number): void;
  onFailure?(reason: 'unavailable' | 'refused'): void;
  /**
   * The lines of a payload whose rows the table does not hold (by each row's id), asked only for
   * segments found on disk at start; see ship().
   */
  missingLines?(payload: Buffer, starts: readonly number[]): Promise<number[]>;
}

/**
 * Inserts newline-delimited rows: a segment's whole payload, or a run of its lines while a refused
 * segment is split (the pipeline knows the format). The token makes a replay a no-op.
 */
export type SegmentSink = (rows: Buffer, dedupToken: string) => Promise<void>;

/**
 * ClickHouse answered, but about itself, not about the rows: busy, short of memory or disk,
 * read-only, timed out, not letting keyrev in, or a table or column missing. Splitting the
 * segment would send every row alone and set them all aside, and a part stored before a crash,
 * refused like this when replayed, would be split and its rows stored twice (see insertLines).
 * These wait and are tried again, as while ClickHouse is unreachable.
 */
const notAboutTheRows = new Set([
  16, // NO_SUCH_COLUMN_IN_TABLE
  60, // UNKNOWN_TABLE
  81, // UNKNOWN_DATABASE
  159, // TIMEOUT_EXCEEDED
  164, // READONLY
  173, // CANNOT_ALLOCATE_MEMORY
  202, // TOO_MANY_SIMULTANEOUS_QUERIES
  203, // NO_FREE_CONNECTION
  209, // SOCKET_TIMEOUT
  210, // NETWORK_ERROR
  236, // ABORTED
  241, // MEMORY_LIMIT_EXCEEDED
  242, // TABLE_IS_READ_ONLY
  243, // NOT_ENOUGH_SPACE
  252, // TOO_MANY_PARTS
  394, // QUERY_WAS_CANCELLED
  425, // SYSTEM_ERROR
  497, // ACCESS_DENIED
  516, // AUTHENTICATION_FAILED
  999, // KEEPER_EXCEPTION
]);

/**
 * What a failed insert says about its rows: 'rows' ClickHouse read them and refused (the same rows
 * would be refused again), 'view' a materialized view refused them after the table may have
 * stored them, undefined it said nothing about them (unreachable, busy, the encoder failed).
 */
function refusalOf(err: unknown): 'rows' | 'view' | undefined {
  if (!(err instanceof WarehouseError) || err.unavailable) return undefined;
  if (err.clickhouseCode !== undefined && notAboutTheRows.has(err.clickhouseCode)) return undefined;
  // ClickHouse writes the table's part before it runs the views: seen with the embedded engine,
  // 100 rows in the table, none in the view, the insert refused. Its halves would store them again.
  return / while pushing to view /.test(err.message) ? 'view' : 'rows';
}

/** One segment's insert: its payload, where each line starts, and what became of its lines. */
interface SegmentInsert {
  segment: Segment;
  token: string;
  payload: Buffer;
  /** Offsets of each line's first byte, and the payload's length last: line i is starts[i]..starts[i + 1]. */
  starts: number[];
  /** Line ranges ("from-to") ClickHouse refused whole, on disk before any part of them was sent. */
  refused: Set<string>;
  written: number;
  rejected: { line: number; reason: string }[];
}

/**
 * Moves sealed spool segments into ClickHouse, oldest first, and deletes each only after
 * ClickHouse acknowledged it. While ClickHouse is unreachable it backs off and tries again;
 * the spool keeps growing and nothing is lost. A segment ClickHouse refuses is split until only
 * the refused rows are left; those are set aside, the others inserted.
 */
export class Flusher {
  private timer: NodeJS.Timeout | undefined;
  /** Shipping runs one pass at a time, whether scheduled or asked for by drain(). */
  private chain: Promise<void> = Promise.resolve();
  private backoffMs = 0;
  private stopped = true;
  /** Why the last pass stopped short, for drain() to tell its caller. */
  private failure: Error | undefined;
  /**
   * A retried segment is inserted as it was first encoded: encoding keeps state (a visitor's
   * first click is the unique one), so encoding it again would give other rows under the same
   * tokens. One is enough: segments are shipped one at a time and the one that failed is retried.
   */
  private encoded: { token: string; payload: Buffer } | undefined;

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
      // exclusive() logs a failed pass; the next one is scheduled whatever happened (an unhandled rejection would end the process).
      void this.exclusive(() => this.ship(false))
        .catch(() => undefined)
        .finally(() => this.schedule(this.backoffMs || this.opts.intervalMs));
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
      let done: SegmentInsert;
      try {
        done = await this.insertSegment(segment);
        // A recovered segment's check asks ClickHouse too: failing, the segment stays and both are tried again.
        if (segment.recovered && done.rejected.length === 0) await this.insertMissing(done);
      } catch (err) {
        // Unreachable, busy, or the encoder failed: the segment stays and is tried again.
        this.failure = err as Error;
        this.opts.onFailure?.('unavailable');
        this.backoffMs = Math.min(this.opts.maxBackoffMs, Math.max(this.opts.intervalMs, this.backoffMs * 2));
        this.opts.log.warn({ err: (err as Error).message, retryInMs: this.backoffMs }, 'ClickHouse unavailable; spooling');
        return;
      }
      if (done.rejected.length > 0) {
        // Kept on disk for an operator, with ClickHouse's reason for each row.
        const kept = await this.spool.quarantine(segment, {
          lines: Buffer.concat(done.rejected.map(({ line }) => done.payload.subarray(done.starts[line], done.starts[line + 1]))),
          reasons: done.rejected.map(({ line, reason }) => `line ${line + 1} of ${done.starts.length - 1}: ${reason}\n`).join(''),
        });
        this.opts.onRowsRejected?.(done.rejected.length);
        this.opts.log.error(
          { kept, rejected: done.rejected.length, written: done.written, reason: done.rejected[0]!.reason },
          'ClickHouse refused rows of a spool segment; inserted the others, set these aside',
        );
      } else {
        await this.spool.remove(segment);
      }
      this.encoded = undefined;
      if (done.refused.size > 0 || done.rejected.length > 0) this.opts.onFailure?.('refused');
      this.opts.onRowsWritten?.(done.written);
      if (this.backoffMs > 0) this.opts.log.info({}, 'ClickHouse is back; draining the spool');
      this.backoffMs = 0;
    }
  }

  /**
   * A segment found on disk at start may have been in an insert when keyrev was killed. The
   * embedded engine runs in keyrev's process, and ClickHouse records an insert's dedup token
   * before it commits the part: killed between the two, the part is gone but the token stays,
   * and the replay with that token is taken as a duplicate and stores nothing (seen as answered
   * clicks missing after a SIGKILL). So after a replay, rows the table lacks are inserted again
   * under a token of their own; rows it holds are not sent twice.
   */
  private async insertMissing(done: SegmentInsert): Promise<void> {
    const missing = (await this.opts.missingLines?.(done.payload, done.starts)) ?? [];
    if (missing.length === 0) return;
    const rows = Buffer.concat(missing.map((line) => done.payload.subarray(done.starts[line], done.starts[line + 1])));
    await this.sink(rows, `${done.token}:missing-${missing.length}`);
    this.opts.log.warn({ rows: missing.length, token: done.token }, 'a replayed spool segment was taken as a duplicate without being stored; inserted its missing rows');
  }

  private async insertSegment(segment: Segment): Promise<SegmentInsert> {
    const token = this.spool.tokenOf(segment);
    let payload: Buffer;
    if (!this.opts.encode) payload = await this.spool.read(segment);
    else if (this.encoded?.token === token) payload = this.encoded.payload;
    else payload = (this.encoded = { token, payload: await this.opts.encode(await this.spool.read(segment)) }).payload;
    const starts = lineStarts(payload);
    const done: SegmentInsert = { segment, token, payload, starts, refused: await this.spool.refusedRanges(segment), written: 0, rejected: [] };
    await this.insertLines(done, 0, starts.length - 1);
    return done;
  }

  /**
   * Inserts lines from..to (exclusive) of a segment's payload. If ClickHouse refuses them, it
   * inserts each half the same way, so in the end only the lines it refuses alone are left out
   * (about two inserts per refused line and halving, in order).
   *
   * Dedup tokens: the whole payload carries the segment's token, a part `<token>:<from>-<to>`.
   * A segment's payload has the same lines every time it is read (its file does not change, and
   * the encoder keeps or skips a record the same way each time), so a token always names the same
   * rows, and a replay after a crash finds the parts stored before it already there. What must
   * not happen is a range stored whole and also in parts: both would count. A range's halves are
   * sent only once its refusal is on disk (fdatasync'd next to the segment), and a range on
   * record as refused is never sent whole again, however ClickHouse would answer now. So the
   * ranges ever sent form one tree, the same after any number of crashes: a refusal that would
   * not recur (ClickHouse busy for a moment) still cannot make a replay store the whole after
   * its halves. ClickHouse stores nothing of an insert it refuses (one block: a segment is far
   * below max_insert_block_size rows) unless a materialized view refused it: the table may then
   * hold the rows, so such a range is set aside whole, never split (sent again, the table finds
   * its token). Refusals about ClickHouse itself are not split either (notAboutTheRows): a range
   * stored before a crash and refused like that on replay would be. One refused line is set
   * aside without a record: it has no halves.
   */
  private async insertLines(done: SegmentInsert, from: number, to: number): Promise<void> {
    if (from === to) return;
    const range = `${from}-${to}`;
    if (!done.refused.has(range)) {
      const whole = from === 0 && to === done.starts.length - 1;
      try {
        await this.sink(done.payload.subarray(done.starts[from], done.starts[to]), whole ? done.token : `${done.token}:${range}`);
        done.written += to - from;
        return;
      } catch (err) {
        const refusal = refusalOf(err);
        if (refusal === undefined) throw err;
        const reason = firstLine((err as Error).message);
        if (refusal === 'view') {
          const note = 'a materialized view refused these rows (the table may hold them; not split, so none is stored twice)';
          for (let line = from; line < to; line++) done.rejected.push({ line, reason: `${note}: ${reason}` });
          return;
        }
        if (to - from === 1) {
          done.rejected.push({ line: from, reason });
          return;
        }
        await this.spool.noteRefused(done.segment, from, to);
        done.refused.add(range);
      }
    }
    const mid = (from + to) >>> 1;
    await this.insertLines(done, from, mid);
    await this.insertLines(done, mid, to);
  }
}

/** Where each line of a payload starts, and its length last; a last line without its \n counts too. */
function lineStarts(data: Buffer): number[] {
  const starts = [0];
  for (let i = data.indexOf(0x0a); i !== -1; i = data.indexOf(0x0a, i + 1)) starts.push(i + 1);
  if (starts.at(-1)! < data.length) starts.push(data.length);
  return starts;
}
