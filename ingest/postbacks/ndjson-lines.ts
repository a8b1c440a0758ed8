export interface NdjsonLine {
  /** 1-based, counting empty lines, so a network can find the line in what it sent. */
  line: number;
  /** The line's text; undefined when it was longer than the limit (its bytes were not kept). */
  text: string | undefined;
}

/** The lines of one chunk read, and how many lines were read so far. */
export interface NdjsonBatch {
  /** The lines that are not blank (blank lines carry nothing, and are only counted in `read`). */
  lines: NdjsonLine[];
  /** Lines read so far, blank ones included: a stream of blank lines still says how long it was. */
  read: number;
}

/**
 * Splits a byte stream into lines in constant memory: a line longer than maxLineBytes is reported
 * as too long and skipped without being buffered, so one bad line cannot exhaust memory nor shift
 * the line numbers of the others (split2's skipOverflow would drop it silently). Lines come in
 * one batch per chunk read: a turn of the async iteration per line cost more than the split.
 */
export async function* ndjsonLines(source: AsyncIterable<Buffer | string>, maxLineBytes: number): AsyncGenerator<NdjsonBatch> {
  /** The start of a line that continues in the next chunk. */
  let parts: Buffer[] = [];
  let length = 0;
  let overflow = false;
  let line = 0;

  const push = (out: NdjsonLine[], text: string | undefined) => {
    line++;
    if (text === undefined) out.push({ line, text });
    else {
      if (text.charCodeAt(text.length - 1) === 0x0d) text = text.slice(0, -1);
      // Most lines start with '{'; only others can be blank.
      if (text.charCodeAt(0) === 0x7b || text.trim() !== '') out.push({ line, text });
    }
  };

  for await (const input of source) {
    const chunk = typeof input === 'string' ? Buffer.from(input) : input;
    const out: NdjsonLine[] = [];
    const before = line;
    let start = 0;
    for (let nl = chunk.indexOf(0x0a); nl !== -1; nl = chunk.indexOf(0x0a, start)) {
      if (overflow || length + (nl - start) > maxLineBytes) push(out, undefined);
      // A line within the chunk is decoded in place; one begun in an earlier chunk is joined first.
      else if (length === 0) push(out, chunk.toString('utf8', start, nl));
      else push(out, Buffer.concat([...parts, chunk.subarray(start, nl)]).toString('utf8'));
      parts = [];
      length = 0;
      overflow = false;
      start = nl + 1;
    }
    if (start < chunk.length && !overflow) {
      if (length + (chunk.length - start) > maxLineBytes) {
        overflow = true;
        parts = [];
        length = 0;
      } else {
        // A copy: the source may reuse its buffer for the next chunk.
        parts.push(Buffer.from(chunk.subarray(start)));
        length += chunk.length - start;
      }
    }
    if (line > before) yield { lines: out, read: line };
  }
  if (length > 0 || overflow) {
    const out: NdjsonLine[] = [];
    push(out, overflow ? undefined : Buffer.concat(parts).toString('utf8'));
    yield { lines: out, read: line };
  }
}
