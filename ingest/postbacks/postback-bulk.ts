import type { Outcome } from '../../core/conversion.js';
import { ndjsonLines } from './ndjson-lines.js';
import { isKeyrevError, type KeyrevError } from '../../core/errors.js';
import type { Caller } from './postback-auth.js';
import type { Accepted, PostbackIngest } from './postback-ingest.js';
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
} as const;

export interface BulkResult {
  lines: number;
  accepted: number;
  duplicates: number;
  rejected: number;
  errors: { line: number; reason: string }[];
  /** More lines were rejected than the answer lists. */
  errorsTruncated: boolean;
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
 * stays flat whatever the stream's size. Bad lines are answered, not fatal.
 */
export async function ingestNdjson(ingest: BulkIngest, caller: Caller, body: AsyncIterable<Buffer>): Promise<BulkResult> {
  const result: BulkResult = { lines: 0, accepted: 0, duplicates: 0, rejected: 0, errors: [], errorsTruncated: false };
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
  for await (const lines of ndjsonLines(body, bulkLimits.maxLineBytes)) {
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
    result.lines = lines.at(-1)!.line;
    if (batch.length === 0) continue;
    // acceptMany decides synchronously (duplicates and order are settled here); only durability is awaited.
    unsettled += batch.length;
    void ingest.acceptMany(caller, batch).then(
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
  if (unsettled > 0) await waitUntilBelow(0);
  result.errors.sort((a, b) => a.line - b.line);
  return result;
}
