import type { Outcome } from '../../core/conversion.js';
import { ndjsonLines } from './ndjson-lines.js';
import { isKeyrevError, type KeyrevError } from '../../core/errors.js';
import type { Caller } from './postback-auth.js';
import type { Accepted, PostbackIngest } from './postback-ingest.js';
import { LogShare } from './postback-log.js';
import { jsonParams } from './postback-request.js';

/** What a bulk stream needs: decisions a batch at a time, and a pace the inserts can follow. */
export interface BulkIngest {
  acceptMany: PostbackIngest['acceptMany'];
  /** Waits while the spool holds more than this that ClickHouse is busy taking (Flusher.keepPace). */
  keepPace(maxBacklogBytes: number): Promise<void>;
}

export const bulkLimits = {
  maxLineBytes: 16 * 1024,
  /** Lines decided but not yet durable; bounds memory while the spool's fsync catches up. */
  inFlight: 2_000,
  /** Spool bytes not yet in ClickHouse past which a stream waits for the inserts (see keepPace). */
  maxBacklogBytes: 64 * 1024 * 1024,
  /** Rejected lines listed in the answer; the rest are only counted. */
  listedErrors: 1_000,
  /**
   * Rejected lines after which the rest of a stream is not read: a stream of bad lines (a few KB
   * of gzip can hold millions of `{}`) costs a bounded amount of work, and its answer says why it stopped.
   */
  maxRejected: 10_000,
  /** Entries (refusals, warnings) one stream may write to the postback log, then one summary (LogShare). */
  loggedPerStream: 100,
  /** A gzip stream may inflate to this many times the compressed bytes read, plus inflateSlackBytes (413 past it). */
  maxInflateRatio: 100,
  inflateSlackBytes: 1024 * 1024,
} as const;

export interface BulkResult {
  lines: number;
  accepted: number;
  duplicates: number;
  rejected: number;
  errors: { line: number; reason: string }[];
  /** More lines were rejected than the answer lists. */
  errorsTruncated: boolean;
  /** Set when keyrev stopped reading before the stream's end: why, and from which line on nothing was read. */
  stopped?: string;
}

const counted: Record<Outcome, 'accepted' | 'duplicates'> = {
  new: 'accepted',
  transition: 'accepted',
  update: 'accepted',
  add: 'accepted',
  duplicate: 'duplicates',
  stale: 'duplicates',
};

/**
 * Reads an NDJSON stream of postbacks, each line decided like a single postback. Reading pauses
 * while too many lines wait for the spool (backpressure through the request stream), so memory
 * stays flat whatever the stream's size. Bad lines are answered, not fatal, up to maxRejected of
 * them; reading also stops after maxSeconds (KEYREV_BULK_MAX_SECONDS), without waiting for a client
 * that stalls. Either way the lines read are answered and `stopped` says why the rest were not.
 * An error of the source (too large, broken gzip) is thrown once the lines read are settled.
 */
export async function ingestNdjson(ingest: BulkIngest, caller: Caller, body: AsyncIterable<Buffer>, limits: { maxSeconds: number }): Promise<BulkResult> {
  const result: BulkResult = { lines: 0, accepted: 0, duplicates: 0, rejected: 0, errors: [], errorsTruncated: false };
  const share = new LogShare(bulkLimits.loggedPerStream);
  const notRead = () => `the rest of the stream was not read, from line ${result.lines + 1} on`;
  const reject = (line: number, reason: string) => {
    result.rejected++;
    if (result.errors.length < bulkLimits.listedErrors) result.errors.push({ line, reason });
    else result.errorsTruncated = true;
  };
  // Batches keep being read while earlier ones wait for their fsync; past the bound, reading waits.
  let unsettled = 0;
  let wake: { below: number; resolve: () => void } | undefined;
  const settled = (lines: number) => {
    unsettled -= lines;
    if (wake && unsettled <= wake.below) {
      const { resolve } = wake;
      wake = undefined;
      resolve();
    }
  };
  const count = (line: number, r: Accepted | KeyrevError) => {
    // A 5xx (ClickHouse could not be asked) is this side's doing: the line may be sent again.
    if (isKeyrevError(r)) reject(line, r.statusCode >= 500 ? `${r.message}: send this line again` : r.message);
    else if (!r.durable) reject(line, 'spool full, not recorded: send this line again');
    else result[counted[r.outcome]]++;
  };
  const waitUntilBelow = (below: number) => new Promise<void>((resolve) => (wake = { below, resolve }));
  try {
    for await (const { lines, read } of ndjsonLines(until(body, limits.maxSeconds * 1000), bulkLimits.maxLineBytes)) {
      const batch: { params: Map<string, string>; source: string; line: number }[] = [];
      for (const { line, text } of lines) {
        if (text === undefined) {
          reject(line, `line longer than ${bulkLimits.maxLineBytes} bytes`);
          continue;
        }
        const params = jsonParams(text);
        if (params) batch.push({ params, source: `/postbacks line ${line}`, line });
        else reject(line, 'not a JSON object');
      }
      result.lines = read;
      if (batch.length > 0) {
        // acceptMany decides synchronously (duplicates and order are settled here); only durability is awaited.
        unsettled += batch.length;
        void ingest.acceptMany(caller, batch, share).then(
          (answers) => {
            answers.forEach((r, i) => count(batch[i]!.line, r));
            settled(batch.length);
          },
          // acceptMany answers every line, failures included; this only keeps a bug from hanging the stream.
          () => {
            for (const { line } of batch) reject(line, 'not recorded: send this line again');
            settled(batch.length);
          },
        );
        if (unsettled >= bulkLimits.inFlight) await waitUntilBelow(bulkLimits.inFlight / 2);
        await ingest.keepPace(bulkLimits.maxBacklogBytes);
      }
      // Counted after the awaits, which let earlier batches' refusals in.
      if (result.rejected >= bulkLimits.maxRejected) {
        result.stopped = `too many rejected lines (${bulkLimits.maxRejected}): ${notRead()}`;
        break;
      }
    }
  } catch (err) {
    if (err !== timeUp) throw err;
    result.stopped = `time limit of ${limits.maxSeconds} s reached (KEYREV_BULK_MAX_SECONDS): ${notRead()}`;
  } finally {
    // Also before an error is answered: the lines before it are recorded (or refused) by then, as the answer says.
    if (unsettled > 0) await waitUntilBelow(0);
  }
  result.errors.sort((a, b) => a.line - b.line);
  return result;
}

/** Thrown by `until`; an error, not an end, so that a line cut off by the time limit is not read as a whole one. */
const timeUp = new Error('time limit reached');

/**
 * A source's chunks until `ms` have passed: then it throws timeUp at once, even while the source
 * waits for a client that sends nothing. The source is left as it is (not returned), so the
 * request is not torn down before its answer is sent.
 */
async function* until<T>(source: AsyncIterable<T>, ms: number): AsyncGenerator<T> {
  const chunks = source[Symbol.asyncIterator]();
  // Only the read under way waits for the timer (a race per chunk would pile callbacks on one promise).
  let expired = false;
  let wake: (() => void) | undefined;
  const timer = setTimeout(() => {
    expired = true;
    wake?.();
  }, ms);
  try {
    for (;;) {
      if (expired) throw timeUp;
      const next = chunks.next();
      const first = await new Promise<IteratorResult<T> | 'timeout'>((resolve, reject) => {
        wake = () => resolve('timeout');
        next.then(resolve, reject);
      });
      wake = undefined;
      // The read left pending may still fail later (the client goes away): `then` above has handled that.
      if (first === 'timeout') throw timeUp;
      if (first.done) return;
      yield first.value;
    }
  } finally {
    clearTimeout(timer);
  }
}
