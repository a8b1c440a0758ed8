export interface NdjsonLine {
  /** 1-based, counting empty lines, so a network can find the line in what it sent. */
  line: number;
  /** The line's text; undefined when it was longer than the limit (its bytes were not kept). */
  text: string | undefined;
}

/**
 * Splits a byte stream into lines in constant memory: a line longer than maxLineBytes is reported
 * as too long and skipped without being buffered, so one bad line cannot exhaust memory nor shift
 * the line numbers of the others (split2's skipOverflow would drop it silently).
 */
export async function* ndjsonLines(source: AsyncIterable<Buffer | string>, maxLineBytes: number): AsyncGenerator<NdjsonLine> {
  let parts: Buffer[] = [];
  let length = 0;
  let overflow = false;
  let line = 0;

  function take(): NdjsonLine | undefined {
    line++;
    const text = overflow ? undefined : Buffer.concat(parts, length).toString('utf8').replace(/\r$/, '');
    const empty = !overflow && text!.trim() === '';
    parts = [];
    length = 0;
    const result = { line, text };
    overflow = false;
    return empty ? undefined : result;
  }

  for await (const input of source) {
    const chunk = typeof input === 'string' ? Buffer.from(input) : input;
    let start = 0;
    while (start <= chunk.length) {
      const nl = chunk.indexOf(0x0a, start);
      const end = nl === -1 ? chunk.length : nl;
      if (!overflow && end > start) {
        if (length + (end - start) > maxLineBytes) {
          overflow = true;
          parts = [];
          length = 0;
        } else {
          parts.push(chunk.subarray(start, end));
          length += end - start;
        }
      }
      if (nl === -1) break;
      const out = take();
      if (out) yield out;
      start = nl + 1;
    }
  }
  if (length > 0 || overflow) {
    const out = take();
    if (out) yield out;
  }
}
