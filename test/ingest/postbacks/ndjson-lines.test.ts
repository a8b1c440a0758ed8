import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ndjsonLines, type NdjsonLine } from '../../../ingest/postbacks/ndjson-lines.js';

async function collect(chunks: (string | Buffer)[], max: number): Promise<NdjsonLine[]> {
  const out: NdjsonLine[] = [];
  for await (const batch of ndjsonLines(
    (async function* () {
      yield* chunks.map((c) => (typeof c === 'string' ? Buffer.from(c) : c));
    })(),
    max,
  ))
    out.push(...batch.lines);
  return out;
}

/** How many lines the stream said it read, blank ones included. */
async function linesRead(chunks: string[]): Promise<number> {
  let read = 0;
  for await (const batch of ndjsonLines(
    (async function* () {
      yield* chunks.map((c) => Buffer.from(c));
    })(),
    100,
  ))
    read = batch.read;
  return read;
}

describe('ndjson lines', () => {
  it('numbers lines as sent, skips blank ones, strips CR and flags long lines without keeping them', async () => {
    expect(await collect(['{"a":1}\r\n\n  \n', 'x'.repeat(30), '\n{"b"', ':2}'], 20)).toEqual([
      { line: 1, text: '{"a":1}' },
      { line: 4, text: undefined },
      { line: 5, text: '{"b":2}' },
    ]);
  });

  it('counts every line read, blank ones included, also when a chunk holds only blank lines', async () => {
    expect(await linesRead(['\n\n', '\n', '\r\n'])).toBe(4);
    expect(await linesRead(['{"a":1}\n', '\n\n', '  '])).toBe(4);
    expect(await linesRead([])).toBe(0);
  });

  it('gives the same lines wherever the chunks split the bytes, multi-byte characters included', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.string({ unit: 'grapheme', maxLength: 12 }).map((s) => s.replace(/[\r\n]/g, '')), { maxLength: 8 }), fc.array(fc.nat(), { maxLength: 6 }), async (lines, cuts) => {
        const bytes = Buffer.from(lines.join('\n'));
        const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
        const chunks = [0, ...points].map((p, i, all) => bytes.subarray(p, all[i + 1] ?? bytes.length));
        const expected = lines.map((text, i) => ({ line: i + 1, text })).filter((l) => l.text.trim() !== '');
        expect(await collect(chunks, 1_000)).toEqual(expected);
      }),
    );
  });
});
