import { Readable } from 'node:stream';
import { parse } from 'csv-parse';
import { fail, isKeyrevError } from '../core/errors.js';
import { headerColumns, type CostField } from './cost-columns.js';
import { ndjsonCostRow, type RawCostRow } from './cost-row.js';

export const costUploadLimits = {
  /** The largest upload read (a year of daily keyword rows of a large account is far less). */
  maxBytes: 64 * 1024 * 1024,
  /** The longest line (CSV record or NDJSON line). */
  maxLineBytes: 64 * 1024,
  /** Rows at most in one upload. */
  maxRows: 500_000,
  /** Lines before the header row that may be titles. */
  maxTitleLines: 20,
};

/** A line of an upload: its number (1-based, as an editor shows it) and the row, or why it cannot be read. */
export type UploadLine = { line: number; row: RawCostRow } | { line: number; error: string };

/** The body, counted: past maxBytes the upload is refused whole (413). */
async function* bounded(body: AsyncIterable<Buffer>): AsyncIterable<Buffer> {
  let bytes = 0;
  for await (const chunk of body) {
    bytes += chunk.length;
    if (bytes > costUploadLimits.maxBytes) fail('KR_PAYLOAD_TOO_LARGE', `the upload is larger than ${costUploadLimits.maxBytes / 1024 / 1024} MB; split it by days`);
    yield chunk;
  }
}

/**
 * The delimiter of a CSV: the one of comma, semicolon and tab that splits its header line most
 * (German exports use semicolons, since their decimal commas would split values; UI exports for
 * Excel use tabs). The header is the first line naming a spend column.
 */
function detectDelimiter(head: string): string {
  const lines = head.split(/\r?\n/).slice(0, costUploadLimits.maxTitleLines + 1);
  const header = lines.find((l) => /cost|spend|kosten/i.test(l)) ?? lines[0] ?? '';
  const counts = [',', ';', '\t'].map((d) => ({ d, n: header.split(d).length }));
  return counts.reduce((best, c) => (c.n > best.n ? c : best)).d;
}

const cell = (cells: readonly string[], i: number | undefined) => (i === undefined ? undefined : (cells[i] ?? ''));

/**
 * CSV rows: lines before the header row (titles) and rows with fewer than two filled cells
 * (blank lines, a copyright footer) are skipped, as are totals rows (a first filled cell starting
 * with "Total", "Gesamt" or "Summe").
 */
export async function* csvLines(body: AsyncIterable<Buffer>): AsyncIterable<UploadLine> {
  const it = bounded(body)[Symbol.asyncIterator]();
  const headChunks: Buffer[] = [];
  let headBytes = 0;
  let ended = false;
  while (headBytes < 16 * 1024) {
    const next = await it.next();
    if (next.done) {
      ended = true;
      break;
    }
    headChunks.push(next.value);
    headBytes += next.value.length;
  }
  const head = Buffer.concat(headChunks);
  if ((head[0] === 0xff && head[1] === 0xfe) || (head[0] === 0xfe && head[1] === 0xff)) fail('KR_BAD_REQUEST', 'the file is UTF-16: export it as CSV in UTF-8');
  const parser = parse({
    delimiter: detectDelimiter(head.toString('utf8')),
    bom: true,
    relax_column_count: true,
    relax_quotes: true,
    skip_empty_lines: true,
    max_record_size: costUploadLimits.maxLineBytes,
    info: true,
  });
  const source = Readable.from(
    (async function* () {
      yield head;
      if (!ended) for (let next = await it.next(); !next.done; next = await it.next()) yield next.value;
    })(),
  );
  source.on('error', (err) => parser.destroy(err));
  source.pipe(parser);

  let columns: Partial<Record<CostField, number>> | undefined;
  let recordLine = 0;
  try {
    for await (const { record, info } of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      recordLine = info.lines;
      if (!columns) {
        columns = headerColumns(record);
        if (!columns && info.lines > costUploadLimits.maxTitleLines) break;
        continue;
      }
      const filled = record.filter((c) => c.trim() !== '');
      if (filled.length < 2 || /^(total|gesamt|summe)/i.test(filled[0]!.trim())) continue;
      const adgroup = [cell(record, columns.adgroupId), cell(record, columns.adgroupName)].filter((a): a is string => a !== undefined);
      yield {
        line: info.lines,
        row: {
          date: cell(record, columns.date)!,
          keyword: cell(record, columns.keyword)!,
          matchType: cell(record, columns.matchType),
          adgroup,
          ad: cell(record, columns.ad),
          spend: cell(record, columns.spend)!,
          currency: cell(record, columns.currency),
        },
      };
    }
  } catch (err) {
    if (isKeyrevError(err)) throw err;
    fail('KR_BAD_REQUEST', `line ${recordLine + 1}: ${(err as Error).message}`);
  }
  if (!columns) fail('KR_BAD_REQUEST', 'no header row with a date (Day, Date or TimePeriod), Keyword and Cost or Spend column in the first 20 lines');
}

/** NDJSON rows: one JSON object per line, blank lines skipped. */
export async function* ndjsonLines(body: AsyncIterable<Buffer>): AsyncIterable<UploadLine> {
  let pending = '';
  let line = 0;
  const decoder = new TextDecoder();
  const take = (text: string): UploadLine | undefined => {
    line++;
    if (text.trim() === '') return undefined;
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      return { line, error: 'not JSON' };
    }
    const parsed = ndjsonCostRow.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      return { line, error: `${issue.path.join('.') || 'line'}: ${issue.message}` };
    }
    const r = parsed.data;
    return { line, row: { ...r, spend: String(r.spend), adgroup: r.adgroup === undefined ? [] : [r.adgroup] } };
  };
  for await (const chunk of bounded(body)) {
    pending += decoder.decode(chunk, { stream: true });
    let start = 0;
    for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n', start)) {
      const result = take(pending.slice(start, nl));
      start = nl + 1;
      if (result) yield result;
    }
    pending = pending.slice(start);
    if (pending.length > costUploadLimits.maxLineBytes) fail('KR_PAYLOAD_TOO_LARGE', `line ${line + 1} is longer than ${costUploadLimits.maxLineBytes} bytes`);
  }
  const last = take(pending + decoder.decode());
  if (last) yield last;
}
